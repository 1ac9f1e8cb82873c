#!/usr/bin/env bash
# `minirun cp` (issue 14): the same copies in and out of a running container (its rootfs and
# a named volume) give what podman's give (names, types, modes, owners, sizes, link
# targets); a stopped container is copied to and from; the container's symlinks lead
# inside the container, never to the host; errors are one line.
source "$(dirname "$0")/common.sh"
require_root
require_cmd podman

busybox_beside_podman
work=$(mktemp_dir)
src=$work/src
mkdir -p "$src/dir/sub"
printf 'file\n' >"$src/file"
chmod 0640 "$src/file"
chown 1000:1000 "$src/file"
printf 'deep\n' >"$src/dir/sub/deep"
chmod 0751 "$src/dir/sub"
ln -s ../file "$src/dir/link"
touch -d '2001-02-03 04:05:06' "$src/file" "$src/dir/sub/deep"

# list_host DIR: what a copy left on the host, one line per entry.
list_host() { (cd "$1" && find . -mindepth 1 -printf '%P %y %m %U %G %s %l\n' | LC_ALL=C sort); }
# The same inside the container (busybox find/stat), for the paths the copies wrote.
inside_listing='for p in $(find /tmp/file /data | sort); do stat -c "%n %F %a %u %g %s %Y" "$p"; done'

for side in mr podman; do
  if [[ $side == mr ]]; then c=(mr); run=(mr run); else c=("${P[@]}"); run=("${P[@]}" run "${podman_run_flags[@]}"); fi
  "${run[@]}" -d --network none --name cpt -v cpvol:/data "$img" sleep 600 >/dev/null || fail "$side run"
  "${c[@]}" cp "$src/file" cpt:/tmp/ || fail "$side cp file in"
  "${c[@]}" cp "$src/dir" cpt:/data || fail "$side cp dir into the volume"
  "${c[@]}" cp "$src/dir/." cpt:/data/merged || fail "$side cp dir/. to a new path"
  "${c[@]}" exec cpt sh -c 'mkdir /data/made && echo made >/data/made/m && touch -t 200102030405.06 /data/made/m && chmod 0700 /data/made' || fail "$side exec"
  out=$work/out-$side
  mkdir -p "$out"
  "${c[@]}" cp cpt:/data "$out/" || fail "$side cp the volume out"
  "${c[@]}" cp cpt:/tmp/file "$out/renamed" || fail "$side cp file out"
  "${c[@]}" exec cpt sh -c "$inside_listing" >"$work/inside-$side" || fail "$side listing"
done
# Directory times move as entries are written into them: compared for files only.
untimed_dirs() { sed -E '/ (directory|symbolic link) /s/ [0-9]+$/ T/' "$1"; }
assert_eq "$(untimed_dirs "$work/inside-podman")" "$(untimed_dirs "$work/inside-mr")" "inside the container: podman's modes, owners, times"
assert_eq "$(list_host "$work/out-podman")" "$(list_host "$work/out-mr")" "on the host: podman's tree"
assert_contains "$(<"$work/inside-mr")" "/tmp/file regular file 640 0 0 5 981173106" "copied in: root-owned, mode and time kept"
pass "cp in and out of a running container (rootfs and volume) as podman's"

# Tar streams both ways, as podman's: `cp CONTAINER:PATH -` gives the same entries (names,
# types, modes, owners, sizes, link targets; a directory's contents for "/."), and
# `cp - CONTAINER:DIR` leaves the same tree.
tar_listing() {  # directories named with or without "/", "./" or not: the same entry
  tar -tv --numeric-owner -f "$1" | awk '{n=$6; sub(/^\.\//, "", n); sub(/\/$/, "", n); print $1, $2, ($1 ~ /^d/ ? "-" : $3), n, $7, $8}' | LC_ALL=C sort
}
tar -C "$src" -cf "$work/in.tar" --owner=1000 --group=1000 file dir
for side in mr podman; do
  if [[ $side == mr ]]; then c=(mr); else c=("${P[@]}"); fi
  "${c[@]}" cp cpt:/data - >"$work/stream-$side.tar" || fail "$side cp cpt:/data -"
  "${c[@]}" cp cpt:/data/. - >"$work/contents-$side.tar" || fail "$side cp cpt:/data/. -"
  "${c[@]}" exec cpt mkdir -p /tmp/fromtar || fail "$side exec mkdir"
  "${c[@]}" cp - cpt:/tmp/fromtar <"$work/in.tar" || fail "$side cp - cpt:/tmp/fromtar"
  "${c[@]}" exec cpt sh -c 'cd /tmp/fromtar && find . | sort | while read -r p; do stat -c "%n %F %a %u %g %s" "$p"; done' >"$work/fromtar-$side" || fail "$side listing"
