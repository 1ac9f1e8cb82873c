#!/usr/bin/env bash
# CDI devices and --gpus (issue 14): specs the test writes (YAML and JSON) for char devices
# it makes with a test major give the container the nodes (openable: the device cgroup
# allows them), the spec's env, read-only mounts and createContainer hook; a device not
# asked for stays refused; --gpus all|N|device=ID map to nvidia.com/gpu devices as
# Docker's do; unknown devices and bad specs are one-line errors.
source "$(dirname "$0")/common.sh"
require_root
require_cmd mknod

IMG=$("$IMAGES" path busybox)
run_ok mr pull -q "oci:$IMG:latest"
img=$OUT
on_exit 'for c in $(mr ps -aq 2>/dev/null); do mr rm -f "$c" >/dev/null 2>&1; done'
R=(mr run --rm --network none)

work=$(mktemp_dir)
specs=$work/cdi
mkdir -p "$specs" "$work/dev"
export MINIRUN_CDI_SPEC_DIRS=$specs
# Test majors with no driver: an open the cgroup allows gives ENXIO, one it refuses EPERM.
mknod "$work/dev/one" c 240 1
mknod "$work/dev/two" c 240 2
mknod "$work/dev/gpu0" c 241 0
mknod "$work/dev/gpu1" c 241 1
echo "vendor config" >"$work/vendor.conf"
cat >"$work/hook.sh" <<EOF
#!/bin/sh
# createContainer: the runtime passes the state on stdin; leave a mark on the host.
cat >/dev/null
echo "\$1" >>"$work/hook-ran"
EOF
chmod +x "$work/hook.sh"
cat >"$specs/example.yaml" <<EOF
cdiVersion: "0.6.0"
kind: example.com/dev
containerEdits:
  env: [EXAMPLE_COMMON=1]
  mounts:
    - hostPath: $work/vendor.conf
      containerPath: /etc/vendor.conf
      options: [ro, nosuid, nodev, bind]
  hooks:
    - hookName: createContainer
      path: $work/hook.sh
      args: [hook.sh, created]
devices:
  - name: one
    containerEdits:
      env: [EXAMPLE_DEVICE=one]
      deviceNodes:
        - path: /dev/example-one
          hostPath: $work/dev/one
          permissions: rw
  - name: two
    containerEdits:
      deviceNodes:
        - path: /dev/example-two
          hostPath: $work/dev/two
EOF
cat >"$specs/nvidia.json" <<EOF
{"cdiVersion": "0.5.0", "kind": "nvidia.com/gpu",
 "devices": [
  {"name": "0", "containerEdits": {"deviceNodes": [{"path": "/dev/nvidia0", "hostPath": "$work/dev/gpu0"}]}},
  {"name": "1", "containerEdits": {"deviceNodes": [{"path": "/dev/nvidia1", "hostPath": "$work/dev/gpu1"}]}},
  {"name": "all", "containerEdits": {"deviceNodes": [{"path": "/dev/nvidia0", "hostPath": "$work/dev/gpu0"},
                                                     {"path": "/dev/nvidia1", "hostPath": "$work/dev/gpu1"}]}}],
 "containerEdits": {"env": ["NVIDIA_VISIBLE_DEVICES=void"]}}
EOF

run_ok "${R[@]}" --device example.com/dev=one "$img" sh -c \
  'ls -l /dev/example-one; cat /dev/example-one 2>&1; env | grep ^EXAMPLE_ | sort; cat /etc/vendor.conf; { echo x >/etc/vendor.conf; } 2>&1; ls /dev/example-two 2>&1; true'
assert_contains "$OUT" "240,   1" "the node, major 240 minor 1"
assert_contains "$OUT" "No such device or address" "the device cgroup allows it"
assert_contains "$OUT" $'EXAMPLE_COMMON=1\nEXAMPLE_DEVICE=one' "the spec's and the device's env"
assert_contains "$OUT" "vendor config" "the spec's mount"
assert_contains "$OUT" "Read-only file system" "mounted read-only"
assert_contains "$OUT" "/dev/example-two: No such file or directory" "a device not asked for is absent"
assert_eq created "$(cat "$work/hook-ran")" "the createContainer hook ran"
run_ok "${R[@]}" --device example.com/dev=one "$img" sh -c 'mknod /tmp/t c 240 2 && cat /tmp/t 2>&1; true'
assert_contains "$OUT" "Operation not permitted" "another minor of the major stays refused"
run_ok "${R[@]}" --device example.com/dev=one --device example.com/dev=two "$img" sh -c 'cat /dev/example-two 2>&1; true'
assert_contains "$OUT" "No such device or address" "two devices of one spec"
assert_eq 3 "$(wc -l <"$work/hook-ran")" "the spec's hook once per container (three so far)"
pass "CDI device: nodes, cgroup access, env, read-only mount, hook; others refused"

