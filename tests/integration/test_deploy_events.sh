#!/usr/bin/env bash
# The events platform (issue 12) on three simulated hosts (tests/hosts/hosts.sh), deployed
# the way its authors did it: Ansible over SSH with the minirun.core collection, then the
# Vagrant-style path with minirun-provision. users, events and transactions, one per host
# on port 80; transactions checks the other two over HTTP; no MongoDB answers, and each
# service says so. Shown: a second playbook run reports changed=0; check mode changes
# nothing; a new image of one service recreates only it; kill -9 of a service's process is
# repaired by its restart policy; a reboot of a host brings its service back by itself.
source "$(dirname "$0")/common.sh"
source "$(dirname "$0")/hosts_common.sh"
require_root
IMGBUILD=${IMGBUILD_BIN:?}
use_hosts 3
A1=$(H addr h1) A2=$(H addr h2) A3=$(H addr h3)
start_hosts_registry debian-python
BSTORE=$(mktemp_dir) BCONFIG=$(mktemp_dir)
ib() { H control env DOCKER_CONFIG="$BCONFIG" "$IMGBUILD" --storage "$BSTORE" --insecure-registry "$REGISTRY" "$@"; }
printf '%s' "$REGISTRY_PASSWORD" | ib login -u "$REGISTRY_USER" --password-stdin "$REGISTRY" >/dev/null || fail "login"
for svc in users events transactions; do
  run_ok ib build -q -t "$REGISTRY/seed/$svc:1.0" --build-arg "BASE=$REGISTRY/debian-python:latest" "$MINIRUN_SOURCE_DIR/images/$svc"
  run_ok ib push -q "$REGISTRY/seed/$svc:1.0"
done
pass "three hosts with sshd; images built and pushed to the registry on the hosts' bridge"

# ---- Ansible path --------------------------------------------------------------------
work=$(mktemp_dir)
ansible_inventory users=h1 events=h2 transactions=h3
playbook() { ansible_playbook "$@" "$MINIRUN_SOURCE_DIR/deploy/events/playbook.yml"; }
started() { H ssh "h$1" minirun inspect "$2" | jq -r '.[0].State.StartedAt'; }

run_ok playbook
for h in h1 h2 h3; do assert_contains "$(recap "$h")" "failed=0" "$h"; done
for h in h1 h2 h3; do assert_eq "changed=2" "$(recap "$h" | cut -d' ' -f2)" "$h: login and container"; done
wait_health "$A1" users
wait_health "$A2" events
wait_health "$A3" transactions
deps=$(H control curl -s -m 10 "http://$A3/health/dependencies")
assert_eq "ok ok unavailable" "$(jq -r '.dependencies | "\(.users.status) \(.events.status) \(.database.status)"' <<<"$deps")" \
  "transactions reaches users and events on their hosts; no database, and it says so"
assert_eq 503 "$(H control curl -s -o /dev/null -w '%{http_code}' -m 10 "http://$A1/users")" "users: database unavailable is a 503"
pass "playbook: users, events, transactions on three hosts, port 80; cross-host calls work without a database"

t1=$(started 1 users) t2=$(started 2 events) t3=$(started 3 transactions)
run_ok playbook
for h in h1 h2 h3; do assert_contains "$(recap "$h")" "changed=0" "second run on $h"; done
assert_eq "$t1 $t2 $t3" "$(started 1 users) $(started 2 events) $(started 3 transactions)" "nothing restarted"
pass "second playbook run: changed=0 on every host, no container restarted"

cp -r "$MINIRUN_SOURCE_DIR/images/transactions" "$work/tx"
echo "# release 1.1" >>"$work/tx/app.py"
run_ok ib build -q -t "$REGISTRY/seed/transactions:1.1" --build-arg "BASE=$REGISTRY/debian-python:latest" "$work/tx"
run_ok ib push -q "$REGISTRY/seed/transactions:1.1"
run_ok playbook --check --diff -e transactions_tag=1.1
assert_contains "$(recap h3)" "changed=1" "check mode reports the change on h3"
assert_contains "$OUT" "seed/transactions:1.1" "--diff shows the new image"
assert_eq "$t3" "$(started 3 transactions)" "check mode changed nothing"
run_ok playbook -e transactions_tag=1.1
assert_contains "$(recap h1)" "changed=0"
assert_contains "$(recap h2)" "changed=0"
assert_contains "$(recap h3)" "changed=1"
assert_eq "$t1 $t2" "$(started 1 users) $(started 2 events)" "users and events kept running"
[[ $(started 3 transactions) != "$t3" ]] || fail "transactions was not recreated"
wait_health "$A3" transactions
pass "redeploy of transactions 1.1: check mode and --diff first, then only h3 changed"