done
[[ $(tar_listing "$work/stream-mr.tar" | wc -l) -gt 5 ]] || fail "cp cpt:/data - wrote too few entries"
assert_eq "$(tar_listing "$work/stream-podman.tar")" "$(tar_listing "$work/stream-mr.tar")" "cp CONTAINER:PATH -: podman's entries"
assert_eq "$(tar_listing "$work/contents-podman.tar")" "$(tar_listing "$work/contents-mr.tar")" "cp CONTAINER:PATH/. -: podman's entries"
assert_eq "$(<"$work/fromtar-podman")" "$(<"$work/fromtar-mr")" "cp - CONTAINER:DIR: podman's tree"
assert_contains "$(<"$work/fromtar-mr")" "./file regular file 640 0 0 5" "a tar stream in: root-owned, as Docker's"
mr cp -L cpt:/tmp/file - >"$work/one.tar" || fail "cp -L cpt:/tmp/file -"
assert_eq "file" "$(tar -tf "$work/one.tar")" "a file's stream holds its name"
# A hostile stream: a symlink out of the directory, then a file through it, and "..".
python3 - "$work/evil.tar" "minirun-cp-evil-$$" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    l = tarfile.TarInfo("up"); l.type = tarfile.SYMTYPE; l.linkname = "/"; t.addfile(l)
    for name in ("up/tmp/" + sys.argv[2], "../../../tmp/" + sys.argv[2]):
        f = tarfile.TarInfo(name); f.size = 4; t.addfile(f, io.BytesIO(b"evil"))
PY
mr cp - cpt:/tmp/fromtar <"$work/evil.tar" 2>"$work/evil.err" || true
[[ ! -e /tmp/minirun-cp-evil-$$ ]] || { rm -f "/tmp/minirun-cp-evil-$$"; fail "a tar stream wrote outside the container"; }
run_expect_fail mr exec cpt ls "/tmp/minirun-cp-evil-$$"
pass "cp with tar streams (out, /. contents, in) as podman's; a hostile stream stays in its directory"

# -a keeps the owners; -L copies what a link points at.
run_ok mr cp -a "$src/file" cpt:/tmp/kept
run_ok mr exec cpt stat -c '%u:%g %a' /tmp/kept
assert_eq "1000:1000 640" "$OUT" "-a keeps the source's owner"
run_ok mr cp "$src/dir/link" cpt:/tmp/link
run_ok mr exec cpt readlink /tmp/link
assert_eq "../file" "$OUT" "a symlink SRC is copied as the link"
pass "-a and symlinks"

# The container's symlinks resolve inside it, both ways.
run_ok mr exec cpt sh -c 'ln -s /etc/passwd /tmp/pw; ln -s / /tmp/root; ln -s ../../../../../../../.. /tmp/up'
run_ok mr cp -L cpt:/tmp/pw "$work/pw"
assert_eq "$(mr exec cpt cat /etc/passwd)" "$(<"$work/pw")" "-L on /etc/passwd: the container's file"
marker=minirun-cp-escape-$$
run_ok mr cp "$src/file" "cpt:/tmp/root/$marker"
run_ok mr cp "$src/file" "cpt:/tmp/up/tmp/$marker"
[[ ! -e /$marker && ! -e /tmp/$marker ]] || { rm -f "/$marker" "/tmp/$marker"; fail "a container symlink led a copy to the host"; }
run_ok mr exec cpt ls "/$marker" "/tmp/$marker"
run_ok mr cp "cpt:/tmp/up/etc/hostname" "$work/hostname"
assert_eq "$(mr exec cpt cat /etc/hostname)" "$(<"$work/hostname")" "../.. past the root stays in the container"
pass "container symlinks and .. stay inside the container"

# A stopped container: its rootfs both ways; the change is there when it starts again.
run_ok mr stop -t 1 cpt
run_ok mr cp cpt:/tmp/file "$work/from-stopped"
assert_eq file "$(<"$work/from-stopped")"
run_ok mr cp "$src/dir" cpt:/tmp/
run_ok mr start cpt
run_ok mr exec cpt cat /tmp/dir/sub/deep
assert_eq deep "$OUT" "copied into the stopped container"
pass "cp to and from a stopped container"

one_line_error() {  # one_line_error WANT ARGS…
  local want=$1
  shift
  run_expect_fail mr cp "$@"
  assert_contains "$ERR" "$want" "cp $*"
  assert_eq 1 "$(wc -l <<<"$ERR")" "cp $*: one line"
}
one_line_error "no such container" "$src/file" nothere:/tmp
one_line_error "one of SRC and DEST must be CONTAINER:PATH" "$src/file" "$work/x"
one_line_error "copying between containers is not supported" cpt:/tmp/file cpt:/tmp/y
one_line_error "cpt:/nothing: no such file or directory" cpt:/nothing "$work/"
one_line_error "cannot copy a directory to a file" "$src/dir" cpt:/tmp/file
one_line_error "destination directory does not exist" "$src/file" cpt:/nodir/
one_line_error "cpt:/nothing: no such file or directory" cpt:/nothing -
one_line_error "the destination of a tar stream must be a directory" - cpt:/tmp/file </dev/null
one_line_error "needs CONTAINER:PATH" - "$work/x" </dev/null
pass "errors name the side and the reason, one line each"
