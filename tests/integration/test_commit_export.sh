#!/usr/bin/env bash
# `minirun commit`, `export` and `import` (issue 14): the same container changes and
# --change instructions give the image config podman's commit gives (Cmd, Entrypoint, Env
# added, WorkingDir, ExposedPorts, Labels), deletions stay deleted, the history carries
# the message; export's tar holds the image and the changes and round-trips through
# podman import and ours; bad input is one line and leaves no image.
source "$(dirname "$0")/common.sh"
require_root
require_cmd podman
require_cmd jq

busybox_beside_podman
changes=(-c 'CMD ["cat","/hello"]' -c 'ENV ADDED=1' -c 'WORKDIR /srv' -c 'EXPOSE 8080' -c 'LABEL tier=web')
for side in mr podman; do
  # podman keeps a commit message only in Docker's image format.
  if [[ $side == mr ]]; then c=(mr); run=(mr run); fmt=(); else c=("${P[@]}"); run=("${P[@]}" run "${podman_run_flags[@]}"); fmt=(-f docker); fi
  "${run[@]}" --network none --name cm -e FOO=bar "$img" \
    sh -c 'echo hi >/hello && rm -f /bin/yes && mkdir -p /srv && echo x >/srv/x' >/dev/null || fail "$side run"
  "${c[@]}" commit "${fmt[@]}" -m "my change" "${changes[@]}" cm docker.io/demo/committed:1 >/dev/null || fail "$side commit"
done
for field in .Config.Cmd .Config.Entrypoint .Config.WorkingDir .Config.ExposedPorts .Config.Labels; do
  want=$("${P[@]}" image inspect --format "{{json $field}}" docker.io/demo/committed:1)
  run_ok mr image inspect --format "{{json $field}}" docker.io/demo/committed:1
  # minirun prints an empty list where podman prints null (its typed structs): the same.
  assert_eq "$(jq -cS ". // []" <<<"$want")" "$(jq -cS ". // []" <<<"$OUT")" "commit: $field as podman's"
done
run_ok mr image inspect --format '{{json .Config.Env}}' docker.io/demo/committed:1
for e in FOO=bar ADDED=1 PATH=; do assert_contains "$OUT" "\"$e" "commit keeps env $e"; done
run_ok mr run --rm --network none docker.io/demo/committed:1
assert_eq hi "$OUT" "the committed CMD runs and sees the change"
run_ok mr run --rm --network none docker.io/demo/committed:1 sh -c 'pwd; cat x; ls /bin/yes 2>&1 || true'
assert_eq $'/srv\nx\nls: /bin/yes: No such file or directory' "$OUT" "workdir, a new file, a deletion"
run_ok mr history --format '{{.Comment}}' docker.io/demo/committed:1
assert_eq "my change" "$(head -1 <<<"$OUT")" "history: the message"
assert_eq 2 "$(mr image inspect --format '{{len .RootFS.Layers}}' docker.io/demo/committed:1)" "one layer on top"
run_ok mr container commit cm
[[ $OUT == sha256:* ]] || fail "container commit without a name prints the id: $OUT"
pass "commit: podman's config for the same changes; files, deletions and history"

# export → import, both ways with podman.
work=$(mktemp_dir)
run_ok mr export -o "$work/mr.tar" cm
names=$(tar -tf "$work/mr.tar")
for f in hello srv/x bin/sh etc/passwd; do grep -qx "$f" <<<"$names" || fail "export lacks $f"; done
grep -qx bin/yes <<<"$names" && fail "export holds a file the container deleted"
run_ok "${P[@]}" import "$work/mr.tar" docker.io/demo/from-mr:1
run_ok "${P[@]}" run --rm --network none "${podman_run_flags[@]}" docker.io/demo/from-mr:1 cat /hello
assert_eq hi "$OUT" "podman imports minirun's export"
"${P[@]}" export -o "$work/podman.tar" cm || fail "podman export"
run_ok mr import -c 'CMD ["cat","/srv/x"]' -m "from podman" "$work/podman.tar" docker.io/demo/from-podman:1
run_ok mr run --rm --network none docker.io/demo/from-podman:1
assert_eq x "$OUT" "minirun imports podman's export, --change applied"
gzip -c "$work/mr.tar" | mr import - docker.io/demo/gz:1 >/dev/null || fail "import - of a gzip stream"
run_ok mr run --rm --network none docker.io/demo/gz:1 cat /hello
assert_eq hi "$OUT"
run_ok mr history --format '{{.Comment}}' docker.io/demo/from-podman:1
assert_eq "from podman" "$OUT"
pass "export and import round trips with podman, gzip on stdin"

before=$(mr images -a --format '{{.ID}}' | sort)
run_expect_fail mr commit -c 'RUN rm -rf /' cm bad:1
assert_contains "$ERR" '--change "RUN rm -rf /": RUN cannot be changed by commit'
run_expect_fail mr commit nope bad:1
assert_contains "$ERR" "no such container: nope"
head -c 2048 /dev/urandom >"$work/noise"
run_expect_fail mr import "$work/noise" bad:1
assert_contains "$ERR" "noise"
assert_eq 1 "$(wc -l <<<"$ERR")" "import of noise: one line"
run_expect_fail mr import "$work/missing.tar"
assert_contains "$ERR" "missing.tar"
assert_eq "$before" "$(mr images -a --format '{{.ID}}' | sort)" "failed commits and imports made no image"
run_ok mr system check
pass "bad changes, containers and tars: one line, no image"
