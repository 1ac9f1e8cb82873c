#!/usr/bin/env bash
# The networking module (src/engine/network*.cpp) against the real kernel: bridges, veths,
# IPAM, NAT and published ports. Everything runs inside a scratch network namespace made
# here, which plays the host: the machine's own namespace is never changed.
source "$MINIRUN_SOURCE_DIR/tests/fixtures/lib.sh"
require_root
require_cmd ip iptables iptables-save iptables-restore nsenter

UNIT=${MINIRUN_UNIT_TESTS:-$(dirname "${MINIRUN_BIN:?MINIRUN_BIN is not set}")/tests/unit_tests}
[[ -x $UNIT ]] || fail "unit test binary not found: $UNIT"

NS=mrnet-$$
NSPATH=/var/run/netns/$NS
root_state() { # what of ours could show in the root namespace
  { iptables-save 2>/dev/null | grep -c minirun; ip -o link show | grep -cE ' (minirun0|br-[0-9a-f]{12}|mr[0-9a-f]{8}h|mrtout)[:@]'; } | tr '\n' ' '
}
before=$(root_state)

ip netns add "$NS" || fail "ip netns add $NS"
on_exit "ip netns delete '$NS'"
in_ns() { nsenter --net="$NSPATH" "$@"; }
in_ns ip link set lo up || fail "lo up in $NS"
# A host firewall that drops forwarded traffic by default (as with Docker installed):
# the module's own accept rules must carry container traffic.
in_ns iptables -w -P FORWARD DROP || fail "FORWARD policy"

# The driver's temp files (and its namespace mounts) live here; unmount leftovers at exit.
WORK=$(mktemp_dir)
on_exit "findmnt -rno TARGET | grep -F '$WORK/' | sort -r | xargs -r -n1 umount -l"

run_ok env TMPDIR="$WORK" MINIRUN_NETNS_TEST=1 nsenter --net="$NSPATH" "$UNIT" -tc='*network integration*'
echo "$OUT" | grep -E '^\[doctest\] (test cases|assertions)'
grep -qE 'test cases: +1 \| +1 passed \| +0 failed' <<<"$OUT" || fail "the network integration test case did not run and pass:
$OUT"
assert_not_contains "$OUT" "skipped: needs root"
pass "network module in namespace $NS"

# Nothing of ours leaked: no mounts, nothing new in the root namespace.
assert_eq "" "$(findmnt -rno TARGET | grep -F "$WORK/" || true)" "namespace mounts left behind"
assert_eq "$before" "$(root_state)" "root namespace changed"
pass "root namespace untouched"
