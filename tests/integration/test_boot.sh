#!/usr/bin/env bash
# minirun boot (issue 11): a reboot simulated without rebooting. A Compose project (a
# store on a named volume with a published port, a client reaching it by service name)
# and `run --restart` containers are running; then every process of the "host" is
# killed, its mounts unmounted, its cgroups and runtime dir cleared and its network
# namespace replaced by a fresh one, as after a power cut. `minirun boot` must sweep that
# state and bring back exactly the containers that should run, with their networks,
# ports and data; a second boot changes nothing. Also: `generate systemd`.
source "$(dirname "$0")/common.sh"
require_root
require_cmd docker-registry jq nsenter curl
use_test_netns mr-boot
start_registry none
"$IMAGES" seed "$REGISTRY" busybox >/dev/null 2>&1 || fail "seeding busybox"
IMG=$REGISTRY/busybox:latest
run_ok mr pull -q "$IMG"

proj=$(mktemp_dir)
cat >"$proj/compose.yaml" <<YAML
name: bootp
services:
  store:
    image: $IMG
    command: ["sh", "-c", "mkdir -p /data && exec httpd -f -p 8080 -h /data"]
    volumes: [data:/data]
    ports: ["18080:8080"]
  client:
    image: $IMG
    command: ["sh", "-c", "while :; do wget -q -O /tmp/got http://store:8080/file; sleep 0.3; done"]
    depends_on: [store]
volumes:
  data:
YAML
run_ok m apply -f "$proj/compose.yaml"
run_ok m exec bootp-store-1 sh -c 'echo kept-across-reboot > /data/file'
run_ok m run -d -q --name always --restart always "$IMG" sleep 1000
run_ok m run -d -q --name plain "$IMG" sleep 1000
run_ok m run -d -q --name stopped --restart unless-stopped "$IMG" sleep 1000
run_ok m stop -t 1 stopped
run_ok m run -d -q --name gone --rm "$IMG" sleep 1000

# wait_for DESC CMD...: retries CMD for up to 10 s.
wait_for() {
  local desc=$1; shift
  for _ in $(seq 100); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  fail "timed out waiting: $desc"
}
client_got_data() { [[ $(m exec bootp-client-1 cat /tmp/got 2>/dev/null) == kept-across-reboot ]]; }
port_answers() { [[ $("${N[@]}" curl -s -m 2 http://127.0.0.1:18080/file) == kept-across-reboot ]]; }
wait_for "client reads the store by service name" client_got_data
wait_for "published port answers" port_answers
pass "before: project, restart policies and a published port in place"

ids=$(mr ps -aq --no-trunc)
# Everything a power cut takes away: processes (supervisors live in the test netns,
# container processes in their cgroups), mounts under the store, cgroups, the runtime
# dir, and the network namespace with its bridge, veths and rules.
source "$FIXTURES/power_cut.sh"
simulate_reboot() {
  # shellcheck disable=SC2046,SC2086
  kill_all $(ip netns pids "$ns") $(container_cgroup_pids $ids) || fail "processes survived SIGKILL"
  { grep -o " ${STORE}[^ ]*" /proc/mounts || true; } | sort -r | xargs -r -n1 umount -l
  # shellcheck disable=SC2086
  remove_container_cgroups $ids
  rm -rf --one-file-system "${STORE:?}/run"
  ip netns delete "$ns"
  ip netns add "$ns"
  ip -n "$ns" link set lo up
}
simulate_reboot
[[ -z $(ip netns pids "$ns") ]] || fail "processes left in the test netns"
grep -q " $STORE" /proc/mounts && fail "mounts left under the store"
# (inspect, not ps: ps reaps dead --rm containers itself, and boot's sweep is under test)
for c in always plain bootp-store-1 bootp-client-1; do
  assert_eq exited "$(mr inspect "$c" | jq -r '.[0].State.Status')" "after the power cut $c reads as exited"
done
pass "power cut simulated: no process, mount, cgroup, runtime dir or network left"

run_ok m boot --format json
boot_json=$OUT
action() { jq -r --arg n "$1" '[.containers[] | select(.container == $n) | .action] | join(",")' <<<"$boot_json"; }
assert_eq "swept,started" "$(action always)" "restart=always comes back"
assert_eq "swept,started" "$(action bootp-store-1)" "apply's containers come back"
assert_eq "swept,started" "$(action bootp-client-1)"
assert_eq "swept" "$(action plain)" "no restart policy: swept, not started"
assert_eq "" "$(action stopped)" "stopped by the user: left alone"
assert_eq "removed" "$(action gone)" "--rm: removed"
run_expect_fail mr inspect gone
for c in always bootp-store-1 bootp-client-1; do
  assert_eq running "$(mr inspect "$c" | jq -r '.[0].State.Status')" "$c running after boot"
done
assert_eq exited "$(mr inspect plain | jq -r '.[0].State.Status')"
assert_eq exited "$(mr inspect stopped | jq -r '.[0].State.Status')"
wait_for "client reads the store by service name after boot" client_got_data
wait_for "published port answers after boot" port_answers
pass "boot: swept the stale state, started always/unless-stopped/apply's containers with network, port and volume data"

t_store=$(mr inspect bootp-store-1 | jq -r '.[0].State.StartedAt')
run_ok m boot --format json
assert_eq "[]" "$(jq -c .containers <<<"$OUT")" "second boot: nothing to do"
assert_eq "$t_store" "$(mr inspect bootp-store-1 | jq -r '.[0].State.StartedAt')" "second boot restarted nothing"
run_ok m apply -f "$proj/compose.yaml" --format json
assert_eq false "$(jq -r .changed <<<"$OUT")" "apply after boot: the project is as declared"
pass "second boot and apply after boot change nothing"

run_ok mr generate systemd plain
unit=$OUT
assert_contains "$unit" "ExecStart=$MINIRUN --storage $STORE start --pidfile %t/minirun-plain.pid plain"
assert_contains "$unit" "PIDFile=%t/minirun-plain.pid"
assert_contains "$unit" "Type=forking"
assert_contains "$unit" "WantedBy=multi-user.target"
run_ok mr generate systemd always
assert_contains "$ERR" "restart policy"
# The unit's own commands work: ExecStart with the pid file, then ExecStop.
pidfile=$(mktemp_dir)/plain.pid
run_ok m start --pidfile "$pidfile" plain
[[ -s $pidfile ]] && kill -0 "$(cat "$pidfile")" || fail "start --pidfile: no live pid in $pidfile"
run_ok m stop -t 1 plain
pass "generate systemd: a forking unit whose ExecStart/PIDFile work"
