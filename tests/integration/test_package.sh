#!/usr/bin/env bash
# The Debian package (issue 11): scripts/package.sh builds it; it installs into a fresh
# Debian 12 root (the debootstrap'd debian-python fixture, unpacked, in a chroot of a
# private mount namespace) through the provisioning hook, which runs `apt-get install
# ./minirun_*.deb` and so pulls the dependencies by name from the machine's mirror.
# Then the programs run there, and a second hook run changes nothing.
source "$(dirname "$0")/common.sh"
require_root
require_cmd dpkg-deb dpkg-shlibdeps help2man umoci chroot unshare
DEBIAN="$MINIRUN_SOURCE_DIR/tests/fixtures/debian_images.sh"
work=$(mktemp_dir)

run_ok bash "$MINIRUN_SOURCE_DIR/scripts/package.sh" "$MINIRUN_SOURCE_DIR/build-release" "$work/dist"
deb=$(tail -1 <<<"$OUT")
[[ -f $deb && $deb == *.deb ]] || fail "package.sh printed no .deb: [$OUT]"
depends=$(dpkg-deb -f "$deb" Depends)
for d in libarchive13 libcurl4 libyaml-cpp iptables iproute2 ca-certificates; do
  assert_contains "$depends" "$d" "Depends names $d"
done
contents=$(dpkg-deb -c "$deb")
for f in ./usr/bin/minirun ./usr/bin/imgbuild ./usr/bin/minirun-oci ./usr/bin/minirun-supervisor ./usr/bin/minirun-init ./usr/bin/minirun-dns \
  ./usr/lib/minirun/minirun-curl.so ./usr/bin/minirun-provision ./lib/systemd/system/minirun-boot.service ./usr/share/man/man1/minirun.1.gz; do
  grep -q " $f\$" <<<"$contents" || fail "the package lacks $f"
done
pass "package.sh: a .deb with the programs, the hook, the boot unit and man pages; Depends from dpkg-shlibdeps"

# Reproducible: the same tree packs to the same bytes.
run_ok bash "$MINIRUN_SOURCE_DIR/scripts/package.sh" "$MINIRUN_SOURCE_DIR/build-release" "$work/dist2"
assert_eq "$(sha256sum <"$deb")" "$(sha256sum <"$(tail -1 <<<"$OUT")")" "two builds, same .deb"
pass "the .deb is reproducible"

root=$work/bundle/rootfs
"$DEBIAN" unpack debian-python "$work/bundle" || fail "unpacking the Debian 12 fixture"
grep -q '^VERSION_ID="12"' "$root/etc/os-release" || fail "the fixture is not Debian 12"
cp "$deb" "$root/tmp/"
cp "$MINIRUN_SOURCE_DIR/provision/minirun-provision" "$root/tmp/"
cp /etc/resolv.conf "$root/etc/resolv.conf"
rm -f "$root"/etc/apt/sources.list.d/*
cp /etc/apt/sources.list "$root/etc/apt/" 2>/dev/null || true
cp /etc/apt/sources.list.d/* "$root/etc/apt/sources.list.d/" 2>/dev/null || true
[[ ! -x $root/usr/bin/minirun ]] || fail "the fresh root already has minirun"
# in_root CMD: runs CMD in the chroot, with /proc and /dev, in a mount namespace of its
# own (its mounts end with it).
in_root() {
  unshare -m --propagation private sh -c '
    mount -t proc proc "$0/proc" && mount --rbind /dev "$0/dev" && exec chroot "$0" /usr/bin/env -i \
      PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"' "$root" "$@"
}
run_ok in_root apt-get update -qq
name=$(basename "$deb")
run_ok in_root sh /tmp/minirun-provision --package "/tmp/$name" --install-only
json=$OUT
assert_eq true "$(jq -r .changed <<<"$json")" "first run installs"
assert_contains "$(jq -r .package <<<"$json")" "installed"
run_ok in_root minirun --version
assert_contains "$OUT" "minirun 0.1.0"
run_ok in_root imgbuild --version
run_ok in_root minirun-oci --version
run_ok in_root minirun images
run_ok in_root sh -c 'command -v iptables-restore && command -v ip'
pass "the .deb installs on a fresh Debian 12 root with its dependencies; minirun, imgbuild and minirun-oci run there"

run_ok in_root sh /tmp/minirun-provision --package "/tmp/$name" --install-only
json=$OUT
assert_eq false "$(jq -r .changed <<<"$json")" "second run: nothing to install"
assert_contains "$(jq -r .package <<<"$json")" "unchanged"
pass "the hook's second run on the installed host changes nothing"
grep -q " $work" /proc/mounts && fail "mounts left under $work"
true
