#!/usr/bin/env bash
# Push images from the store to a real docker-registry (registry::push_image, driven by
# the "push integration" doctest case in tests/unit/test_push_integration.cpp; there is
# no push CLI yet): each auth mode, skipped blobs on a second push, chunked upload
# resumed after injected faults, cross-repository mounts, a token expiring mid-push,
# and the errors (anonymous push, blob missing from the store, manifest refused).
source "$(dirname "$0")/common.sh"
require_root
require_cmd docker-registry skopeo jq
UNIT=$(dirname "$MINIRUN")/tests/unit_tests
[[ -x $UNIT ]] || skip "unit_tests binary not built ($UNIT)"

# push SOURCE DEST [VAR=VALUE...]: one push_image call; sets PUSHED to the driver's
# one-line result ("ok DIGEST uploaded=N mounted=N skipped=N" or "error MESSAGE").
push() {
  local out log
  out=$(mktemp "$TEST_TMPDIR/push.XXXXXX")
  log=$(mktemp "$TEST_TMPDIR/push-log.XXXXXX")
  env MINIRUN_PUSH_TEST=1 PUSH_STORE="$STORE" PUSH_SOURCE="$1" PUSH_DEST="$2" PUSH_OUT="$out" "${@:3}" \
    "$UNIT" -tc='*push integration*' >"$log" 2>&1 || fail "push driver failed: $(cat "$log")"
  PUSHED=$(<"$out")
  [[ -n $PUSHED ]] || fail "push driver wrote no result: $(cat "$log")"
  PUSH_LOG=$(<"$log")
}
push_ok() {
  push "$@"
  [[ $PUSHED == ok* ]] || fail "push $1 -> $2 failed: $PUSHED"
}
push_fails() {
  push "$@"
  [[ $PUSHED == error* ]] || fail "push $1 -> $2 unexpectedly succeeded: $PUSHED"
}
# store_digest NAME: the manifest digest the store records for NAME.
store_digest() {
  jq -r --arg n "$1" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $n) | .digest' \
    "$STORE/store/index.json"
}
# verify REF DIGEST [CREDS]: skopeo sees DIGEST for REF and can copy the image back.
verify() {
  local creds=() dir
  [[ -n ${3:-} ]] && creds=(--creds "$3")
  run_ok skopeo inspect --tls-verify=false "${creds[@]}" "docker://$1"
  assert_eq "$2" "$(jq -r .Digest <<<"$OUT")" "skopeo inspect digest of $1"
  dir=$(mktemp_dir)
  run_ok skopeo copy --src-tls-verify=false "${creds[@]/#--creds/--src-creds}" "docker://$1" "oci:$dir/copy:latest"
  run_ok skopeo inspect "oci:$dir/copy:latest"
  assert_eq "$2" "$(jq -r .Digest <<<"$OUT")" "digest of the copy of $1"
}

# The source: fixtures seeded into a plain registry and pulled into our store.
start_registry none
"$IMAGES" seed "$REGISTRY" >/dev/null 2>&1 || fail "seeding fixtures"
SRC=$REGISTRY
run_ok mr pull -q "$SRC/busybox:latest"
run_ok mr pull -q "$SRC/big:latest"
BUSYBOX="$SRC/busybox:latest" BIG="$SRC/big:latest"
BUSYBOX_DIGEST=$(store_digest "$BUSYBOX")
BIG_DIGEST=$(store_digest "$BIG")
[[ $BUSYBOX_DIGEST == sha256:* && $BIG_DIGEST == sha256:* ]] || fail "fixtures not in the store"

for mode in none basic token; do
  start_registry "$mode"
  auth=() creds=""
  if [[ $mode != none ]]; then
    auth=(PUSH_USER="$REGISTRY_USER" PUSH_PASSWORD="$REGISTRY_PASSWORD")
    creds="$REGISTRY_USER:$REGISTRY_PASSWORD"
  fi
  if [[ $mode != none ]]; then
    push_fails "$BUSYBOX" "$REGISTRY/denied/busybox:v1"
    assert_contains "$PUSHED" "registry $REGISTRY denied access to repository denied/busybox" "$mode: anonymous push"
    assert_contains "$PUSHED" "credentials sent: no"
    [[ $PUSHED != *$'\n'* ]] || fail "error is not one line: $PUSHED"
  fi
  push_ok "$BUSYBOX" "$REGISTRY/pushed/busybox:v1" "${auth[@]}"
  assert_eq "ok $BUSYBOX_DIGEST uploaded=2 mounted=0 skipped=0" "$PUSHED" "$mode: first push"
  assert_contains "$PUSH_LOG" "uploaded" "$mode: progress lines"
  verify "$REGISTRY/pushed/busybox:v1" "$BUSYBOX_DIGEST" "$creds"
  push_ok "$BUSYBOX" "$REGISTRY/pushed/busybox:v1" "${auth[@]}"
  assert_eq "ok $BUSYBOX_DIGEST uploaded=0 mounted=0 skipped=2" "$PUSHED" "$mode: second push uploads nothing"
  assert_contains "$PUSH_LOG" "already exists" "$mode: skipped blobs are reported"
  # Cross-repository mount from the repository just pushed.
  push_ok "$BUSYBOX" "$REGISTRY/other/busybox:v2" "${auth[@]}" PUSH_MOUNT_FROM=nothing/here,pushed/busybox
  assert_eq "ok $BUSYBOX_DIGEST uploaded=0 mounted=2 skipped=0" "$PUSHED" "$mode: mounted from pushed/busybox"
  verify "$REGISTRY/other/busybox:v2" "$BUSYBOX_DIGEST" "$creds"
  # A mount source lacking the blobs falls back to the upload the registry started.
  push_ok "$BUSYBOX" "$REGISTRY/third/busybox:v1" "${auth[@]}" PUSH_MOUNT_FROM=empty/repo
  assert_eq "ok $BUSYBOX_DIGEST uploaded=2 mounted=0 skipped=0" "$PUSHED" "$mode: failed mount falls back to upload"
  if [[ $mode == token ]]; then
    grep -q 'repository:pushed/busybox:pull' "$TOKEN_LOG" || fail "no pull scope requested for the mount source"
  fi
  pass "push in auth mode $mode (skopeo reads it back; second push skipped; mount)"
  "$FIXTURES/registry.sh" stop "$REGISTRY_DIR"
