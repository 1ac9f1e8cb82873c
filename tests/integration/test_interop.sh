#!/usr/bin/env bash
# Interoperability of push and pull with the peers, through a real docker-registry:
#  (a) an image `imgbuild push`ed from a minirun store into an EMPTY registry is what
#      skopeo sees (same digest as imgbuild printed) and what podman pulls and runs;
#  (b) images `skopeo copy`ed from the fixture OCI layout (as is, and converted to
#      Docker schema 2) are pulled by `minirun pull` (same digest as skopeo's) and run
#      by `minirun run --rm --network none`; the Docker-format one pushed back by
#      imgbuild keeps its digest.
# podman uses a private --root/--runroot (and registries.conf), removed at exit;
# minirun's containers run in a network namespace of our own.
source "$(dirname "$0")/common.sh"
require_root
require_cmd docker-registry skopeo podman runc jq nsenter
IMGBUILD=${IMGBUILD_BIN:?}
ib() { "$IMGBUILD" --storage "$STORE" "$@"; }

use_test_netns mr-interop

# digest_line OUTPUT: the sha256 digest of the "Digest: ..." line (fails without one).
digest_line() {
  local d
  d=$(sed -n 's/^Digest: \(sha256:[0-9a-f]\{64\}\)$/\1/p' <<<"$1")
  [[ $d == sha256:* && $d != *$'\n'* ]] || fail "no single 'Digest: sha256:...' line in [$1]"
  echo "$d"
}
# skopeo_digest REF: the digest skopeo reads from the registry for REF.
skopeo_digest() {
  run_ok skopeo inspect --tls-verify=false --no-creds "docker://$1"
  jq -r .Digest <<<"$OUT"
}
# store_media_type NAME: media type of the manifest the store records for NAME.
store_media_type() {
  jq -r --arg n "$1" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $n) | .mediaType' \
    "$STORE/store/index.json"
}

BUSYBOX_LAYOUT=$("$IMAGES" path busybox)
FIXTURE_DIGEST=$("$IMAGES" digest busybox)
[[ $FIXTURE_DIGEST == sha256:* ]] || fail "no digest for the busybox fixture"

# Two registries: SRC holds the seeded fixture minirun pulls from; DST starts empty, so
# every blob imgbuild and skopeo send there really travels (no skip, no mount).
start_registry none
SRC=$REGISTRY SRC_DIR=$REGISTRY_DIR
"$IMAGES" seed "$SRC" busybox >/dev/null 2>&1 || fail "seeding busybox"
start_registry none
DST=$REGISTRY
[[ $SRC != "$DST" && -z $(find "$REGISTRY_DIR/storage" -type f) ]] || fail "destination registry is not a fresh empty one"

# ---- (a) imgbuild push -> skopeo inspect, podman pull + run ----
run_ok mr pull "$SRC/busybox:latest"
assert_eq "$FIXTURE_DIGEST" "$(digest_line "$OUT")" "minirun pull of the seeded fixture"
"$FIXTURES/registry.sh" stop "$SRC_DIR" # the push must not need the source registry

run_ok ib push "$SRC/busybox:latest" "$DST/interop/busybox:v1"
PUSHED=$(digest_line "$OUT")
assert_contains "$OUT" "(2 blobs uploaded, 0 mounted, 0 already present)" "imgbuild push into an empty registry"
assert_eq "$FIXTURE_DIGEST" "$PUSHED" "imgbuild push keeps the manifest's digest"
assert_eq "$PUSHED" "$(skopeo_digest "$DST/interop/busybox:v1")" "skopeo inspect digest of the imgbuild push"
# The registry serves exactly those manifest bytes (skopeo copies them byte for byte).
raw=$(mktemp_dir)
run_ok skopeo --insecure-policy copy --quiet --src-tls-verify=false --src-no-creds \
  "docker://$DST/interop/busybox:v1" "dir:$raw"
