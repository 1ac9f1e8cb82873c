#!/usr/bin/env bash
# Several networks per container: `network connect` and `network disconnect` of running
# and stopped containers, as Docker does them. A further network is hot-plugged into the
# running namespace as eth1 (no default route); peers on it reach the container by name
# and alias (/etc/hosts and the embedded DNS at 127.0.0.11); inspect shows every network;
# restarts keep them; disconnecting the first network moves the default route and the
# published ports to the next, or leaves lo only. Inside a network namespace of its own.
source "$(dirname "$0")/common.sh"
require_root
require_cmd nsenter jq curl iptables-save

use_test_netns mr-ncon
on_exit 'for c in $(m ps -aq 2>/dev/null); do m rm -f "$c" >/dev/null 2>&1; done; m network rm front back >/dev/null 2>&1 || true'
run_ok mr pull -q "oci:$("$IMAGES" path busybox):latest"
IMG=$OUT
serve() { echo "mkdir -p /www && echo $1 > /www/index.html && exec httpd -f -p 80 -h /www"; }
addr_of() { m inspect -f "{{range \$k, \$v := .NetworkSettings.Networks}}{{if eq \$k \"$2\"}}{{\$v.IPAddress}}{{end}}{{end}}" "$1"; }

run_ok m network create --subnet 10.93.1.0/24 front
run_ok m network create --subnet 10.93.2.0/24 back
run_ok m run -d -q --name db --network back "$IMG" sh -c "$(serve db-answers)"
run_ok m run -d -q --name web --network front -p 18081:80 "$IMG" sh -c "$(serve web-answers)"
run_ok m run -d -q --name api --network front "$IMG" sleep 600
db_ip=$(addr_of db back)
[[ $db_ip == 10.93.2.* ]] || fail "db has no address on back: [$db_ip]"
run_expect_fail m exec api timeout 1 wget -q -O - "http://$db_ip/"
run_expect_fail m exec api nslookup db
pass "two networks, isolated from each other"

# Connect a running container: eth1 appears, the default route stays on front.
run_ok m network connect --alias store back api
run_ok m exec api sh -c 'ip -4 -o addr show; ip route'
assert_contains "$OUT" "eth0"
assert_contains "$OUT" "inet 10.93.2."
assert_contains "$OUT" "default via 10.93.1.1 dev eth0"
assert_not_contains "$OUT" "default via 10.93.2.1"
run_ok m exec api timeout 3 wget -q -O - http://db/
assert_eq db-answers "$OUT" "api reaches db by name over the new network"
run_ok m exec api nslookup db
assert_contains "$OUT" "Address: $db_ip"
web_ip=$(addr_of web front)
run_ok m exec api nslookup web
assert_contains "$OUT" "Address: $web_ip"
api_back=$(addr_of api back)
[[ $api_back == 10.93.2.* ]] || fail "inspect shows no back address for api: [$api_back]"
run_ok m exec db nslookup store
assert_contains "$OUT" "Address: $api_back"
run_ok m exec db cat /etc/hosts
assert_contains "$OUT" "$api_back	api"
out=$(m exec db nslookup web 2>&1 || true)
[[ $out != *"Address: $web_ip"* ]] || fail "db (back only) resolves web (front only)"
pass "connect of a running container: eth1 hot-plugged, names both ways (DNS and /etc/hosts), default route unchanged"

run_ok m inspect -f '{{len .NetworkSettings.Networks}} {{.NetworkSettings.Networks.back.Aliases}} {{.HostConfig.NetworkMode}}' api
assert_eq "2 [store] front" "$OUT" "inspect lists both networks"
run_ok m ps --filter name=^api$ --format '{{.Networks}}'
assert_eq "back,front" "$OUT" "ps lists both networks"
run_ok m ps --filter network=back --format '{{.Names}}'
assert_eq "$(printf 'api\ndb' | sort)" "$(sort <<<"$OUT")" "ps --filter network=back"
run_ok m network inspect back -f '{{range .Containers}}{{.Name}} {{end}}'
assert_contains "$OUT" "api"
assert_contains "$OUT" "db"
run_expect_fail m network connect back api
assert_contains "$ERR" "endpoint with name api already exists in network back"
run_expect_fail m network rm back
assert_contains "$ERR" "api"
run_expect_fail m network connect host api
assert_contains "$ERR" "host network"
run_expect_fail m network connect nosuchnet api
assert_contains "$ERR" "nosuchnet"
pass "inspect, ps and network inspect show both networks; Docker's refusals"

