#!/usr/bin/env bash
# --format templates and --filter (issue 14), with podman as the oracle where the two
# overlap: the same busybox image and the same exited containers in both, the same
# templates through `inspect -f`, `ps --format` and `images --format`, the same filters.
# Then Docker's table layout, the management-command aliases, version and info.
source "$(dirname "$0")/common.sh"
require_root
require_cmd podman jq

busybox_beside_podman
# podman names an OCI layout's image as minirun does: localhost<DIR>:<TAG>
assert_eq "$img" "$("${P[@]}" image inspect --format '{{index .RepoTags 0}}' "$pid_img")" "same image name in both"

# Two exited containers each, with labels; exited ones keep their state still.
for side in mr podman; do
  if [[ $side == mr ]]; then run=(mr run --network none); else run=("${P[@]}" run --network none "${podman_run_flags[@]}"); fi
  "${run[@]}" --name web -l tier=front -l env=prod "$img" sh -c 'exit 3' >/dev/null 2>&1 || true
  "${run[@]}" --name worker -l env=dev "$img" sh -c 'exit 0' >/dev/null 2>&1 || fail "$side run worker"
done

# ---- inspect -f: the same text from the same template -------------------------------
templates=(
  '{{.Name}} {{.State.Status}} {{.State.ExitCode}} {{.State.Running}}'
  '{{index .Config.Labels "tier"}}|{{index .Config.Labels "missing"}}|{{.Config.Labels.env}}'
  '{{json .Config.Cmd}} {{.Config.Cmd}} {{join .Config.Cmd "+"}} {{len .Config.Cmd}}'
  '{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}'
  '{{if eq .State.ExitCode 3}}three{{else if eq .State.ExitCode 0}}zero{{else}}other{{end}} {{printf "%s/%05d/%q" .Name .State.ExitCode .Name}}'
  '{{upper .Name}} {{title "hello world"}} {{split "a,b" ","}} {{lower "ABC"}} {{with .Config.Labels}}{{.env}}{{end}}'
  '{{range $i, $a := .Config.Cmd}}{{if $i}},{{end}}[{{$a}}]{{end}} {{- " trimmed" -}}   !'
  '{{json .Config.Labels}} {{.Config.Labels}}'
)
for t in "${templates[@]}"; do
  for c in web worker; do
    want=$("${P[@]}" inspect --format "$t" "$c" 2>&1) || fail "podman inspect -f '$t' $c: $want"
    run_ok mr inspect -f "$t" "$c"
    assert_eq "$want" "$OUT" "inspect -f '$t' $c"
  done
done
for t in '{{.Os}}/{{.Architecture}} {{.Config.Cmd}} {{json .Config.Env}}' '{{len .RootFS.Layers}} {{index .RepoTags 0}}' \
         '{{range .Config.Env}}{{.}}{{end}}|{{.Config.Entrypoint}}|{{.Author}}'; do
  want=$("${P[@]}" image inspect --format "$t" "$pid_img" 2>&1) || fail "podman image inspect -f '$t': $want"
  run_ok mr image inspect -f "$t" "$img"
  assert_eq "$want" "$OUT" "image inspect -f '$t'"
done
pass "inspect -f: ${#templates[@]} container templates and 3 image templates give podman's text"

# ---- ps --format and --filter: the same containers from the same filters -------------
# (podman's {{.State}} is Docker's {{.Status}} text; minirun follows Docker: {{.State}} is "exited")
ps_same() {  # ps_same ARGS…: names in podman's and minirun's answer (sorted)
  local want
  want=$("${P[@]}" ps -a --format '{{.Names}}' "$@" | sort) || fail "podman ps $*"
  run_ok mr ps -a --format '{{.Names}}' "$@"
  assert_eq "$want" "$(sort <<<"$OUT")" "ps -a $*"
}
ps_same
ps_same --filter label=env=prod
ps_same --filter label=env
ps_same --filter label=env --filter label=tier=front
ps_same --filter exited=3
ps_same --filter exited=0
ps_same --filter status=exited --filter name=work
ps_same --filter name=web --filter name=worker
ps_same --filter "ancestor=$img"
ps_same --filter status=running
pass "ps --filter label, exited, status, name, ancestor: the containers podman picks"
run_ok mr ps --filter status=exited --format '{{.Names}}'  # status= lists stopped ones without -a
assert_eq "web worker" "$(sort <<<"$OUT" | xargs)" "status= implies -a"
run_ok mr ps -a --filter label=tier=front --format '{{.Label "tier"}} {{.Labels}} {{.Command}}'
assert_eq 'front env=prod,tier=front "sh -c exit 3"' "$OUT" "ps {{.Label}}, {{.Labels}}, {{.Command}} as Docker prints them"
run_ok mr ps -a --filter name=web --format '{{json .}}'
assert_eq web "$(jq -r .Names <<<"$(head -1 <<<"$OUT")")" "{{json .}} gives one object per line"

