#!/usr/bin/env bash
# Differential Containerfile test (issue 10): every case in tests/fixtures/build_diff.py is
# built by imgbuild and by buildah (Debian's, the peer) on the busybox fixture; the two
# images' file trees (owner, mode, type, content, link target) and configs must agree,
# except where a case names a departure of buildah's from Docker's documented behaviour
# and pins Docker's result instead.
source "$(dirname "$0")/common.sh"
require_root
require_cmd docker-registry skopeo umoci buildah python3
start_registry none
"$IMAGES" seed "$REGISTRY" busybox >/dev/null 2>&1 || fail "seeding busybox"

# buildah gets storage of its own (vfs: no mounts left behind), removed at exit.
BH=$(mktemp -d /tmp/mrb.XXXXXX)
on_exit "rm -rf --one-file-system $BH"
export BUILDAH="buildah --root $BH/root --runroot $BH/run --storage-driver vfs"
export REGISTRIES_CONFIG_PATH=$BH/registries.conf
printf 'unqualified-search-registries = []\n[[registry]]\nlocation = "%s"\ninsecure = true\n' "$REGISTRY" >"$REGISTRIES_CONFIG_PATH"

WORK=$(mktemp_dir)
run_ok /usr/bin/python3 "$FIXTURES/build_diff.py" "$IMGBUILD_BIN" "$STORE" "$REGISTRY/busybox:latest" "$WORK"
echo "$OUT" | grep -E '^(ok|not ok) ' | sed 's/^/  /'
cases=$(grep -c '^ok - ' <<<"$OUT")
(( cases >= 40 )) || fail "only $cases cases ran"
pass "imgbuild and buildah agree on $cases Containerfile cases"

# The store stays consistent after ~85 builds (and one refused build of each kind).
run_ok mr system check
pass "system check after the differential builds"
