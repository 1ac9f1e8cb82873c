#!/usr/bin/env bash
# The unpacked layers, stacked with overlayfs, equal what umoci unpack produces from
# the same image (paths, types, modes, owners, sizes, link targets, contents); rmi
# removes what nothing else references.
source "$(dirname "$0")/common.sh"
require_root
require_cmd docker-registry skopeo umoci

start_registry none
"$IMAGES" seed "$REGISTRY" >/dev/null 2>&1 || fail "seeding fixtures"
run_ok mr pull -q "$REGISTRY/big:latest"
run_ok mr inspect "$REGISTRY/big:latest"
mapfile -t diffs < <(jq -r '.[0].RootFS.Layers[]' <<<"$OUT")
(( ${#diffs[@]} >= 3 )) || fail "expected a multi-layer image"
lower=""
for d in "${diffs[@]}"; do
  dir="$STORE/layers/${d#sha256:}"
  assert_file "$dir" "layer dir for $d"
  lower="$dir${lower:+:$lower}"
done
mnt=$(mktemp_dir)
mount -t overlay overlay -o "lowerdir=$lower" "$mnt" || fail "overlay mount of the layers"
on_exit "umount '$mnt'"
ref=$(mktemp_dir)/bundle
run_ok umoci unpack --image "$("$IMAGES" path big):latest" "$ref"
run_ok /usr/bin/python3 "$FIXTURES/treecmp.py" "$mnt" "$ref/rootfs"
pass "stacked layers equal umoci unpack ($(tail -1 <<<"$OUT"))"
# The whiteout in the upper layer is an overlay whiteout, and hides the file.
wh=$(find "$STORE/layers" -type c | head -1)
[[ -n $wh ]] || fail "no overlay whiteout (char device) in any layer"
[[ $(stat -c '%t:%T' "$wh") == 0:0 ]] || fail "whiteout is not 0:0"
pass "whiteouts kept as overlay whiteouts"
umount "$mnt"

# tag, then rmi of one name keeps the content; rmi of the last removes it.
run_ok mr pull -q "$REGISTRY/busybox:latest"
run_ok mr tag "$REGISTRY/big:latest" localhost/copy:1
run_ok mr rmi "$REGISTRY/big:latest"
assert_file "$STORE/layers/${diffs[-1]#sha256:}" "layer kept while another name uses it"
run_ok mr rmi localhost/copy:1
for d in "${diffs[@]:1}"; do assert_no_file "$STORE/layers/${d#sha256:}" "layer removed by rmi"; done
run_ok mr images --format json
[[ $(jq -r '.[].Name' <<<"$OUT") == "$REGISTRY/busybox:latest" ]] || fail "busybox should remain"
run_ok skopeo inspect "oci:$STORE/store:$REGISTRY/busybox:latest"
pass "tag and rmi with garbage collection"