# ---- images ------------------------------------------------------------------------
want=$("${P[@]}" images --format '{{.Repository}} {{.Tag}}' --filter "reference=$img")
run_ok mr images --format '{{.Repository}} {{.Tag}}' --filter "reference=$img"
assert_eq "$want" "$OUT" "images --format --filter reference="
run_ok mr images --filter 'reference=localhost/*' --format '{{.Tag}}'
assert_eq "" "$OUT" "'*' does not cross '/' in reference="
run_ok mr images --filter 'reference=localhost/**/busybox' --format '{{.Tag}}'
assert_eq "" "$OUT" "reference= is a glob per path component"
run_ok mr images "$img" --format '{{.Tag}} {{len .ID}}'
assert_eq "latest 12" "$OUT" "images REPOSITORY[:TAG], a short ID"
run_ok mr images --no-trunc --format '{{.ID}}'
assert_eq "$(mr inspect -f '{{.Id}}' "$img")" "$OUT" "--no-trunc: the full ID"
run_ok mr images --filter dangling=true -q
assert_eq "" "$OUT" "no dangling images"
pass "images --format and --filter"

want=$("${P[@]}" history --format '{{.CreatedBy}}|{{.Comment}}' "$pid_img")
run_ok mr history --format '{{.CreatedBy}}|{{.Comment}}' "$img"
assert_eq "$want" "$OUT" "history --format: podman's steps"
run_ok mr image history -q "$img"
assert_eq "$(mr images --format '{{.ID}}' "$img")" "$OUT" "history -q: the image id on the newest step"
run_ok mr history "$img"
assert_contains "$(head -1 <<<"$OUT")" "IMAGE          CREATED"
pass "history: podman's steps, Docker's table"

# ---- Docker's table layout ---------------------------------------------------------
run_ok mr ps -a --filter name=web --format 'table {{.Names}}\t{{.State}}\t{{.Label "tier"}}'
assert_eq $'NAMES     STATE     LABEL\nweb       exited    front' "$OUT" "table: headers, columns 10 wide at least"
run_ok mr ps -a
head=$(head -1 <<<"$OUT")
assert_contains "$head" "CONTAINER ID   IMAGE"
for col in COMMAND CREATED STATUS PORTS NAMES; do assert_contains "$head" "$col"; done
# The relative times ("20 seconds ago") may tick between two calls: compare
# the listings with them masked and runs of spaces squeezed.
untimed() { sed -E 's/(About (a|an) [a-z]+|[0-9]+ [a-z]+) ago/T ago/g; s/ +/ /g'; }
run_ok mr container ls -a
assert_eq "$(mr ps -a | untimed)" "$(untimed <<<"$OUT")" "container ls = ps"
run_ok mr image ls
assert_eq "$(mr images | untimed)" "$(untimed <<<"$OUT")" "image ls = images"
run_ok mr container inspect -f '{{.State.ExitCode}}' web
assert_eq 3 "$OUT" "container inspect"
pass "table layout and Docker's container/image ls aliases"

# ---- errors: one line naming what is wrong -------------------------------------------
run_expect_fail mr ps --format '{{.Names'
assert_eq "Error: template: :1: unclosed action" "$ERR" "unclosed template"
run_expect_fail mr ps --format '{{nosuch .Names}}'
assert_contains "$ERR" 'function "nosuch" not defined'
run_expect_fail mr ps -a --format '{{.Names.First}}'
assert_contains "$ERR" "can't evaluate field First in type string"
run_expect_fail mr ps --filter status=sleeping
assert_contains "$ERR" 'invalid filter "status=sleeping"'
run_expect_fail mr images --filter size=1
assert_contains "$ERR" 'invalid filter "size"'
run_expect_fail mr inspect -f '{{.Name}}' web nosuch
assert_contains "$ERR" "no such object: nosuch"
pass "bad templates and filters: one-line errors, non-zero exit"

# ---- version, info, network ----------------------------------------------------------
run_ok mr version --format '{{.Client.Version}} {{.Server.Os}}'
assert_eq "$("$MINIRUN" --version | awk '{print $2}') linux" "$OUT" "version --format"
run_ok mr info --format '{{.Containers}} {{.ContainersStopped}} {{.Images}} {{.DockerRootDir}}'
assert_eq "2 2 1 $STORE" "$OUT" "info --format counts this store"
run_ok mr info
assert_contains "$OUT" "Cgroup Version:"
run_ok mr network ls --format '{{.Name}} {{.Driver}}' --filter name=bridge
assert_eq "bridge bridge" "$OUT" "network ls --format --filter"
run_ok mr network inspect -f '{{.Name}} {{.Scope}}' none
assert_eq "none local" "$OUT" "network inspect -f"
pass "version, info, network ls and inspect take --format"
