#!/usr/bin/env bash
# The embedded DNS of user-defined networks: containers ask 127.0.0.11, which answers
# the members' names, aliases and addresses (A and PTR, over UDP and TCP) and forwards
# the rest to the container's --dns server (a real dnsmasq here); names follow stops,
# starts and renames; the default bridge keeps the host's nameservers; the resolver is
# one process per network and leaves with the network's last container.
source "$(dirname "$0")/common.sh"
require_root
require_cmd nsenter dnsmasq python3 jq

use_test_netns mr-dns
on_exit 'for c in $(m ps -aq 2>/dev/null); do m rm -f "$c" >/dev/null 2>&1; done; m network rm dnsnet >/dev/null 2>&1'
run_ok mr pull -q "oci:$("$IMAGES" path busybox):latest"
IMG=$OUT

# An upstream: dnsmasq on 127.0.0.1:53 of the test namespace, knowing one name.
up=$(mktemp_dir)
"${N[@]}" dnsmasq --keep-in-foreground --no-resolv --no-hosts --no-dhcp-interface=lo --bind-interfaces \
  --listen-address=127.0.0.1 --port=53 --user=root --pid-file="$up/pid" \
  --host-record=upstream.test,10.20.30.40,fd00::1 --log-queries --log-facility="$up/log" &
up_pid=$!
on_exit "kill $up_pid 2>/dev/null"
for _ in $(seq 50); do [[ -s $up/pid ]] && break; sleep 0.05; done

run_ok m network create --subnet 10.91.0.0/24 dnsnet
run_ok m run -d -q --name web --network dnsnet --network-alias www "$IMG" sleep 600
run_ok m run -d -q --name api --network dnsnet --dns 127.0.0.1 "$IMG" sleep 600
web_ip=$(m inspect -f '{{.NetworkSettings.IPAddress}}' web)
[[ $web_ip == 10.91.0.* ]] || fail "web has no address on dnsnet: $web_ip"
resolver=$(pgrep -f "^$(dirname "$MINIRUN")/minirun-dns $STORE/networks dnsnet" || true)
[[ $(wc -w <<<"$resolver") == 1 ]] || fail "expected one resolver for dnsnet, found [$resolver]"

run_ok m exec api cat /etc/resolv.conf
assert_contains "$OUT" "nameserver 127.0.0.11"
assert_contains "$OUT" "ndots:0"
assert_not_contains "$OUT" "nameserver 127.0.0.1
" "the --dns server is the resolver's upstream, not the container's"
run_ok m exec api nslookup web
assert_contains "$OUT" "Address: $web_ip"
run_ok m exec api nslookup www
assert_contains "$OUT" "Address: $web_ip"
run_ok m exec api nslookup WEB.
assert_contains "$OUT" "Address: $web_ip"
run_ok m exec api nslookup "$web_ip"
assert_contains "$OUT" "name = web"
pass "names and aliases answer from 127.0.0.11 (nslookup, not /etc/hosts), PTR too"

run_ok m exec api nslookup upstream.test
assert_contains "$OUT" "Address: 10.20.30.40"
grep -q "query\[A\] upstream.test" "$up/log" 2>/dev/null || fail "dnsmasq did not see the forwarded query"
run_expect_fail m exec web nslookup upstream.test
pass "other names are forwarded to the container's --dns server (dnsmasq saw the query); web's own upstreams know no such name"

# TCP, as a client falls back to it for long answers: a query from the container's namespace.
api_ns=$STORE/containers/$(m inspect -f '{{.Id}}' api)/netns
tcp_answer=$(nsenter --net="$api_ns" python3 - <<'EOF'
import socket, struct
q = struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0) + b"\x03www\x00" + struct.pack(">HH", 1, 1)
s = socket.create_connection(("127.0.0.11", 53), timeout=3)
s.sendall(struct.pack(">H", len(q)) + q)
n = struct.unpack(">H", s.recv(2))[0]
r = b""
while len(r) < n:
    r += s.recv(n - len(r))
