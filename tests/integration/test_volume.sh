#!/usr/bin/env bash
# `minirun volume` (issue 14): create/ls/inspect/rm/prune, with podman as the oracle for
# what ls, inspect -f and the filters show; data kept across containers; a volume in use
# refused; prune taking anonymous volumes unless -a; names that would leave the store refused.
source "$(dirname "$0")/common.sh"
require_root
require_cmd podman

busybox_beside_podman

for side in mr podman; do
  if [[ $side == mr ]]; then v=(mr volume); run=(mr run --network none);
  else v=("${P[@]}" volume); run=("${P[@]}" run --network none "${podman_run_flags[@]}"); fi
  "${v[@]}" create --label env=prod --label tier=db data1 >/dev/null || fail "$side volume create data1"
  "${v[@]}" create data2 >/dev/null || fail "$side volume create data2"
  "${run[@]}" --name user -v data2:/data "$img" sh -c 'echo kept >/data/file' >/dev/null 2>&1 || fail "$side run -v data2"
done

same() {  # same ARGS…: podman's and minirun's `volume ARGS` agree (lines sorted)
  local want
  want=$("${P[@]}" volume "$@" 2>&1 | sort) || fail "podman volume $*: $want"
  run_ok mr volume "$@"
  assert_eq "$want" "$(sort <<<"$OUT")" "volume $*"
}
same ls --format '{{.Name}} {{.Driver}}'
same ls --format '{{.Name}}' --filter label=env=prod
same ls --format '{{.Name}}' --filter label=tier
same ls --format '{{.Name}}' --filter name=data
same ls --format '{{.Name}}' --filter dangling=true
same ls --format '{{.Name}}' --filter dangling=false
same inspect -f '{{.Name}} {{.Driver}} {{.Labels}} {{.Scope}} {{json .Labels}} {{index .Labels "env"}}' data1 data2
same inspect -f '{{range $k, $v := .Labels}}{{$k}}={{$v}},{{end}}' data1
pass "volume ls --format/--filter and inspect -f give podman's text"

# system df: one image used by the exited container, two volumes (data2 in use, 5 bytes)
run_ok mr system df --format '{{.Type}}:{{.TotalCount}}:{{.Active}}'
assert_eq $'Images:1:1\nContainers:1:0\nLocal Volumes:2:1\nBuild Cache:0:0' "$OUT" "system df counts"
run_ok mr system df --format '{{.Type}}={{.Size}} {{.Reclaimable}}'
assert_contains "$OUT" "Local Volumes=5B 0B (0%)"
assert_contains "$OUT" "Containers=" 
run_ok mr system df
assert_eq "TYPE            TOTAL     ACTIVE    SIZE" "$(head -1 <<<"$OUT" | cut -c1-40)" "system df: Docker's table"
assert_contains "$(head -1 <<<"$OUT")" "RECLAIMABLE"
pass "system df: images, containers, volumes and build cache, active and reclaimable"

# system df -v: podman's sections and columns; each volume with its links and size as
# podman counts them; the image with its container count; the build cache line.
run_ok mr system df -v
mine=$OUT
theirs=$("${P[@]}" system df -v 2>&1) || fail "podman system df -v: $theirs"
headers() { grep -E '^(REPOSITORY|CONTAINER ID|VOLUME NAME)|space usage:$' <<<"$1" | tr -s ' '; }
volume_rows() { sed -n '/^VOLUME NAME/,/^$/p' <<<"$1" | sed 1d | tr -s ' ' | sed '/^$/d' | sort; }
assert_eq "$(headers "$theirs")" "$(headers "$mine")" "system df -v: podman's sections and columns"
assert_eq "$(volume_rows "$theirs")" "$(volume_rows "$mine")" "system df -v: podman's volume links and sizes"
assert_contains "$mine" "Build cache usage: " "the build cache section"
run_ok mr system df -v --format '{{range .Images}}{{.Containers}} {{.UniqueSize}};{{end}}{{range .Containers}}{{.Names}} {{.LocalVolumes}};{{end}}'
assert_eq "1 $(mr images --format '{{.Size}}');user 1;" "$OUT" "system df -v --format over the lists"
pass "system df -v as podman's; --format sees Images, Containers, Volumes, BuildCache"

run_ok mr volume inspect data1
assert_eq "$STORE/volumes/data1/_data" "$(jq -r '.[0].Mountpoint' <<<"$OUT")" "Mountpoint under the store"
run_ok mr volume ls
assert_eq "DRIVER    VOLUME NAME" "$(head -1 <<<"$OUT")" "Docker's default table"
run_ok mr run --rm --network none -v data2:/data "$img" cat /data/file
assert_eq kept "$OUT" "a volume keeps data across containers"
pass "a named volume's data outlives its container"

run_expect_fail mr volume rm data2
assert_contains "$ERR" "remove data2: volume is in use - ["
run_ok mr rm user
run_ok mr volume rm data2
run_expect_fail mr volume inspect data2
assert_contains "$ERR" "no such volume: data2"
run_expect_fail mr volume rm ../containers
assert_contains "$ERR" "no such volume: ../containers"
run_expect_fail mr volume create ../escape
assert_contains "$ERR" 'invalid volume name "../escape"'
[[ ! -e $STORE/escape ]] || fail "volume create wrote outside the volumes directory"
pass "rm refuses a volume in use, then removes it; names outside the store refused"

run_ok mr run --name anon --network none -v /scratch "$img" true
anon=$(jq -r '.[0].Volumes[0]' <<<"$(mr inspect anon)")
[[ -n $anon && $anon != null ]] || fail "no anonymous volume recorded"
run_ok mr rm anon   # without -v: the anonymous volume stays, unused
run_ok mr volume ls -q
assert_contains "$OUT" "$anon"
run_ok mr volume prune -f
assert_contains "$OUT" "$anon"
assert_eq "data1" "$(mr volume ls -q | xargs)" "prune keeps named volumes"
run_ok mr volume prune -a -f
assert_contains "$OUT" "data1"
assert_eq "" "$(mr volume ls -q)" "prune -a takes unused named volumes too"
pass "volume prune: anonymous volumes by default, named ones with -a"
