#!/usr/bin/env bash
# Docker's resource and process flags for `run` (issue 14), checked where they act: inside
# the container (ulimit, /proc, /dev/shm, resolv.conf, groups, devices) and in the host's
# cgroup files; podman given the same flags is the oracle for what the process sees.
source "$(dirname "$0")/common.sh"
require_root
require_cmd podman mknod

busybox_beside_podman
R=(mr run --rm --network none)
PR=("${P[@]}" run --rm --network none "${podman_run_flags[@]}")

# ---- the same flags, the same view as podman's ----------------------------------------
same_inside() {  # same_inside "FLAGS" 'SHELL': what the process sees, minirun vs podman
  local flags=($1) want
  want=$("${PR[@]}" "${flags[@]}" "$img" sh -c "$2" 2>&1) || fail "podman run $1: $want"
  run_ok "${R[@]}" "${flags[@]}" "$img" sh -c "$2"
  assert_eq "$want" "$OUT" "$1: $2"
}
same_inside "--oom-score-adj 400" 'cat /proc/self/oom_score_adj'
same_inside "--shm-size 2m" 'df -k /dev/shm | tail -1 | awk "{print \$2}"'
same_inside "--sysctl net.core.somaxconn=1234 --sysctl kernel.shmmax=123456" 'cat /proc/sys/net/core/somaxconn /proc/sys/kernel/shmmax'
same_inside "--cpuset-cpus 0" 'grep Cpus_allowed_list /proc/self/status'
same_inside "--group-add 1234 --group-add 2345" 'id -G'
pass "--oom-score-adj, --shm-size, --sysctl, --cpuset-cpus, --group-add: what podman's process sees"
# --dns* need a network (none is refused, as podman and Docker do); the host's network
# keeps this test off the root namespace's interfaces while resolv.conf is the container's.
R=(mr run --rm --network host) PR=("${P[@]}" run --rm --network host "${podman_run_flags[@]}")
same_inside "--dns 10.1.2.3 --dns-search corp.example --dns-option ndots:3" 'cat /etc/resolv.conf'
same_inside "--dns 10.9.9.9" 'grep nameserver /etc/resolv.conf'
R=(mr run --rm --network none) PR=("${P[@]}" run --rm --network none "${podman_run_flags[@]}")
run_expect_fail "${R[@]}" --dns 10.1.2.3 "$img" true
assert_contains "$ERR" "conflicting options: dns and the network mode: none"
pass "--dns, --dns-search, --dns-option: podman's resolv.conf; refused without a network"

run_ok "${R[@]}" --ulimit nofile=1024:2048 --ulimit core=-1 "$img" sh -c 'ulimit -n; ulimit -Hn; ulimit -c'
assert_eq $'1024\n2048\nunlimited' "$OUT" "--ulimit soft, hard, unlimited"
pass "--ulimit"

# ---- cgroup settings, read on the host ------------------------------------------------
run_ok mr run -d --network none -c 512 --memory 64m --memory-reservation 32m --memory-swap 128m "$img" sleep 60
cid=$OUT
cg_file() {  # cg_file NAME: the container's cgroup file of that name, v1 or v2
  find /sys/fs/cgroup -path "*minirun/$cid/$1" 2>/dev/null | head -1
}
if f=$(cg_file cpu.shares) && [[ -n $f ]]; then
  assert_eq 512 "$(cat "$f")" "cpu.shares"
else
  f=$(cg_file cpu.weight); [[ -n $f ]] || fail "no cpu.shares or cpu.weight for $cid"
  assert_eq 20 "$(cat "$f")" "cpu.weight for 512 shares"  # runc's conversion: 1 + (512-2)*9999/262142
fi
if f=$(cg_file memory.soft_limit_in_bytes) && [[ -n $f ]]; then
  assert_eq $((32 << 20)) "$(cat "$f")" "memory.soft_limit_in_bytes"
  if f=$(cg_file memory.memsw.limit_in_bytes) && [[ -n $f ]]; then
    assert_eq $((128 << 20)) "$(cat "$f")" "memory.memsw.limit_in_bytes"
  else
    echo "# no swap accounting on this kernel: --memory-swap not visible in memory.memsw"
  fi
else
  assert_eq $((32 << 20)) "$(cat "$(cg_file memory.low)")" "memory.low"
  assert_eq $((64 << 20)) "$(cat "$(cg_file memory.swap.max)")" "memory.swap.max (swap part of --memory-swap)"