done

# Chunked upload of the big image through the fault proxy: one PATCH refused with 503
# (the chunk never reaches the registry: resumed from the offset the registry reports),
# one PATCH "cut" after the registry took it, a 502 on a POST and a 503 on the manifest.
# (fault_proxy cuts the response body; upload responses have none, so a cut PATCH is
# seen complete by the client and cannot simulate a drop before the registry's answer.)
start_registry none
start_proxy '[{"method": "PATCH", "path_contains": "/blobs/uploads/", "action": "status", "code": 503, "times": 1},
  {"method": "PATCH", "path_contains": "/blobs/uploads/", "action": "cut", "after_bytes": 0, "times": 1},
  {"method": "POST", "path_contains": "/blobs/uploads/", "action": "status", "code": 502, "times": 1},
  {"method": "PUT", "path_contains": "/manifests/", "action": "status", "code": 503, "times": 1}]'
push_ok "$BIG" "$PROXY/big:chunked" PUSH_CHUNK=1048576
assert_eq "ok $BIG_DIGEST uploaded=5 mounted=0 skipped=0" "$PUSHED" "chunked push of big"
patches=$(grep -c '"method": "PATCH"' "$PROXY_LOG")
((patches > 100)) || fail "expected chunked PATCH uploads, saw $patches"
grep -q '"method": "PATCH".*"status": 503' "$PROXY_LOG" || fail "no injected 503 on a PATCH"
grep -q '"method": "GET", "path": "[^"]*/blobs/uploads/' "$PROXY_LOG" || fail "no upload status query after the failed PATCH"
grep -q '"rule": "cut"' "$PROXY_LOG" || fail "cut rule did not fire"
verify "$REGISTRY/big:chunked" "$BIG_DIGEST"
push_ok "$BIG" "$REGISTRY/big:chunked" PUSH_CHUNK=1048576
assert_eq "ok $BIG_DIGEST uploaded=0 mounted=0 skipped=5" "$PUSHED" "second push of big"
pass "chunked upload resumed after injected faults"

# Manifest refused: the registry's error text is in the message.
start_proxy '[{"method": "PUT", "path_contains": "/manifests/", "action": "status", "code": 400}]'
push_fails "$BUSYBOX" "$PROXY/refused:v1"
assert_contains "$PUSHED" "refused the manifest (HTTP 400): UNAVAILABLE: injected fault"
pass "manifest refusal reported with the registry's message"

# A blob missing from the store is named before anything is sent.
broken=$(mktemp_dir)
cp -a "$STORE/." "$broken/"
layer=$(jq -r '.layers[0].digest' "$broken/store/blobs/sha256/${BUSYBOX_DIGEST#sha256:}")
rm "$broken/store/blobs/sha256/${layer#sha256:}"
STORE=$broken push_fails "$BUSYBOX" "$REGISTRY/broken:v1"
assert_contains "$PUSHED" "layer blob $layer is missing from the store"
pass "missing blob named"
"$FIXTURES/registry.sh" stop "$REGISTRY_DIR"

# A token expiring mid-push: 2 s tokens, ~100 s worth of 1 MiB chunks at a local registry's
# speed is far more than that; the client fetches new tokens and the push completes.
TOKEN_TTL=2 start_registry token
push_ok "$BIG" "$REGISTRY/big:ttl" PUSH_USER="$REGISTRY_USER" PUSH_PASSWORD="$REGISTRY_PASSWORD" PUSH_CHUNK=1048576
assert_eq "ok $BIG_DIGEST uploaded=5 mounted=0 skipped=0" "$PUSHED" "push with expiring tokens"
tokens=$(wc -l <"$TOKEN_LOG")
((tokens >= 2)) || fail "token never expired during the push ($tokens token requests): test is vacuous"
verify "$REGISTRY/big:ttl" "$BIG_DIGEST" "$REGISTRY_USER:$REGISTRY_PASSWORD"
pass "token expiring mid-push renewed ($tokens token requests)"
