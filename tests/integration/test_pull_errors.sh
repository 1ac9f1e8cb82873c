#!/usr/bin/env bash
# Each pull error gives a one-line message naming the reference or digest, a non-zero
# exit and an unchanged store. Broken registry behaviour comes from a fault proxy in
# front of a real docker-registry.
source "$(dirname "$0")/common.sh"
require_root
require_cmd docker-registry skopeo

start_registry none
"$IMAGES" seed "$REGISTRY" busybox >/dev/null 2>&1 || fail "seeding busybox"
digest=$("$IMAGES" digest busybox)
run_ok mr images   # creates the empty store
before=$(store_fingerprint)

expect_error() { # NEEDLE CMD...
  local needle=$1
  shift
  run_expect_fail "$@"
  assert_contains "$ERR" "$needle"
  [[ $(wc -l <<<"$ERR") == 1 ]] || fail "error is not one line: $ERR"
  [[ $(store_fingerprint) == "$before" ]] || fail "store changed after: $*"
}

expect_error 'pull nonexistent.invalid/x:1: cannot resolve registry host nonexistent.invalid' mr pull -q nonexistent.invalid/x:1
pass "unknown host"
expect_error "pull $REGISTRY/busybox:nope: not found" mr pull -q "$REGISTRY/busybox:nope"
expect_error "pull $REGISTRY/missing/repo:latest: not found" mr pull -q "$REGISTRY/missing/repo:latest"
pass "image or tag not found"
expect_error 'invalid reference "Busybox"' mr pull -q Busybox
pass "invalid reference"

# Broken registries, through the fault proxy.
start_proxy '[{"path_contains": "/manifests/", "action": "tamper"}]'
expect_error "manifest digest mismatch: expected $digest" mr pull -q "$PROXY/busybox@$digest"
expect_error "manifest digest mismatch" mr pull -q "$PROXY/busybox:latest"
pass "manifest digest mismatch (by digest and by tag)"

start_proxy '[{"path_contains": "/blobs/sha256", "method": "GET", "action": "tamper"}]'
expect_error "digest mismatch" mr pull -q "$PROXY/busybox:latest"
pass "blob digest mismatch"

start_proxy '[{"path_contains": "/manifests/", "action": "replace", "content_type": "application/vnd.docker.distribution.manifest.v1+prettyjws", "body": "{\"schemaVersion\":1,\"fsLayers\":[]}"}]'
expect_error "unsupported manifest media type application/vnd.docker.distribution.manifest.v1+prettyjws" mr pull -q "$PROXY/busybox:latest"
pass "unsupported media type"

start_proxy '[{"path_contains": "/manifests/", "action": "replace", "content_type": "application/vnd.oci.image.manifest.v1+json", "body": "{\"schemaVersion\":2,\"config\":{\"digest\":\"sha256:abc\"},\"layers\":[]}"}]'
expect_error "malformed manifest" mr pull -q "$PROXY/busybox:latest"
pass "malformed manifest"

idx='{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"'$digest'","size":400,"platform":{"os":"linux","architecture":"arm64"}},{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"'$digest'","size":400,"platform":{"os":"linux","architecture":"s390x"}}]}'
start_proxy "[{\"path_contains\": \"/manifests/latest\", \"action\": \"replace\", \"content_type\": \"application/vnd.oci.image.index.v1+json\", \"body\": $(jq -Rs . <<<"$idx")}]"
expect_error "no image for platform linux/amd64 (available: linux/arm64, linux/s390x)" mr pull -q --platform linux/amd64 "$PROXY/busybox:latest"
pass "no matching platform"

# Auth errors.
start_registry basic
"$IMAGES" seed "$REGISTRY" busybox >/dev/null 2>&1 || fail "seeding busybox (basic)"
expect_error "registry $REGISTRY denied access to repository busybox (401 Unauthorized; credentials sent: no)" mr pull -q "$REGISTRY/busybox:latest"
printf '{"auths":{"%s":{"auth":"%s"}}}' "$REGISTRY" "$(printf 'testuser:wrong' | base64)" >"$DOCKER_CONFIG/config.json"
expect_error "credentials sent: yes" mr pull -q "$REGISTRY/busybox:latest"
pass "401 with and without credentials"

start_registry token
"$IMAGES" seed "$REGISTRY" busybox >/dev/null 2>&1 || fail "seeding busybox (token)"
printf '{"auths":{"%s":{"auth":"%s"}}}' "$REGISTRY" "$(printf 'testuser:wrong' | base64)" >"$DOCKER_CONFIG/config.json"
expect_error "token service refused the credentials" mr pull -q "$REGISTRY/busybox:latest"
pass "token service refusing credentials"

# The uncompressed-size cap stops a layer bigger than allowed, naming the layer.
start_registry none
"$IMAGES" seed "$REGISTRY" big >/dev/null 2>&1 || fail "seeding big"
before=$(store_fingerprint)
run_expect_fail mr pull -q --max-layer-size 50m "$REGISTRY/big:latest"
assert_contains "$ERR" "exceeds"
assert_contains "$ERR" "layer sha256:"
assert_blobs_verified
run_ok mr images --format json
[[ $(jq length <<<"$OUT") == 0 ]] || fail "a capped pull named an image"
[[ -z $(find "$STORE" -name '.tmp-*') ]] || fail "temp files left after a refused layer"
pass "uncompressed size cap"