fi
run_ok mr inspect -f '{{.State.Running}}' "$cid"
assert_eq true "$OUT" "container with the cgroup settings runs"
pass "--cpu-shares, --memory-reservation, --memory-swap in the container's cgroup"

# ---- devices: granted ones open, others refused by the device cgroup ----------------
dev=$(mktemp_dir)
mknod "$dev/test240" c 240 7   # a test major with no driver: open gives ENXIO once allowed
run_ok "${R[@]}" --device "$dev/test240:/dev/test240:rw" "$img" sh -c 'ls -l /dev/test240; cat /dev/test240 2>&1; true'
assert_contains "$OUT" "240,"
assert_contains "$OUT" "No such device or address"   # allowed by the cgroup, no driver behind
run_ok "${R[@]}" "$img" sh -c 'mknod /tmp/t c 240 7 && cat /tmp/t 2>&1; true'
assert_contains "$OUT" "Operation not permitted"     # not granted: the device cgroup refuses
run_ok "${R[@]}" --device-cgroup-rule 'c 240:* rwm' "$img" sh -c 'mknod /tmp/t c 240 9 && cat /tmp/t 2>&1; true'
assert_contains "$OUT" "No such device or address"   # granted by rule
run_expect_fail "${R[@]}" --device "$dev" "$img" true
assert_contains "$ERR" "not a device node"
run_expect_fail "${R[@]}" --device /dev/nosuch "$img" true
assert_contains "$ERR" '"/dev/nosuch"'
pass "--device and --device-cgroup-rule: granted devices open, the rest refused (EPERM)"

# ---- errors, --cidfile ------------------------------------------------------------------
run_expect_fail "${R[@]}" --group-add nosuchgroup "$img" true
assert_contains "$ERR" "unable to find group nosuchgroup"
run_expect_fail "${R[@]}" --sysctl vm.swappiness=1 "$img" true
assert_contains "$ERR" "not a namespaced sysctl"
run_expect_fail "${R[@]}" --memory-swap 1g "$img" true
assert_contains "$ERR" "needs --memory"
cidf="$dev/cid"
run_ok "${R[@]}" --cidfile "$cidf" "$img" true
[[ $(cat "$cidf") =~ ^[0-9a-f]{64}$ ]] || fail "--cidfile holds no id: $(cat "$cidf")"
run_expect_fail "${R[@]}" --cidfile "$cidf" "$img" true
assert_contains "$ERR" "container ID file found"
pass "bad flags refused with one line; --cidfile written, and never overwritten"

# ---- --security-opt seccomp=FILE (Docker's profile format), apparmor/label ------------
prof="$dev/profile.json"
cat >"$prof" <<'JSON'
{"defaultAction": "SCMP_ACT_ALLOW",
 "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
             {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}],
 "syscalls": [
   {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
   {"names": ["chmod", "fchmodat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1, "includes": {"caps": ["CAP_SYS_ADMIN"]}}
 ]}
JSON
same_inside "--security-opt seccomp=$prof" 'mkdir /tmp/x 2>&1; touch /tmp/f; chmod 600 /tmp/f && echo chmod-ok'
same_inside "--cap-add SYS_ADMIN --security-opt seccomp=$prof" 'touch /tmp/f; chmod 600 /tmp/f 2>&1 || echo chmod-denied'
run_ok "${R[@]}" --security-opt apparmor=unconfined --security-opt label=disable "$img" true
assert_contains "$ERR" "apparmor=unconfined is ignored"
echo '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOPE"}]}' >"$dev/bad.json"
run_expect_fail "${R[@]}" --security-opt "seccomp=$dev/bad.json" "$img" true
assert_contains "$ERR" "seccomp=$dev/bad.json: $dev/bad.json: syscalls[0].action"
run_expect_fail "${R[@]}" --security-opt "seccomp=$dev/missing.json" "$img" true
assert_contains "$ERR" "missing.json"
pass "--security-opt seccomp=FILE acts as podman's (caps-gated rules too); apparmor/label warn; bad files named"

# --userns: host is the host's user namespace (as podman's --userns=host); others refused.
same_inside "--userns=host" 'cat /proc/self/uid_map | tr -s " "'
run_expect_fail "${R[@]}" --userns=keep-id "$img" true
assert_contains "$ERR" 'unsupported --userns "keep-id"'
pass "--userns=host as podman's; other modes refused by name"
