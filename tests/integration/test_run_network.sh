#!/usr/bin/env bash
# Networks for `minirun run`: the default bridge with -p (busybox httpd answering curl,
# also on 127.0.0.1), a user-defined network where containers reach each other by name
# (names follow starts and stops), host and none, and --rm leaving no veth or NAT rule.
# Everything happens inside a network namespace this test creates.
source "$(dirname "$0")/common.sh"
require_root
require_cmd docker-registry skopeo jq nsenter curl iptables-save

use_test_netns mr-net
on_exit 'for n in $(m network ls 2>/dev/null | awk "NR>1 {print \$2}"); do m network rm "$n" >/dev/null 2>&1; done'
# (a fresh host may have no rules at all: grep finding nothing is not a failure)
root_rules() { iptables-save 2>/dev/null | { grep -v '^#' || true; } | sort | sha256sum; }
root_rules_before=$(root_rules)
root_links_before=$(ip -o link | awk -F': ' '{print $2}' | sort | sha256sum)

# The registry listens inside the test namespace: `run` pulls on first use through it.
dir=$(mktemp_dir)
vars=$("${N[@]}" "$FIXTURES/registry.sh" start none "$dir") || fail "registry in the namespace"
eval "$vars"
on_exit "'$FIXTURES/registry.sh' stop '$dir'"
"${N[@]}" "$IMAGES" seed "$REGISTRY" busybox >/dev/null 2>&1 || fail "seeding busybox"
IMG=$REGISTRY/busybox:latest

# Default bridge, -p, pull on first use
run_ok m run -d -q --name web -p 18080:80 "$IMG" sh -c 'mkdir -p /www && echo hello-from-httpd > /www/index.html && exec httpd -f -p 80 -h /www'
ip=$(m inspect web | jq -r '.[0].NetworkSettings.IPAddress')
[[ $ip == 172.* ]] || fail "no bridge address: $ip"
body=""
for _ in $(seq 50); do body=$("${N[@]}" curl -s -m 2 "http://$ip:80/" || true); [[ -n $body ]] && break; sleep 0.1; done
assert_eq hello-from-httpd "$body" "direct to the container"
assert_eq hello-from-httpd "$("${N[@]}" curl -s -m 2 http://127.0.0.1:18080/)" "published port on 127.0.0.1"
host_ip=$("${N[@]}" ip -4 -o addr show minirun0 | awk '{print $4}' | cut -d/ -f1)
assert_eq hello-from-httpd "$("${N[@]}" curl -s -m 2 "http://$host_ip:18080/")" "published port on the bridge address"
run_ok m ps
assert_contains "$OUT" "0.0.0.0:18080->80/tcp"
# `port` as Docker prints it.
run_ok m port web
assert_eq "80/tcp -> 0.0.0.0:18080" "$OUT" "port lists the mapping"
run_ok m port web 80/tcp
assert_eq "0.0.0.0:18080" "$OUT" "port PRIVATE gives the host address"
run_expect_fail m port web 81
assert_contains "$ERR" "no public port '81/tcp' published for web"
run_ok m run --rm -q "$IMG" sh -c "wget -q -O - http://$ip/"
assert_eq hello-from-httpd "$OUT" "container to container on the default bridge"
run_ok m run --rm -q "$IMG" cat /etc/resolv.conf
assert_contains "$OUT" "nameserver"
pass "default bridge: -p reachable with curl (127.0.0.1 and bridge address), outbound, resolv.conf"

# -P publishes every EXPOSEd port on a random host port (an image made with umoci).
exposed=$(mktemp_dir)/layout
cp -a "$("$IMAGES" path busybox)" "$exposed"
umoci config --image "$exposed:latest" --config.exposedports 80/tcp >/dev/null || fail "umoci config"
"${N[@]}" skopeo copy -q --dest-tls-verify=false "oci:$exposed:latest" "docker://$REGISTRY/exposed:latest" || fail "seeding exposed"
run_ok m run -d -q --name pall -P "$REGISTRY/exposed:latest" sh -c 'mkdir -p /www && echo via-P > /www/index.html && exec httpd -f -p 80 -h /www'
# Docker's shape: {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "…"}]}
mapping=$(m inspect pall | jq -c '.[0].NetworkSettings.Ports')
hport=$(jq -r '.["80/tcp"][0].HostPort' <<<"$mapping")
assert_eq 0.0.0.0 "$(jq -r '.["80/tcp"][0].HostIp' <<<"$mapping")" "-P binds every address"
[[ $hport =~ ^[0-9]+$ && $hport != 0 ]] || fail "-P mapping: $mapping"
body=""
for _ in $(seq 50); do body=$("${N[@]}" curl -s -m 2 "http://127.0.0.1:$hport/" || true); [[ -n $body ]] && break; sleep 0.1; done
assert_eq via-P "$body" "-P random host port"
run_ok m rm -f pall
pass "-P publishes EXPOSEd ports on random host ports ($mapping)"

