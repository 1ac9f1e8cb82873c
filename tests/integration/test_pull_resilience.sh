#!/usr/bin/env bash
# Pulls survive dropped connections (resumed with Range), 5xx, 429 with Retry-After,
# servers that ignore Range, concurrent pulls and being killed midway.
source "$(dirname "$0")/common.sh"
require_root
require_cmd docker-registry skopeo

start_registry none
"$IMAGES" seed "$REGISTRY" >/dev/null 2>&1 || fail "seeding fixtures"
upstream=$REGISTRY

start_proxy '[{"path_contains": "/blobs/sha256", "method": "GET", "action": "cut", "after_bytes": 300000, "times": 2}]'
run_ok mr pull -q "$PROXY/big:latest"
grep -q '"range": "bytes=300000-"' "$PROXY_LOG" || fail "no resumed Range request after a cut: $(head -c 2000 "$PROXY_LOG")"
assert_blobs_verified
pass "dropped connections resumed with Range"

STORE=$(mktemp_dir)
start_proxy '[{"path_contains": "/blobs/sha256", "method": "GET", "action": "cut", "after_bytes": 200000, "times": 1}, {"action": "ignore_range", "times": 1}]'
run_ok mr pull -q "$PROXY/busybox:latest"
pass "server ignoring Range: download restarted"

STORE=$(mktemp_dir)
start_proxy '[{"path_contains": "/manifests/", "action": "status", "code": 503, "times": 2}, {"path_contains": "/blobs/", "action": "status", "code": 502, "times": 1}]'
run_ok mr pull -q "$PROXY/busybox:latest"
[[ $(grep -c '"status": 50' "$PROXY_LOG") == 3 ]] || fail "expected 3 injected 5xx"
pass "5xx retried"

STORE=$(mktemp_dir)
start_proxy '[{"path_contains": "/manifests/", "action": "status", "code": 429, "retry_after": 2, "times": 1}]'
start=$(date +%s.%N)
run_ok mr pull -q "$PROXY/busybox:latest"
elapsed=$(echo "$(date +%s.%N) - $start" | bc)
(( $(echo "$elapsed >= 2" | bc) )) || fail "Retry-After not honoured (took ${elapsed}s)"
pass "429 honours Retry-After (${elapsed}s)"

# Two concurrent pulls of the same image into one store both succeed.
STORE=$(mktemp_dir)
mr pull -q "$upstream/big:latest" >"$TEST_TMPDIR/p1" 2>&1 &
p1=$!
mr pull -q "$upstream/big:latest" >"$TEST_TMPDIR/p2" 2>&1 &
p2=$!
wait $p1 || fail "first concurrent pull failed: $(cat "$TEST_TMPDIR/p1")"
wait $p2 || fail "second concurrent pull failed: $(cat "$TEST_TMPDIR/p2")"
assert_blobs_verified
run_ok mr images --format json
[[ $(jq length <<<"$OUT") == 1 ]] || fail "expected one image after concurrent pulls"
pass "two concurrent pulls of the same image"

# A pull killed midway leaves no blob under a wrong name; the next run cleans up.
# Through a proxy that keeps cutting blob downloads at 3 MB, so the pull is reliably
# still running (retrying) when it is killed, however fast the machine.
STORE=$(mktemp_dir)
start_proxy '[{"path_contains": "/blobs/sha256", "method": "GET", "action": "cut", "after_bytes": 3000000, "times": 1000}]'
"$MINIRUN" --storage "$STORE" pull -q "$PROXY/big:latest" >/dev/null 2>&1 &  # the binary itself, so $! is its pid
victim=$!
for _ in $(seq 1000); do
  [[ -n $(find "$STORE/store/blobs/sha256" -name '.tmp-*' -size +2M 2>/dev/null) ]] && break
  sleep 0.01
done
[[ -n $(find "$STORE/store/blobs/sha256" -name '.tmp-*' -size +2M 2>/dev/null) ]] || fail "the pull never got a partial blob"
kill -9 $victim 2>/dev/null || fail "the pull ended before it could be killed"
wait $victim 2>/dev/null || true
assert_blobs_verified
run_ok mr images --format json
[[ $(jq length <<<"$OUT") == 0 ]] || fail "a killed pull named an image"
run_ok mr pull -q "$upstream/big:latest"
leftovers=$(find "$STORE" -name '.tmp-*' | wc -l)
assert_eq 0 "$leftovers" "temp leftovers after the next pull"
assert_blobs_verified
pass "killed pull leaves a consistent store"