assert_eq "$PUSHED" "sha256:$(sha256sum <"$raw/manifest.json" | cut -d' ' -f1)" "sha256 of the manifest skopeo copies"
pass "imgbuild push: skopeo inspect reports the digest imgbuild printed ($PUSHED)"

# podman: private storage, registries.conf and auth file (common.sh), removed at exit.
private_podman "$DST"
run_ok "${P[@]}" run --rm "${podman_run_flags[@]}" \
  --network none --tls-verify=false "$DST/interop/busybox:v1" \
  sh -c 'echo podman-ran-$((6 * 7)); cat /etc/minirun-fixture'
assert_eq $'podman-ran-42\nbusybox' "$OUT" "podman run of the image imgbuild pushed"
run_ok "${P[@]}" image inspect --format '{{.Digest}}' "$DST/interop/busybox:v1"
assert_eq "$PUSHED" "$OUT" "digest podman pulled"
pass "podman pulls and runs the image imgbuild pushed"
cleanup_private_podman
assert_no_file "$PM" "podman storage removed"

# ---- (b) skopeo copy -> minirun pull + run ----
# As is (the fixture's OCI manifest) and converted to Docker schema 2 by skopeo.
declare -A SKOPEO_DIGEST
for fmt in oci v2s2; do
  ref=$DST/from-skopeo/busybox:$fmt
  opts=()
  [[ $fmt == v2s2 ]] && opts=(--format v2s2)
  run_ok skopeo --insecure-policy copy --quiet --dest-tls-verify=false --dest-no-creds "${opts[@]}" \
    "oci:$BUSYBOX_LAYOUT:latest" "docker://$ref"
  want=$(skopeo_digest "$ref")
  [[ $want == sha256:* ]] || fail "skopeo inspect gave no digest for $ref"
  if [[ $fmt == oci ]]; then
    assert_eq "$FIXTURE_DIGEST" "$want" "skopeo copy as is"
  else
    assert_ne "$FIXTURE_DIGEST" "$want" "skopeo converted the manifest"
  fi
  run_ok mr pull "$ref"
  assert_eq "$want" "$(digest_line "$OUT")" "minirun pull of the $fmt image skopeo pushed"
  case $fmt in
    oci) assert_eq application/vnd.oci.image.manifest.v1+json "$(store_media_type "$ref")" "stored media type ($fmt)" ;;
    v2s2) assert_eq application/vnd.docker.distribution.manifest.v2+json "$(store_media_type "$ref")" "stored media type ($fmt)" ;;
  esac
  run_ok m run --rm --network none -q "$ref" sh -c "echo minirun-ran-$fmt-\$((6 * 7)); cat /etc/minirun-fixture"
  assert_eq "minirun-ran-$fmt-42"$'\n'"busybox" "$OUT" "minirun run of the $fmt image skopeo pushed"
  pass "skopeo copy ($fmt manifest) -> minirun pull (digest $want) and run"
  SKOPEO_DIGEST[$fmt]=$want
done

# The Docker-format image goes back out through imgbuild with its digest and media type.
run_ok ib push "$DST/from-skopeo/busybox:v2s2" "$DST/roundtrip/busybox:v2s2"
assert_eq "${SKOPEO_DIGEST[v2s2]}" "$(digest_line "$OUT")" "imgbuild push of the Docker-format image"
assert_eq "${SKOPEO_DIGEST[v2s2]}" "$(skopeo_digest "$DST/roundtrip/busybox:v2s2")" "skopeo inspect after the round trip"
run_ok skopeo inspect --tls-verify=false --no-creds --raw "docker://$DST/roundtrip/busybox:v2s2"
assert_eq application/vnd.docker.distribution.manifest.v2+json "$(jq -r .mediaType <<<"$OUT")" "media type after the round trip"
pass "skopeo (v2s2) -> minirun pull -> imgbuild push keeps digest and media type"