# User-defined network: by-name resolution, following starts and stops
run_ok m network create --subnet 10.89.0.0/24 appnet
run_ok m network ls
assert_contains "$OUT" "appnet"
run_ok m run -d -q --name db --network appnet "$IMG" sh -c 'mkdir -p /w && echo db-answers > /w/index.html && exec httpd -f -p 80 -h /w'
run_ok m run --rm -q --network appnet "$IMG" sh -c 'wget -q -O - http://db/'
assert_eq db-answers "$OUT" "reach db by name"
run_ok m run -d -q --name api --network appnet "$IMG" sleep 300
run_ok m exec api cat /etc/hosts
assert_contains "$OUT" "db"
run_ok m stop -t 0 db
run_ok m exec api cat /etc/hosts
assert_not_contains "$OUT" "	db" "a stopped container's name leaves its peers' hosts"
run_ok m start db
run_ok m exec api sh -c 'wget -q -O - http://db/'
assert_eq db-answers "$OUT" "name back after start"
run_expect_fail m network rm appnet
assert_contains "$ERR" "appnet"
run_ok m network inspect appnet
assert_contains "$OUT" "10.89.0.0/24"
pass "user network: containers reach each other by name, names follow stops and starts"

# rename: peers resolve the new name at once, the old one no longer
run_ok m rename db store
run_ok m exec api sh -c 'wget -q -O - http://store/'
assert_eq db-answers "$OUT" "reach the renamed container by its new name"
run_ok m exec api cat /etc/hosts
assert_not_contains "$OUT" "	db" "the old name left the peers' hosts"
run_ok m ps --filter name=^store$ --format '{{.Names}} {{.State}}'
assert_eq "store running" "$OUT" "ps shows the new name"
run_expect_fail m rename store api
assert_contains "$ERR" 'the container name "api" is already in use by container'
run_expect_fail m rename store ../x
assert_contains "$ERR" 'invalid container name "../x"'
run_ok m container rename store db
run_ok m exec api sh -c 'wget -q -O - http://db/'
assert_eq db-answers "$OUT" "renamed back (container rename)"
pass "rename: the new name resolves on the network at once; taken and invalid names refused"

# host and none
run_ok m run --rm -q --network host "$IMG" sh -c 'ls /sys/class/net'
assert_contains "$OUT" "minirun0" "host network sees the namespace's links"
run_ok m run --rm -q --network none "$IMG" sh -c 'ls /sys/class/net'
assert_eq lo "$OUT"
pass "host and none networks"

# --rm and rm leave no veth, NAT rule, mount or state
run_ok m rm -f web db api
run_ok m run --rm -q -p 18081:80 "$IMG" true
[[ -z $("${N[@]}" ip -o link | grep -E 'mr[0-9a-f]+h') ]] || fail "veth left: $("${N[@]}" ip -o link)"
rules=$("${N[@]}" iptables-save | grep -c 'minirun:[0-9a-f]' || true)
assert_eq 0 "$rules" "per-container NAT rules left"
! grep -q "$STORE" /proc/mounts || fail "mounts left: $(grep "$STORE" /proc/mounts)"
assert_eq "" "$(ls "$STORE/containers")" "container records left"
run_ok m network rm appnet
pass "--rm and rm leave no veth, NAT rule, mount or record"

assert_eq "$root_rules_before" "$(root_rules)" "the root namespace's netfilter changed"
assert_eq "$root_links_before" "$(ip -o link | awk -F': ' '{print $2}' | sort | sha256sum)" "the root namespace's links changed"
pass "the machine's root network namespace is untouched"

# A Flask service from the Debian-based test image (debootstrap minbase + python3-flask,
# built offline by tests/fixtures/debian_images.sh) answers HTTP through -p.
DEBIAN="$MINIRUN_SOURCE_DIR/tests/fixtures/debian_images.sh"
"${N[@]}" "$DEBIAN" seed "$REGISTRY" debian-python >/dev/null 2>&1 || fail "seeding debian-python"
run_ok m run -d -q --name users -p 15000:5000 -e PORT=5000 -v "$MINIRUN_SOURCE_DIR/images/users:/app:ro" -w /app \
  "$REGISTRY/debian-python:latest" python3 app.py
health=""
for _ in $(seq 100); do health=$("${N[@]}" curl -s -m 2 http://127.0.0.1:15000/health || true); [[ -n $health ]] && break; sleep 0.1; done
[[ $(jq -r .status <<<"$health") == ok && $(jq -r .service <<<"$health") == users ]] || fail "users /health: $health $(m logs users 2>&1 | tail -5)"
code=$("${N[@]}" curl -s -o /dev/null -w '%{http_code}' -m 5 http://127.0.0.1:15000/users || true)
assert_eq 503 "$code" "no MongoDB: the data endpoints say so"
run_ok m rm -f users
pass "Flask users service from the Debian image answers /health through -p"
