#!/usr/bin/env bash
# Pull from a real docker-registry in each auth mode; peers (skopeo, umoci,
# oci-image-tool) read the resulting store.
source "$(dirname "$0")/common.sh"
require_root
require_cmd docker-registry skopeo umoci oci-image-tool

for mode in none basic token; do
  start_registry "$mode"
  "$IMAGES" seed "$REGISTRY" busybox >/dev/null 2>&1 || fail "seeding busybox into $mode registry"
  STORE=$(mktemp_dir)
  if [[ $mode == basic ]]; then
    run_expect_fail mr pull -q "$REGISTRY/busybox:latest"
    assert_contains "$ERR" "registry $REGISTRY denied access to repository busybox" "$mode: anonymous pull refused"
    assert_contains "$ERR" "credentials sent: no"
    run_expect_fail mr login -u "$REGISTRY_USER" --password-stdin "$REGISTRY" <<<"wrong-password"
    assert_contains "$ERR" "credentials sent: yes"
  fi
  if [[ $mode != none ]]; then
    run_ok mr login -u "$REGISTRY_USER" --password-stdin "$REGISTRY" <<<"$REGISTRY_PASSWORD"
    assert_contains "$OUT" "Login Succeeded"
    [[ $(stat -c %a "$DOCKER_CONFIG/config.json") == 600 ]] || fail "config.json not mode 0600"
  fi
  run_ok mr pull "$REGISTRY/busybox:latest"
  want=$("$IMAGES" digest busybox)
  assert_contains "$OUT" "Digest: $want" "$mode: pull prints the manifest digest"
  run_ok mr images
  assert_contains "$OUT" "$REGISTRY/busybox"
  run_ok mr images --format json
  [[ $(jq -r '.[0].Digest' <<<"$OUT") == "$want" ]] || fail "images --format json digest"
  # Peers read our store.
  run_ok skopeo inspect "oci:$STORE/store:$REGISTRY/busybox:latest"
  [[ $(jq -r .Digest <<<"$OUT") == "$want" ]] || fail "$mode: skopeo sees a different digest"
  run_ok oci-image-tool validate --type image --ref "name=$REGISTRY/busybox:latest" "$STORE/store"
  assert_contains "$OUT" "Validation succeeded"
  bundle=$(mktemp_dir)/b
  run_ok umoci unpack --image "$STORE/store:$REGISTRY/busybox:latest" "$bundle"
  assert_file "$bundle/rootfs/bin/busybox"
  # A second pull downloads nothing.
  run_ok mr pull "$REGISTRY/busybox:latest"
  assert_contains "$OUT" "0 layers downloaded, 1 already present"
  if [[ $mode != none ]]; then
    run_ok mr logout "$REGISTRY"
    [[ $(jq -r --arg r "$REGISTRY" '.auths[$r] // "gone"' "$DOCKER_CONFIG/config.json") == gone ]] || fail "logout left credentials"
  fi
  if [[ $mode == token ]]; then
    # Anonymous pull through the bearer flow (the issuer grants anonymous pull).
    STORE=$(mktemp_dir)
    run_ok mr pull -q "$REGISTRY/busybox:latest"
    grep -q 'scope=repository:busybox:pull' "$TOKEN_LOG" || grep -q 'repository:busybox:pull' "$TOKEN_LOG" || fail "no token request for the pull scope"
  fi
  pass "pull in auth mode $mode"
  "$FIXTURES/registry.sh" stop "$REGISTRY_DIR"
done