gpus() {  # gpus VALUE: the /dev/nvidia* nodes the container gets
  run_ok "${R[@]}" --gpus "$1" "$img" sh -c 'ls /dev | grep ^nvidia | tr "\n" " "; echo $NVIDIA_VISIBLE_DEVICES'
}
gpus all
assert_eq "nvidia0 nvidia1 void" "$OUT" "--gpus all"
gpus 1
assert_eq "nvidia0 void" "$OUT" "--gpus 1: the first"
gpus device=1
assert_eq "nvidia1 void" "$OUT" "--gpus device=1"
gpus '"device=0,1"'
assert_eq "nvidia0 nvidia1 void" "$OUT" "--gpus '\"device=0,1\"' as Docker quotes it"
run_ok "${R[@]}" --gpus all "$img" sh -c 'cat /dev/nvidia1 2>&1; true'
assert_contains "$OUT" "No such device or address" "a GPU node is allowed"
pass "--gpus all, N, device=ID map to nvidia.com/gpu CDI devices"

one_line() {  # one_line WANT ARGS…
  local want=$1
  shift
  run_expect_fail "${R[@]}" "$@" "$img" true
  assert_contains "$ERR" "$want" "$*"
  assert_eq 1 "$(wc -l <<<"$ERR")" "$*: one line"
}
one_line "unresolvable CDI devices example.com/dev=three" --device example.com/dev=three
one_line "3 GPUs asked, 2 found" --gpus 3
one_line 'invalid --gpus "bogus"' --gpus bogus
cp "$specs/example.yaml" "$work/keep.yaml"
printf 'cdiVersion: "0.6.0"\nkind: nokind\ndevices: []\n' >"$specs/bad.yaml"
one_line "CDI spec $specs/bad.yaml: kind \"nokind\" is not vendor.com/class" --device example.com/dev=one
printf 'cdiVersion: "0.6.0"\nkind: a.com/b\ndevices:\n  - name: x\n    containerEdits:\n      deviceNodes: [{path: dev/rel}]\n' >"$specs/bad.yaml"
one_line "is not an absolute path" --device example.com/dev=one
rm "$specs/bad.yaml"
[[ -e /dev/nvidiactl ]] || MINIRUN_CDI_SPEC_DIRS=$work/none one_line "no NVIDIA GPU here" --gpus all
assert_eq "" "$(mr ps -aq)" "no container left by the refusals"
pass "unknown devices, too many GPUs, bad specs: one line, nothing created"

# Compose: a CDI name in devices: is resolved when apply makes the container; the config
# hash keeps the name, so a second apply changes nothing.
use_test_netns mr-cdi
proj=$work/proj
mkdir -p "$proj"
cat >"$proj/compose.yaml" <<EOF2
services:
  dev:
    image: $img
    command: ["sh", "-c", "cat /dev/example-one 2>&1; echo device=\$\$EXAMPLE_DEVICE; exec sleep 600"]
    devices: ["example.com/dev=one"]
EOF2
on_exit "'$MINIRUN' --storage '$STORE' down -f '$proj/compose.yaml' -p cdiproj >/dev/null 2>&1"
run_ok m apply -f "$proj/compose.yaml" -p cdiproj --format json
assert_eq created "$(jq -r '.services[0].action' <<<"$OUT")" "first apply"
for _ in $(seq 50); do m logs cdiproj-dev-1 2>/dev/null | grep -q device= && break; sleep 0.1; done
run_ok m logs cdiproj-dev-1
assert_contains "$OUT" "No such device or address" "the node is there and allowed"
assert_contains "$OUT" "device=one" "the device's env"
run_ok m apply -f "$proj/compose.yaml" -p cdiproj --format json
assert_eq unchanged "$(jq -r '.services[0].action' <<<"$OUT")" "second apply"
sed -i 's#example.com/dev=one#example.com/dev=nine#' "$proj/compose.yaml"
run_expect_fail m apply -f "$proj/compose.yaml" -p cdiproj
assert_contains "$OUT$ERR" "unresolvable CDI devices example.com/dev=nine"
assert_eq running "$(m inspect -f '{{.State.Status}}' cdiproj-dev-1)" "the old container is kept when the new device does not resolve"
pass "Compose devices: take CDI names, resolved at apply; an unresolvable one keeps the running container"
