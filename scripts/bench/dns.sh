#!/usr/bin/env bash
# The embedded DNS of a user-defined network (minirun-dns) against dnsmasq (Debian's
# dnsmasq-base) answering the same names from a hosts file: both queried over UDP from
# the same container's namespace by one client, sequentially. Prints the median and p99
# latency per query, the resolver's resident memory with CONTAINERS members, and ratios.
# Everything runs inside a network namespace this script creates.
set -euo pipefail
cd "$(dirname "$0")/../.."
CONTAINERS=${CONTAINERS:-10}
QUERIES=${QUERIES:-2000}
MINIRUN=${MINIRUN_BIN:-$PWD/build/minirun}
for c in dnsmasq python3 nsenter; do command -v "$c" >/dev/null || { echo "dns.sh: needs $c (apt-get install -y dnsmasq-base python3 util-linux)" >&2; exit 1; }; done
[ -x "$MINIRUN" ] || { echo "dns.sh: $MINIRUN not built (scripts/build.sh)" >&2; exit 1; }
[[ $CONTAINERS =~ ^[1-9][0-9]*$ && $CONTAINERS -le 100 ]] || { echo "dns.sh: CONTAINERS must be 1..100" >&2; exit 1; }

work=$(mktemp -d /tmp/mrbd.XXXXXX)
ns=mr-bench-dns-$$
ip netns add "$ns"
ip -n "$ns" link set lo up
N=(nsenter "--net=/var/run/netns/$ns")
m() { "${N[@]}" "$MINIRUN" --storage "$work/store" "$@"; }
dnsmasq_pid=""
cleanup() {
  [[ -n $dnsmasq_pid ]] && kill "$dnsmasq_pid" 2>/dev/null
  for c in $(m ps -aq 2>/dev/null); do m rm -f "$c" >/dev/null 2>&1; done
  m network rm benchdns >/dev/null 2>&1 || true
  ip netns delete "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

img=$(m pull -q "oci:$(bash tests/fixtures/images.sh path busybox):latest")
m network create benchdns >/dev/null
for i in $(seq "$CONTAINERS"); do m run -d -q --name "c$i" --network benchdns "$img" sleep 3600 >/dev/null; done
client_ns=$work/store/containers/$(m inspect -f '{{.Id}}' c1)/netns
resolver=$(pgrep -f "^$(dirname "$MINIRUN")/minirun-dns $work/store/networks benchdns")

# The peer: dnsmasq in the client's namespace on 127.0.0.12, the same names from a hosts file.
for i in $(seq "$CONTAINERS"); do echo "$(m inspect -f '{{.NetworkSettings.IPAddress}}' "c$i") c$i"; done >"$work/hosts"
nsenter --net="$client_ns" dnsmasq --keep-in-foreground --no-resolv --no-hosts --addn-hosts="$work/hosts" \
  --bind-interfaces --listen-address=127.0.0.12 --port=53 --user=root --pid-file="$work/dnsmasq.pid" &
dnsmasq_pid=$!
for _ in $(seq 50); do [[ -s $work/dnsmasq.pid ]] && break; sleep 0.05; done

measure() {  # SERVER: "median p99" latency in microseconds
  nsenter --net="$client_ns" python3 - "$1" "$QUERIES" "$CONTAINERS" <<'EOF'
import socket, struct, sys, time
server, n, members = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
lat = []
for i in range(n):
    name = f"c{i % members + 1}".encode()
    q = struct.pack(">HHHHHH", i & 0xffff, 0x0100, 1, 0, 0, 0) + bytes([len(name)]) + name + b"\0" + struct.pack(">HH", 1, 1)
    t = time.perf_counter()
    s.sendto(q, (server, 53))
    r = s.recv(512)
    lat.append(time.perf_counter() - t)
    if struct.unpack(">H", r[6:8])[0] < 1:
        sys.exit(f"{server}: no answer for {name.decode()}")
lat.sort()
print(f"{lat[len(lat) // 2] * 1e6:.0f} {lat[int(len(lat) * 0.99)] * 1e6:.0f}")
EOF
}
read -r ours_med ours_p99 <<<"$(measure 127.0.0.11)"
read -r peer_med peer_p99 <<<"$(measure 127.0.0.12)"
ours_rss=$(awk '/VmRSS/ {print $2}' "/proc/$resolver/status")
peer_rss=$(awk '/VmRSS/ {print $2}' "/proc/$dnsmasq_pid/status")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "dns.sh: $CONTAINERS members, $QUERIES A queries each ($(awk -v n="$(nproc)" '{printf "load %s on %d cpus", $1, n}' /proc/loadavg))"
printf '%-22s %12s %12s %10s\n' "" "median (us)" "p99 (us)" "RSS (kB)"
printf '%-22s %12s %12s %10s\n' "minirun-dns" "$ours_med" "$ours_p99" "$ours_rss"
printf '%-22s %12s %12s %10s\n' "dnsmasq" "$peer_med" "$peer_p99" "$peer_rss"
printf '%-22s %12s %12s %10s\n' "ratio (ours/dnsmasq)" "$(ratio "$ours_med" "$peer_med")" "$(ratio "$ours_p99" "$peer_p99")" "$(ratio "$ours_rss" "$peer_rss")"
