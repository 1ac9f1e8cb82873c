#!/usr/bin/env bash
# Installs every Debian package the build, the tests and the benchmarks need. Idempotent.
set -euo pipefail
PACKAGES=(
  # build
  build-essential cmake ccache pkg-config git
  libarchive-dev libcurl4-openssl-dev nlohmann-json3-dev libssl-dev libcli11-dev doctest-dev
  zlib1g-dev libzstd-dev libcap-dev libseccomp-dev libyaml-cpp-dev libbz2-dev liblz4-dev liblzma-dev
  # tests: real registry, peers as oracles, offline base images
  docker-registry skopeo umoci oci-image-tool busybox-static apache2-utils
  python3 python3-cryptography openssl curl jq procps iproute2 iptables bc time debootstrap
  # peers driving or compared with the runtime
  podman crun runc containerd buildah podman-compose
  # a real upstream DNS server for the embedded resolver's forwarding test
  dnsmasq-base
  # packaging (dpkg-shlibdeps computes the .deb's dependencies; help2man its man pages)
  dpkg-dev help2man
  # simulated hosts reached as VMs are: an sshd per host, Ansible driving them
  openssh-server openssh-client ansible-core
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # No service of these packages (ssh, docker-registry) may start on this machine: the
  # tests start their own, in namespaces. A policy-rc.d already there is left as it is.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The Debian package starts a registry service on :5000; the tests start their own.
if systemctl is-active --quiet docker-registry 2>/dev/null; then
  systemctl disable --now docker-registry >/dev/null 2>&1 || true
fi
echo "deps: all ${#PACKAGES[@]} packages present"
