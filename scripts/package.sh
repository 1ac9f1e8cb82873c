#!/usr/bin/env bash
# Builds the Debian package: dist/minirun_VERSION_ARCH.deb with the five programs, the
# provisioning hook, the boot unit and man pages made from --help. Its dependencies are
# named (dpkg-shlibdeps for the libraries, plus the tools minirun runs), so
# `apt install ./minirun_*.deb` on a fresh Debian 12 host pulls them in.
#
# usage: scripts/package.sh [BUILD_DIR [OUT_DIR]]   (defaults: build-release, dist)
# Prints the path of the .deb on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-release}
out=${2:-dist}

bash scripts/build.sh --tools "$build" >&2
version=$(sed -n 's/^project(minirun VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
[ -n "$version" ] || { echo "package.sh: CMakeLists.txt: no project VERSION" >&2; exit 1; }
arch=$(dpkg --print-architecture)
# Reproducible: every file's mtime and the archive's own dates come from the last commit.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
install -d "$root/DEBIAN" "$root/usr/bin" "$root/lib/systemd/system" "$root/usr/share/man/man1" \
    "$root/usr/share/doc/minirun" "$root/etc/minirun" "$root/var/lib/minirun"
for b in minirun imgbuild minirun-oci minirun-supervisor minirun-init minirun-dns; do
    install -m 0755 "$build/$b" "$root/usr/bin/$b"
    strip --strip-unneeded "$root/usr/bin/$b"
done
# libcurl's only user, loaded with the first registry request (see http_transport.hpp).
install -d "$root/usr/lib/minirun"
install -m 0644 "$build/minirun-curl.so" "$root/usr/lib/minirun/minirun-curl.so"
strip --strip-unneeded "$root/usr/lib/minirun/minirun-curl.so"
install -m 0755 provision/minirun-provision "$root/usr/bin/minirun-provision"
install -m 0644 provision/minirun-boot.service "$root/lib/systemd/system/minirun-boot.service"
install -m 0644 README.md "$root/usr/share/doc/minirun/README.md"
printf 'minirun and imgbuild\nCopyright: the minirun authors\n' >"$root/usr/share/doc/minirun/copyright"

# Man pages from each program's --help and --version.
for b in minirun imgbuild minirun-oci; do
    help2man --no-info --no-discard-stderr --version-string="$version" \
        --name="$(case $b in minirun) echo 'run OCI containers without a daemon';;
                           imgbuild) echo 'build OCI images from Containerfiles';;
                           *) echo 'OCI runtime with runc'"'"'s command line';; esac)" \
        "$root/usr/bin/$b" | gzip -9n >"$root/usr/share/man/man1/$b.1.gz"
done

# Library dependencies as Debian names them, from every program and the libcurl plugin
# (dpkg-shlibdeps reads libcurl4 off the plugin, which links it).
mkdir -p "$work/src/debian"
printf 'Source: minirun\n\nPackage: minirun\nArchitecture: any\n' >"$work/src/debian/control"
shlibs=$(cd "$work/src" && dpkg-shlibdeps -O -e"$root/usr/bin/minirun" -e"$root/usr/bin/imgbuild" \
    -e"$root/usr/bin/minirun-oci" -e"$root/usr/bin/minirun-supervisor" -e"$root/usr/bin/minirun-init" -e"$root/usr/bin/minirun-dns" \
    -e"$root/usr/lib/minirun/minirun-curl.so" 2>/dev/null |
    sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || { echo "package.sh: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

cat >"$root/DEBIAN/control" <<EOF
Package: minirun
Version: $version
Architecture: $arch
Maintainer: minirun developers <minirun@localhost>
Section: admin
Priority: optional
Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)
Depends: $shlibs, iptables, iproute2, ca-certificates
Homepage: https://localhost/minirun
Description: daemonless container tools: run, build and deploy OCI images
 minirun pulls and runs OCI images with Linux namespaces and cgroups, with
 docker-style commands, applies Compose files idempotently and brings
 containers back after a reboot (minirun-boot.service). imgbuild builds
 images from Containerfiles and pushes them to any registry. minirun-oci is
 an OCI runtime with runc's command line, for Podman and containerd.
EOF
cat >"$root/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = configure ] && [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || true
fi
EOF
cat >"$root/DEBIAN/postrm" <<'EOF'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || true
fi
EOF
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/postrm"
find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

mkdir -p "$out"
deb=$out/minirun_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb.tmp" >&2
mv -f "$deb.tmp" "$deb"
echo "$deb"
