#!/usr/bin/env bash
# `minirun events` (issue 14): the journal holds Docker's lifecycle sequence for a
# container (create, start, die with its exit code, kill/stop, rename, destroy), volumes
# and images; --since/--until bound it, filters combine as Docker's, --format renders
# Docker's event JSON; without --until new events are followed as they happen, including
# those a detached container's supervisor writes; bad flags are one-line errors.
source "$(dirname "$0")/common.sh"
require_root

IMG=$("$IMAGES" path busybox)
run_ok mr pull -q "oci:$IMG:latest"
img=$OUT
on_exit 'for c in $(mr ps -aq 2>/dev/null); do mr rm -f "$c" >/dev/null 2>&1; done'

t0=$(date +%s.%N)
mr run --network none --name ev1 --label tier=web "$img" sh -c 'exit 3' || [[ $? == 3 ]] || fail "run ev1"
run_ok mr run -d --network none --name ev2 "$img" sleep 60
run_ok mr stop -t 1 ev2
run_ok mr rename ev1 ev1b
run_ok mr rm ev1b ev2
run_ok mr volume create evvol
run_ok mr volume rm evvol
run_ok mr tag "$img" demo/ev:1
run_ok mr rmi demo/ev:1
sleep 0.3
t1=$(date +%s.%N)

run_ok mr events --since "$t0" --until "$t1" --format '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}'
# ev2's sleep ignores SIGTERM as pid 1: stop sends it, then SIGKILL (two kill events, as
# Docker's); a volume event has no name attribute (Go prints <no value>).
assert_eq "container create ev1
container start ev1
container die ev1
container create ev2
container start ev2
container kill ev2
container kill ev2
container die ev2
container stop ev2
container rename ev1b
container destroy ev1b
container destroy ev2
volume create <no value>
volume destroy <no value>
image tag docker.io/demo/ev:1
image untag docker.io/demo/ev:1" "$OUT" "Docker's sequence"
pass "the journal holds create/start/die/kill/stop/rename/destroy, volumes and images"

ev() { run_ok mr events --since "$t0" --until "$t1" "$@"; }
ev --filter container=ev1 --filter event=die --format '{{.Actor.Attributes.exitCode}} {{.Actor.Attributes.tier}}'
assert_eq "3 web" "$OUT" "die carries the exit code and the container's labels"
ev --filter event=start --filter event=destroy --filter type=container --format "{{.Action}}"
assert_eq $'start\nstart\ndestroy\ndestroy' "$OUT" "one key's values: any"
ev --filter type=volume --filter event=create --format '{{.Actor.ID}}'
assert_eq evvol "$OUT" "keys: all"
ev --filter label=tier=web --format '{{.Action}}'
assert_eq $'create\nstart\ndie\nrename\ndestroy' "$OUT" "label=K=V"
ev --filter image="$img" --filter event=create --format '{{.Actor.Attributes.name}}'
assert_eq $'ev1\nev2' "$OUT" "image= matches the containers of that image"
ev --format json --filter event=rename
assert_eq "/ev1" "$(jq -r '.Actor.Attributes.oldName' <<<"$OUT")" "rename's oldName"
assert_eq rename "$(jq -r '.status' <<<"$OUT")" "Docker's status field"
[[ $(jq -r '.timeNano' <<<"$OUT") =~ ^[0-9]{19}$ ]] || fail "timeNano: $OUT"
ev --filter event=create
[[ $OUT =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{9}Z\ container\ create\ [0-9a-f]{64}\ \(image=.*name=ev1 ]] ||
  fail "Docker's text line: $OUT"
run_ok mr events --since "$t1" --until "$(date +%s.%N)"
assert_eq "" "$OUT" "nothing after --since"
pass "--filter, --format and Docker's line"

# Following: events appear as they happen, the supervisor's too.
out=$(mktemp_dir)/follow
# Not through the mr function: $! must be minirun itself, not a subshell around it.
"$MINIRUN" --storage "$STORE" events --filter container=evf --format "{{.Action}}" >"$out" &
follower=$!
on_exit "kill $follower 2>/dev/null || true"
sleep 0.5
run_ok mr run -d --network none --name evf "$img" sh -c 'sleep 0.3; exit 5'
for _ in $(seq 50); do grep -q die "$out" && break; sleep 0.1; done
run_ok mr rm evf
for _ in $(seq 50); do grep -q destroy "$out" && break; sleep 0.1; done
kill "$follower"
wait "$follower" 2>/dev/null || true
assert_eq $'create\nstart\ndie\ndestroy' "$(<"$out")" "followed live"
pass "events without --until follow the journal"

run_expect_fail mr events --filter colour=red --until 1
assert_contains "$ERR" 'invalid filter "colour=red"'
run_expect_fail mr events --since yesterday --until 1
assert_contains "$ERR" 'invalid --since "yesterday"'
pass "bad filters and times are one-line errors"

# Networks: create, connect, disconnect, destroy (Docker's actor: the network; the
# container named). In a namespace of our own: a connect makes a bridge.
use_test_netns mr-ev
t2=$(date +%s.%N)
run_ok m network create --subnet 10.93.0.0/24 evnet
netid=$OUT
run_ok m run --rm -q --network evnet --name evc "$img" true
run_ok m network rm evnet
sleep 0.3
t3=$(date +%s.%N)
run_ok m events --since "$t2" --until "$t3" --filter type=network --format '{{.Action}} {{.Actor.ID}} {{.Actor.Attributes.name}}'
assert_eq "create $netid evnet
connect $netid evnet
disconnect $netid evnet
destroy $netid evnet" "$OUT" "network events"
run_ok m events --since "$t2" --until "$t3" --filter network=evnet --filter event=connect --format '{{.Actor.Attributes.container}}'
[[ $OUT =~ ^[0-9a-f]{64}$ ]] || fail "connect event names no container: $OUT"
pass "network create, connect, disconnect and destroy events, filtered by network name"