# Restart: both networks come back.
run_ok m stop -t 1 api
run_ok m start api
run_ok m exec api timeout 3 wget -q -O - http://db/
assert_eq db-answers "$OUT" "after a restart"
run_ok m exec api ip route
assert_contains "$OUT" "default via 10.93.1.1"
pass "a restart joins both networks again"

# Disconnect the further network while running.
run_ok m network disconnect back api
run_ok m exec api ip -4 -o addr show
assert_not_contains "$OUT" "10.93.2."
run_expect_fail m exec api nslookup db
run_ok m exec db cat /etc/hosts
assert_not_contains "$OUT" "api"
run_expect_fail m exec db nslookup store
run_expect_fail m network disconnect back api
assert_contains "$ERR" "is not connected to network back"
pass "disconnect of a running container: its address, names and hosts lines gone"

# Move a container with a published port from front to back: connect, then disconnect the first.
run_ok m network connect back web
run_ok m network disconnect front web
run_ok m exec web ip route
assert_contains "$OUT" "default via 10.93.2.1"
web_back=$(m inspect -f '{{.NetworkSettings.IPAddress}} {{.HostConfig.NetworkMode}}' web)
[[ $web_back == "10.93.2."*" back" ]] || fail "web did not move to back: [$web_back]"
body=$("${N[@]}" curl -s -m 3 http://127.0.0.1:18081/ || true)
assert_eq web-answers "$body" "the published port follows the container to its new first network"
run_ok m exec db timeout 3 wget -q -O - http://web/
assert_eq web-answers "$OUT" "db reaches the moved web by name"
run_ok m port web
assert_contains "$OUT" "80/tcp -> 0.0.0.0:18081"
pass "moving a container between networks: default route and published port follow"

# A stopped container: connect is recorded and made at its next start.
run_ok m create -q --name late --network front "$IMG" sleep 600
run_ok m network connect back late
run_ok m start late
run_ok m exec late timeout 3 wget -q -O - http://db/
assert_eq db-answers "$OUT" "late reaches db after its start"
run_ok m stop -t 1 late
run_ok m network disconnect back late
run_ok m start late
run_ok m exec late ip -4 -o addr show
assert_not_contains "$OUT" "10.93.2." "disconnected while stopped"
pass "connect and disconnect of a stopped container take effect at its start"

# Leaving the last network leaves lo only; connecting again gives it a first network.
run_ok m network disconnect front api
run_ok m exec api ip -o link show
assert_not_contains "$OUT" "eth"
run_ok m inspect -f '{{.HostConfig.NetworkMode}}' api
assert_eq none "$OUT" "no network left"
run_ok m network connect back api
run_ok m exec api sh -c 'ip route; timeout 3 wget -q -O - http://db/'
assert_contains "$OUT" "default via 10.93.2.1"
assert_contains "$OUT" "db-answers"
pass "leaving the last network leaves lo only; a later connect makes a first network again"

# The Ansible module: a container on two networks in one task (made on the first, joined to
# the second before it starts, as docker_container does); a second run changes nothing.
if command -v ansible >/dev/null; then
  wrap=$(mktemp_dir)
  printf '#!/bin/sh\nexec %s "%s" --storage "%s" "$@"\n' "${N[*]}" "$MINIRUN" "$STORE" >"$wrap/minirun"
  chmod +x "$wrap/minirun"
  args=$(jq -cn --arg img "$IMG" '{name: "multi", image: $img, command: ["sleep", "600"],
    networks: [{name: "front"}, {name: "back", aliases: ["multi-b"]}]}')
  task() { PATH="$wrap:$PATH" ANSIBLE_COLLECTIONS_PATH="$MINIRUN_SOURCE_DIR/ansible" ANSIBLE_HOME="$wrap/home" \
    ANSIBLE_LOCALHOST_WARNING=false ansible localhost -c local -m minirun.core.minirun_container -a "$args" 2>&1; }
  out=$(task) || fail "ansible minirun_container: $out"
  assert_contains "$out" "CHANGED"
  run_ok m inspect -f '{{.HostConfig.NetworkMode}} {{.NetworkSettings.Networks.back.Aliases}} {{.State.Running}}' multi
  assert_eq "front [multi-b] true" "$OUT" "the module's container on both networks"
  run_ok m exec db nslookup multi-b
  assert_contains "$OUT" "Address: 10.93.2."
  out=$(task) || fail "ansible minirun_container again: $out"
  assert_contains "$out" "SUCCESS"
  assert_not_contains "$out" "CHANGED"
  run_ok m rm -f multi
  pass "the Ansible module puts a container on two networks, idempotently"
fi

# A Compose service on two networks: api joins both tiers, web and db only their own.
proj=$(mktemp_dir)
cat >"$proj/compose.yaml" <<YAML
name: tiers
services:
  db:
    image: $IMG
    command: ["sh", "-c", "$(serve tier-db)"]
    networks: [backnet]
  api:
    image: $IMG
    command: ["sleep", "600"]
    networks:
      frontnet: {}
      backnet:
        aliases: [api-b]
  web:
    image: $IMG
    command: ["sleep", "600"]
    networks: [frontnet]
networks:
  frontnet:
  backnet:
YAML
run_ok m apply -f "$proj/compose.yaml" --format json
run_ok m exec tiers-api-1 timeout 3 wget -q -O - http://db/
assert_eq tier-db "$OUT" "api reaches db over backnet"
run_ok m exec tiers-api-1 nslookup web
assert_contains "$OUT" "Address:"
run_expect_fail m exec tiers-web-1 nslookup db
run_ok m exec tiers-db-1 nslookup api-b
assert_contains "$OUT" "Address:"
run_ok m ps --filter name=tiers-api-1 --format '{{.Networks}}'
assert_eq "tiers_backnet,tiers_frontnet" "$OUT" "api on both project networks"
run_ok m apply -f "$proj/compose.yaml" --format json
assert_eq false "$(jq -r .changed <<<"$OUT")" "a second apply changes nothing"
run_ok m down -f "$proj/compose.yaml"
run_ok m network ls --format '{{.Name}}'
assert_not_contains "$OUT" "tiers_"
pass "Compose: a service on two networks (aliases per network), idempotent, down removes both networks"

# Teardown leaves nothing: no veth in the test namespace, no rule for a removed container.
ids=$(m ps -aq --no-trunc)
# stop of several containers waits for them together and reports them in the order given.
run_ok m stop -t 0 api web db late
assert_eq "$(printf 'api\nweb\ndb\nlate')" "$OUT" "stop reports in the order given"
run_ok m ps -q
assert_eq "" "$OUT" "all stopped"
run_expect_fail m stop -t 0 nosuch api
assert_contains "$ERR" "no such container: nosuch"
assert_eq api "$OUT" "the others are still stopped"
run_ok m rm -f api web db late
run_ok m network rm front back
left=$("${N[@]}" ip -o link show | awk -F': ' '{print $2}' | grep '^mr' || true)
[[ -z $left ]] || fail "veths left: $left"
rules=$("${N[@]}" iptables-save 2>/dev/null || true)
for id in $ids; do [[ $rules != *"minirun:$id"* ]] || fail "rules of $id left"; done
pass "removing the containers and networks leaves no veth and no rule"
