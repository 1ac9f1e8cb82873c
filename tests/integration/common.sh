# shellcheck shell=bash
# Shared setup for the integration tests: the assert library, the binaries, a fresh
# store per test, and helpers for the fault-injecting proxy.
set -euo pipefail
: "${MINIRUN_SOURCE_DIR:?run through ctest (MINIRUN_SOURCE_DIR unset)}"
source "$MINIRUN_SOURCE_DIR/tests/fixtures/lib.sh"
MINIRUN=${MINIRUN_BIN:?}
IMAGES="$MINIRUN_SOURCE_DIR/tests/fixtures/images.sh"
export DOCKER_CONFIG=$(mktemp_dir)   # never touch the real ~/.docker
echo "{}" >"$DOCKER_CONFIG/config.json"
unset REGISTRY_AUTH_FILE
STORE=$(mktemp_dir)

mr() { "$MINIRUN" --storage "$STORE" "$@"; }

# Names, types and sizes of everything in a store, lock files aside.
store_fingerprint() {
  (cd "${1:-$STORE}" && find . \( -name '*.lock' \) -prune -o -printf '%p %y %s\n' | LC_ALL=C sort | sha256sum)
}

# Every blob's name matches its content.
assert_blobs_verified() {
  local f
  for f in "${1:-$STORE}"/store/blobs/sha256/*; do
    [[ -e $f ]] || continue
    [[ $(basename "$f") == .tmp-* ]] && continue
    [[ $(sha256sum <"$f" | cut -d' ' -f1) == "$(basename "$f")" ]] || fail "blob $f does not match its name"
  done
}

# start_proxy RULES_JSON: a fault proxy in front of $REGISTRY; sets PROXY and PROXY_LOG.
start_proxy() {
  local dir pid
  dir=$(mktemp_dir)
  printf '%s' "$1" >"$dir/rules.json"
  PROXY_LOG="$dir/requests.log"
  : >"$PROXY_LOG"
  /usr/bin/python3 "$FIXTURES/fault_proxy.py" "$REGISTRY" "$dir/rules.json" "$PROXY_LOG" "$dir/port" &
  pid=$!
  on_exit "kill $pid 2>/dev/null"
  for _ in $(seq 100); do [[ -s $dir/port ]] && break; sleep 0.05; done
  [[ -s $dir/port ]] || fail "fault proxy did not start"
  PROXY="127.0.0.1:$(cat "$dir/port")"
}

OCI=${MINIRUN_OCI_BIN:-$(dirname "$MINIRUN")/minirun-oci}
OCI_ROOT=$(mktemp_dir)
oci() { "$OCI" --root "$OCI_ROOT" "$@"; }

# make_bundle DIR: the busybox fixture unpacked by umoci, with our default config.
make_bundle() {
  local dir=$1
  mkdir -p "$dir"
  umoci unpack --image "$("$IMAGES" path busybox):latest" "$dir/u" >/dev/null 2>&1 || fail "umoci unpack busybox"
  mv "$dir/u/rootfs" "$dir/rootfs"
  rm -rf "$dir/u"
  (cd "$dir" && "$OCI" spec) || fail "minirun-oci spec"
  config "$dir" '.process.terminal=false | .root.readonly=false'
}

# config DIR JQ: edits DIR/config.json in place.
config() {
  local tmp
  tmp=$(mktemp "$1/.cfg.XXXXXX")
  jq "$2" "$1/config.json" >"$tmp" || fail "jq: $2"
  mv "$tmp" "$1/config.json"
}

# Removes any container this test created, by id (never others).
oci_cleanup_all() {
  local id
  for id in $("$OCI" --root "$OCI_ROOT" list -q 2>/dev/null); do "$OCI" --root "$OCI_ROOT" delete -f "$id" >/dev/null 2>&1; done
}
on_exit oci_cleanup_all

# use_test_netns PREFIX: a network namespace of our own (removed at exit), `N` to enter
# it, and `m` running minirun inside it on this test's store. Containers left are removed.
use_test_netns() {
  ns=$1-$$
  ip netns add "$ns"
  on_exit "ip netns delete $ns"
  ip -n "$ns" link set lo up
  N=(nsenter "--net=/var/run/netns/$ns")
  on_exit 'for c in $(m ps -aq 2>/dev/null); do m rm -f "$c" >/dev/null 2>&1; done'
}
m() { "${N[@]}" "$MINIRUN" --storage "$STORE" "$@"; }

# private_podman [INSECURE_REGISTRY]: podman with storage, runroot, registries.conf and auth
# of its own under a short /tmp path (overlay's limit), removed at exit; sets P (the
# command array) and PM (its directory). Run containers with podman_run_flags.
private_podman() {
  PM=$(mktemp -d /tmp/mrp.XXXXXX)
  mkdir -p "$PM/root" "$PM/rr" "$PM/tmp"
  printf 'unqualified-search-registries = []\nshort-name-mode = "disabled"\n' >"$PM/registries.conf"
  [[ -n ${1:-} ]] && printf '[[registry]]\nlocation = "%s"\ninsecure = true\n' "$1" >>"$PM/registries.conf"
  echo '{"auths": {}}' >"$PM/auth.json"
  P=(env CONTAINERS_REGISTRIES_CONF="$PM/registries.conf" REGISTRY_AUTH_FILE="$PM/auth.json"
    podman --root "$PM/root" --runroot "$PM/rr" --tmpdir "$PM/tmp" --storage-driver overlay
    --cgroup-manager cgroupfs --events-backend file)
  on_exit cleanup_private_podman
}
cleanup_private_podman() {
  [[ -n ${PM:-} && -d $PM ]] || return 0
  "${P[@]}" rm -af -t 0 >/dev/null 2>&1
  "${P[@]}" rmi -af >/dev/null 2>&1
  { grep -o " $PM[^ ]*" /proc/mounts || true; } | sort -r | xargs -r -n1 umount -l 2>/dev/null
  rm -rf --one-file-system "$PM"
}
# busybox_beside_podman: the busybox fixture in this test's store and in a private podman
# (private_podman), pulled from the same OCI layout: `img` is its name (the same in both),
# `pid_img` podman's id. Containers the test makes in our store are removed at exit.
busybox_beside_podman() {
  private_podman
  on_exit 'for c in $(mr ps -aq 2>/dev/null); do mr rm -f "$c" >/dev/null 2>&1; done'
  local layout="oci:$("$IMAGES" path busybox):latest"
  run_ok mr pull -q "$layout"
  img=$OUT
  run_ok "${P[@]}" pull -q "$layout"
  pid_img=$OUT
}
# This machine cannot raise nofile/nproc past its hard limits, and crun refuses the
# hybrid cgroup layout: the flags every podman run in the tests needs.
podman_run_flags=(--ulimit nofile=20000:20000 --ulimit nproc=32768:32768 --runtime runc)