# ---- crash and reboot ----------------------------------------------------------------
pid=$(H ssh h1 minirun inspect users | jq -r '.[0].State.Pid')
H exec h1 kill -KILL "$pid"
for _ in $(seq 150); do
  now=$(H ssh h1 minirun inspect users | jq -r '"\(.[0].State.Pid) \(.[0].State.Health.Status)"')
  [[ ${now% *} != "$pid" && ${now% *} != 0 && ${now#* } == healthy ]] && break
  sleep 0.2
done
[[ ${now% *} != "$pid" && ${now#* } == healthy ]] || fail "users after kill -9: [$now]"
assert_eq 1 "$(H ssh h1 minirun inspect users | jq -r '.[0].RestartCount')" "restarted once by its policy"
pass "kill -9 of users' process: restart policy brings it back, healthy again"

run_ok H reboot h2
assert_contains "$OUT" "events: started"
wait_health "$A2" events
for _ in $(seq 20); do
  deps=$(H control curl -s -m 10 "http://$A3/health/dependencies")
  [[ $(jq -r '.dependencies.events.status' <<<"$deps") == ok ]] && break
  sleep 0.5
done
assert_eq "ok ok" "$(jq -r '.dependencies | "\(.users.status) \(.events.status)"' <<<"$deps")" "transactions sees events again"
run_ok playbook
assert_contains "$(recap h2)" "changed=0" "after the reboot the host is as declared"
pass "reboot of h2: events comes back through minirun boot; the playbook finds nothing to change"

# ---- the provisioning hook path (Vagrant shell provisioner) ------------------------------
run_ok playbook -e service_state=absent
for h in h1 h2 h3; do assert_contains "$(recap "$h")" "changed=1" "state=absent removed the container on $h"; done
printf 'REGISTRY=%s\nUSERS_HOST=%s\nEVENTS_HOST=%s\n' "$REGISTRY" "$A1" "$A2" >"$work/host.env"
printf '%s:%s\n' "$REGISTRY_USER" "$REGISTRY_PASSWORD" >"$work/creds"
chmod 600 "$work/creds"
hook() { # HOST PROFILE: the hook runs on the host through ssh, as a Vagrant provisioner does
  H ssh "$1" sh -s -- --compose "$MINIRUN_SOURCE_DIR/deploy/events/compose.yaml" --env-file "$work/host.env" \
    --project events --profile "$2" --insecure-registry "$REGISTRY" --credentials-file "$work/creds" \
    <"$MINIRUN_SOURCE_DIR/provision/minirun-provision"
}
for hp in h1:users h2:events h3:transactions; do
  run_ok hook "${hp%%:*}" "${hp#*:}"
  assert_eq true "$(jq -r .changed <<<"$OUT")" "hook on ${hp%%:*}"
done
wait_health "$A1" users
wait_health "$A2" events
wait_health "$A3" transactions
for hp in h1:users h2:events h3:transactions; do
  run_ok hook "${hp%%:*}" "${hp#*:}"
  assert_eq "false unchanged" "$(jq -r '"\(.changed) \(.apply.services[0].action)"' <<<"$OUT")" "second hook run on ${hp%%:*}"
done
deps=$(H control curl -s -m 10 "http://$A3/health/dependencies")
assert_eq "ok ok" "$(jq -r '.dependencies | "\(.users.status) \(.events.status)"' <<<"$deps")"
pass "provision path: the hook over ssh on each host with its profile; second run changed false"

hosts_down_clean
pass "hosts down: no namespace, mount or process left"
