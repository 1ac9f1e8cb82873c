#!/usr/bin/env bash
# Engines drive minirun-oci as their OCI runtime: podman (run --rm; run -d, exec,
# stop; -p to busybox httpd, inside a network namespace of our own) and containerd's
# ctr (a containerd the test starts with its own root, state and socket).
source "$(dirname "$0")/common.sh"
require_root
require_cmd podman ctr containerd nsenter curl

# podman keeps its runroot path short (overlay limit): use a short temp dir.
pm=$(mktemp -d /tmp/mrp.XXXXXX)
P=(podman --root "$pm/root" --runroot "$pm/rr" --tmpdir "$pm/tmp" --cgroup-manager cgroupfs --events-backend file
   --storage-driver overlay --runtime "$OCI")
ULIMITS=(--ulimit nofile=20000:20000 --ulimit nproc=32768:32768)
cleanup_podman() {
  "${P[@]}" rm -af -t 0 >/dev/null 2>&1
  "${P[@]}" rmi -af >/dev/null 2>&1
  grep -o " $pm[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null
  rm -rf "$pm"
}
on_exit cleanup_podman
run_ok "${P[@]}" pull -q "oci:$("$IMAGES" path busybox):latest"
run_ok "${P[@]}" tag "$OUT" localhost/busybox:test

run_ok "${P[@]}" run --rm --network none "${ULIMITS[@]}" localhost/busybox:test sh -c 'echo hello from podman; cat /proc/1/cmdline'
assert_contains "$OUT" "hello from podman"
RC=0; "${P[@]}" run --rm --network none "${ULIMITS[@]}" localhost/busybox:test sh -c 'exit 5' || RC=$?
assert_eq 5 "$RC" "podman run exit status"
pass "podman --runtime minirun-oci run --rm"

run_ok "${P[@]}" run -d --network none "${ULIMITS[@]}" localhost/busybox:test sh -c 'trap "exit 0" TERM; while :; do sleep 0.1; done'
cid=$OUT
run_ok "${P[@]}" exec "$cid" sh -c 'echo exec-ok; cat /proc/1/cmdline'
assert_contains "$OUT" "exec-ok"
run_ok "${P[@]}" stop -t 5 "$cid"
run_ok "${P[@]}" inspect --format '{{.State.Status}} {{.State.ExitCode}}' "$cid"
assert_eq "exited 0" "$OUT" "stopped by SIGTERM"
run_ok "${P[@]}" rm "$cid"
pass "podman run -d, exec, stop"

ns=mr-engines-$$
ip netns add "$ns"
on_exit "ip netns delete $ns"
ip -n "$ns" link set lo up
N=(nsenter "--net=/var/run/netns/$ns")
run_ok "${N[@]}" "${P[@]}" run -d -p 127.0.0.1:18080:80 "${ULIMITS[@]}" localhost/busybox:test \
  sh -c 'mkdir -p /www && echo hello-from-httpd > /www/index.html && exec httpd -f -p 80 -h /www'
cid=$OUT
body=""
for _ in $(seq 50); do
  body=$("${N[@]}" curl -s -m 2 http://127.0.0.1:18080/ || true)
  [[ $body == hello-from-httpd ]] && break
  sleep 0.1
done
assert_eq hello-from-httpd "$body" "curl through podman -p"
run_ok "${N[@]}" "${P[@]}" rm -f -t 0 "$cid"
pass "podman -p to busybox httpd (in network namespace $ns)"

# containerd, all state under a temp dir; the shim calls us with runc's arguments.
cd_dir=$(mktemp -d /tmp/mrc.XXXXXX)
on_exit "rm -rf '$cd_dir'"
cat >"$cd_dir/config.toml" <<TOML
version = 2
root = "$cd_dir/root"
state = "$cd_dir/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$cd_dir/ctd.sock"
[ttrpc]
  address = "$cd_dir/ctd.sock.ttrpc"
TOML
containerd --config "$cd_dir/config.toml" >"$cd_dir/containerd.log" 2>&1 &
cdpid=$!
ctr_ns=mrtest$$
on_exit "kill $cdpid 2>/dev/null; rm -rf /run/containerd/runc/$ctr_ns; grep -o ' $cd_dir[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null"
C=(ctr -a "$cd_dir/ctd.sock" -n "$ctr_ns")
for _ in $(seq 100); do "${C[@]}" version >/dev/null 2>&1 && break; sleep 0.05; done
(cd "$("$IMAGES" path busybox)" && tar -cf "$cd_dir/busybox.tar" .)
run_ok "${C[@]}" images import --base-name localhost/busybox "$cd_dir/busybox.tar"
run_ok "${C[@]}" run --rm --runc-binary "$OCI" localhost/busybox:latest c1 sh -c 'echo hello from ctr; hostname'
assert_contains "$OUT" "hello from ctr"
RC=0; "${C[@]}" run --rm --runc-binary "$OCI" localhost/busybox:latest c2 sh -c 'exit 3' >/dev/null 2>&1 || RC=$?
assert_eq 3 "$RC" "ctr run exit status"
pass "ctr run --rm --runc-binary minirun-oci"
