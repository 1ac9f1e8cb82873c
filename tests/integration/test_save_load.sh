#!/usr/bin/env bash
# `minirun save` / `load` (issue 14): docker-archive and oci-archive round trips with podman
# both ways (same image id, the name kept, the image runs), several images and an
# untagged one in one archive, compressed input, reproducible bytes, and hostile archives
# (members or links leaving the archive, a layer that is not what its config says, not a
# tar at all) refused with one line, leaving the store as it was.
source "$(dirname "$0")/common.sh"
require_root
require_cmd podman
require_cmd python3

busybox_beside_podman
name=docker.io/demo/bb:1
run_ok mr tag "$img" "$name"
run_ok "${P[@]}" tag "$pid_img" "$name"
id=$(mr images --no-trunc --format '{{.ID}}' "$name")
assert_eq "$id" "sha256:$("${P[@]}" image inspect --format '{{.Id}}' "$name")" "same image id on both sides"
work=$(mktemp_dir)

for fmt in docker-archive oci-archive; do
  # minirun → podman
  run_ok mr save --format "$fmt" -o "$work/mr-$fmt.tar" "$name"
  run_ok "${P[@]}" rmi -f "$name"
  run_ok "${P[@]}" load -i "$work/mr-$fmt.tar"
  assert_contains "$OUT" "Loaded image: $name" "podman loads minirun's $fmt"
  assert_eq "${id#sha256:}" "$("${P[@]}" image inspect --format '{{.Id}}' "$name")" "podman: id of minirun's $fmt"
  run_ok "${P[@]}" run --rm --network none "${podman_run_flags[@]}" "$name" echo from-podman
  assert_eq from-podman "$OUT" "podman runs minirun's $fmt"
  # podman → minirun
  run_ok "${P[@]}" save --format "$fmt" -o "$work/podman-$fmt.tar" "$name"
  run_ok mr rmi "$name"
  run_ok mr load -i "$work/podman-$fmt.tar"
  assert_eq "Loaded image: demo/bb:1" "$OUT" "minirun loads podman's $fmt"
  assert_eq "$id" "$(mr images --no-trunc --format '{{.ID}}' "$name")" "minirun: id of podman's $fmt"
  run_ok mr run --rm --network none "$name" echo from-minirun
  assert_eq from-minirun "$OUT" "minirun runs podman's $fmt"
done
pass "docker-archive and oci-archive both ways with podman: same id, name kept, runs"

# The same images give the same bytes; several names and an untagged image in one file.
run_ok mr save -o "$work/a.tar" "$name"
run_ok mr save -o "$work/b.tar" "$name"
cmp -s "$work/a.tar" "$work/b.tar" || fail "two saves of one image differ"
run_ok mr tag "$name" other/bb:2
run_ok mr save -o "$work/multi.tar" "$name" other/bb:2
assert_eq 1 "$(tar -xOf "$work/multi.tar" manifest.json | jq length)" "one entry for one image id"
assert_eq "docker.io/demo/bb:1 docker.io/other/bb:2" "$(tar -xOf "$work/multi.tar" manifest.json | jq -r '.[0].RepoTags | join(" ")')"
mr save "${id:7:12}" >"$work/by-id.tar" || fail "save by id to standard output"
assert_eq null "$(tar -xOf "$work/by-id.tar" manifest.json | jq -c '.[0].RepoTags')" "saved by id: no name"
run_ok mr rmi "$name" other/bb:2
run_ok mr load -i "$work/multi.tar"
assert_eq $'Loaded image: demo/bb:1\nLoaded image: other/bb:2' "$OUT"
run_ok mr load -q <"$work/by-id.tar"
assert_eq "$id" "$OUT" "load -q of an untagged image prints its id"
gzip -c "$work/a.tar" >"$work/a.tar.gz"
run_ok mr load -i "$work/a.tar.gz"
assert_eq "Loaded image: demo/bb:1" "$OUT" "gzip-compressed archive"
run_ok mr image save -o "$work/c.tar" "$name"
cmp -s "$work/a.tar" "$work/c.tar" || fail "image save differs from save"
pass "reproducible bytes, several names, untagged by id, gzip input, image save/load"