ident, flags, qd, an = struct.unpack(">HHHH", r[:8])
print(ident == 0x4242, an, socket.inet_ntoa(r[-4:]))
EOF
) || fail "TCP query to 127.0.0.11"
assert_eq "True 1 $web_ip" "$tcp_answer" "the TCP answer"
pass "DNS over TCP answers too"

# --ip, --mac-address and --link on the same network.
run_ok m run -d -q --name fixed --network dnsnet --ip 10.91.0.50 --mac-address 02:aa:bb:cc:dd:ee --link web:db "$IMG" sleep 600
run_ok m exec fixed sh -c 'ip -4 -o addr show eth0; cat /sys/class/net/eth0/address; grep db /etc/hosts'
assert_contains "$OUT" "10.91.0.50/24"
assert_contains "$OUT" "02:aa:bb:cc:dd:ee"
assert_contains "$OUT" "$web_ip	db web"
run_ok m inspect -f '{{.NetworkSettings.IPAddress}} {{.NetworkSettings.MacAddress}}' fixed
assert_eq "10.91.0.50 02:aa:bb:cc:dd:ee" "$OUT" "inspect shows the asked address and MAC"
run_ok m exec api nslookup fixed
assert_contains "$OUT" "Address: 10.91.0.50"
run_expect_fail m run --rm -q --network dnsnet --ip 10.91.0.50 "$IMG" true
assert_contains "$ERR" "address 10.91.0.50 is already in use"
run_expect_fail m run --rm -q --network dnsnet --ip 10.92.0.5 "$IMG" true
assert_contains "$ERR" "not a host address of 10.91.0.0/24"
run_expect_fail m run --rm -q --ip 172.17.0.9 "$IMG" true
assert_contains "$ERR" "user specified IP address is supported on user defined networks only"
run_expect_fail m run --rm -q --network dnsnet --mac-address 01:00:5e:00:00:01 "$IMG" true
assert_contains "$ERR" "multicast"
run_expect_fail m run --rm -q --network dnsnet --link nosuch:x "$IMG" true
assert_contains "$ERR" "nosuch"
run_ok m rm -f fixed
pass "--ip, --mac-address and --link (an /etc/hosts alias) as Docker's, with Docker's refusals"

# Names follow the network: a stopped container's name goes, a renamed one answers to the new.
run_ok m stop -t 0 web
run_expect_fail m exec api nslookup web
run_ok m start web
run_ok m rename web front
web_ip=$(m inspect -f '{{.NetworkSettings.IPAddress}}' front)
run_ok m exec api nslookup front
assert_contains "$OUT" "Address: $web_ip"
run_ok m stop -t 0 api
run_ok m start api
run_ok m exec api nslookup www
assert_contains "$OUT" "Address: $web_ip"
[[ $(pgrep -f "^$(dirname "$MINIRUN")/minirun-dns $STORE/networks dnsnet") == "$resolver" ]] || fail "the resolver was replaced"
rss=$(awk '/VmRSS/ {print $2}' "/proc/$resolver/status")
pass "stops, starts, renames and a restarted client are followed by the one resolver (RSS ${rss} kB)"

# The default bridge keeps the host's nameservers, as Docker's does.
run_ok m run --rm -q "$IMG" cat /etc/resolv.conf
assert_not_contains "$OUT" "127.0.0.11"
pass "the default bridge has no embedded DNS"

run_ok m rm -f front api
for _ in $(seq 50); do kill -0 "$resolver" 2>/dev/null || break; sleep 0.1; done
kill -0 "$resolver" 2>/dev/null && fail "the resolver outlived the network's last container"
run_ok m run -d -q --name again --network dnsnet "$IMG" sleep 600
run_ok m exec again nslookup again
assert_contains "$OUT" "Address: 10.91.0."
run_ok m rm -f again
pass "the resolver leaves with the last container and comes back with the next"
