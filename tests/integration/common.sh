# shellcheck shell=bash
# Shared setup for the integration tests: the assert library, the binaries, a fresh
# store per test, and helpers for the fault-injecting proxy.
set -euo pipefail
: "${MINIRUN_SOURCE_DIR:?run through ctest (MINIRUN_SOURCE_DIR unset)}"
source "$MINIRUN_SOURCE_DIR/tests/fixtures/lib.sh"
MINIRUN=${MINIRUN_BIN:?}
IMAGES="$MINIRUN_SOURCE_DIR/tests/fixtures/images.sh"
export DOCKER_CONFIG=$(mktemp_dir)   # never touch the real ~/.docker
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