# ---- hostile and broken archives ----------------------------------------------------------
before=$(mr images --format '{{.Repository}}:{{.Tag}}' | sort)
mkdir -p "$work/x" && tar -xf "$work/a.tar" -C "$work/x"
cfg=$(jq -r '.[0].Config' "$work/x/manifest.json")
layer=$(jq -r '.[0].Layers[0]' "$work/x/manifest.json")
# make_tar OUT SPEC…: SPEC is file:NAME:SRC, link:NAME:TARGET, hard:NAME:TARGET or bytes:NAME:TEXT
make_tar() {
  python3 - "$@" <<'EOF'
import io, sys, tarfile
out, specs = sys.argv[1], sys.argv[2:]
with tarfile.open(out, "w", format=tarfile.USTAR_FORMAT) as t:
    for spec in specs:
        kind, name, arg = spec.split(":", 2)
        info = tarfile.TarInfo(name)
        if kind == "file":
            data = open(arg, "rb").read()
        elif kind == "bytes":
            data = arg.encode()
        else:
            info.type = tarfile.SYMTYPE if kind == "link" else tarfile.LNKTYPE
            info.linkname = arg
            t.addfile(info)
            continue
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
EOF
}
table=$(jq -c --arg l "$layer" '.[0].Layers = ["l.tar"]' "$work/x/manifest.json")
refused() {  # refused ARCHIVE WANT-IN-ERROR WHAT
  run_expect_fail mr load -i "$1"
  assert_contains "$ERR" "$2" "$3"
  assert_eq 1 "$(wc -l <<<"$ERR")" "$3: one line"
}
make_tar "$work/up.tar" "bytes:../../escaped:x" "file:manifest.json:$work/x/manifest.json"
refused "$work/up.tar" "member ../../escaped escapes the archive" "a member named ../"
make_tar "$work/abs.tar" "bytes:/tmp/escaped-$$:x"
refused "$work/abs.tar" "escapes the archive" "an absolute member"
[[ ! -e /tmp/escaped-$$ ]] || fail "an absolute member was written on the host"
make_tar "$work/link.tar" "file:$cfg:$work/x/$cfg" "link:l.tar:../../../etc/passwd" "bytes:manifest.json:$table"
refused "$work/link.tar" "link l.tar escapes the archive" "a layer linked out of the archive"
make_tar "$work/abslink.tar" "file:$cfg:$work/x/$cfg" "link:l.tar:/etc/passwd" "bytes:manifest.json:$table"
refused "$work/abslink.tar" "link l.tar escapes the archive" "an absolute link"
make_tar "$work/missing.tar" "file:$cfg:$work/x/$cfg" "bytes:manifest.json:$table"
refused "$work/missing.tar" "no file l.tar in the archive" "a layer the archive lacks"
make_tar "$work/wrong" "bytes:etc/other:not this image's layer"
make_tar "$work/wrong.tar" "file:$cfg:$work/x/$cfg" "file:l.tar:$work/wrong" "bytes:manifest.json:$table"
refused "$work/wrong.tar" "does not match the config's diff_id" "a layer that is not the config's"
printf 'not a layer' >"$work/notar"
make_tar "$work/notar.tar" "file:$cfg:$work/x/$cfg" "file:l.tar:$work/notar" "bytes:manifest.json:$table"
refused "$work/notar.tar" "not a tar archive" "a layer that is no tar"
make_tar "$work/badjson.tar" "bytes:manifest.json:{\"Config\":1}"
refused "$work/badjson.tar" "manifest.json is not a list of images" "manifest.json not a list"
head -c 4096 /dev/urandom >"$work/noise"
refused "$work/noise" "not a tar archive" "random bytes"
run_expect_fail mr load </dev/null
assert_contains "$ERR" "standard input: empty input" "empty input"
run_expect_fail mr save -o "$work/none.tar" nope:1
assert_contains "$ERR" "image not found: nope:1"
assert_no_file "$work/none.tar"
run_expect_fail mr save --format tarball -o "$work/none.tar" "$name"
assert_contains "$ERR" 'invalid --format "tarball"'
assert_eq "$before" "$(mr images --format '{{.Repository}}:{{.Tag}}' | sort)" "failed loads named nothing"
run_ok mr system check
assert_eq "" "$(find "$STORE/tmp" -mindepth 1 -maxdepth 1 2>/dev/null)" "no staging left in the store"
pass "hostile archives refused in one line; the store unchanged and consistent"
