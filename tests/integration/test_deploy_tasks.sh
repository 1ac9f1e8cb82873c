#!/usr/bin/env bash
# Tasks and requests (issue 12) on two simulated hosts, through Ansible: h1 builds both
# images with imgbuild and pushes them (minirun_image source=build push=true), then
# tasks runs on h1 and requests on h2 (minirun_compose with the host's profile, the
# image pulled by minirun_image). Shown: check mode before anything exists changes
# nothing; second runs of both playbooks report changed=0; requests reaches tasks on the
# other host; state=absent removes the project; then the provisioning hook brings the same
# services file up on both hosts (the Vagrant-style path), and again changes nothing.
source "$(dirname "$0")/common.sh"
source "$(dirname "$0")/hosts_common.sh"
require_root
use_hosts 2
A1=$(H addr h1) A2=$(H addr h2)
start_hosts_registry debian-python debian-node

work=$(mktemp_dir)
ansible_inventory build=h1 tasks=h1 requests=h2
cat >>"$ANSIBLE_DIR/vars.yml" <<EOF
source_dir: "$MINIRUN_SOURCE_DIR"
python_base: "$REGISTRY/debian-python:latest"
node_base: "$REGISTRY/debian-node:latest"
EOF
playbook() { # PLAYBOOK ARGS…
  local book=$1; shift
  ansible_playbook "$@" "$MINIRUN_SOURCE_DIR/deploy/tasks/$book"
}

run_ok playbook build.yml
assert_eq "changed=3 failed=0" "$(recap h1 | cut -d' ' -f2-)" "config.json, login, the images (one looped task)"
assert_eq 2 "$(grep -c '^changed: \[h1\] => (item=' <<<"$OUT")" "both images built and pushed"
run_ok H control curl -s -u "$REGISTRY_USER:$REGISTRY_PASSWORD" "http://$REGISTRY/v2/seed/requests/tags/list"
assert_contains "$OUT" '"1.0"' "requests:1.0 is in the registry"
run_ok playbook build.yml
assert_eq "changed=0 failed=0" "$(recap h1 | cut -d' ' -f2-)" "second build run: all cache hits, nothing pushed"
pass "minirun_image on h1: imgbuild build + push; the second run reports changed=0"

run_ok playbook playbook.yml --check
for h in h1 h2; do assert_contains "$(recap "$h")" "failed=0" "check mode on $h"; done
assert_eq "" "$(H ssh h2 minirun ps -aq)" "check mode created nothing on h2"
pass "check mode before the first deploy: reports, changes nothing"

run_ok playbook playbook.yml
for h in h1 h2; do assert_contains "$(recap "$h")" "failed=0"; done
wait_health "$A1" tasks
wait_health "$A2" requests
deps=$(H control curl -s -m 10 "http://$A2/health/dependencies")
assert_eq ok "$(jq -r .dependencies.tasks.status <<<"$deps")" "requests on h2 reaches tasks on h1"
run_ok H control curl -s -m 10 -X POST -d '{"title": "new laptop", "requester": "ana"}' "http://$A2/requests"
assert_eq "new laptop none" "$(jq -r '"\(.title) \(.task_status)"' <<<"$OUT")"
code=$(H control curl -s -o "$work/body" -w '%{http_code}' -m 10 -X POST \
  -d '{"title": "fix", "requester": "bo", "task_id": "0123456789abcdef01234567"}' "http://$A2/requests")
assert_eq "503 tasks_unavailable" "$code $(jq -r .error "$work/body")" "no database behind tasks: requests says so"
assert_eq tasks-tasks-1 "$(H ssh h1 minirun ps --format json | jq -r '.[].Name')" "h1 runs only tasks"
assert_eq tasks-requests-1 "$(H ssh h2 minirun ps --format json | jq -r '.[].Name')" "h2 runs only requests"
pass "playbook: tasks on h1, requests on h2 through minirun_compose; cross-host call works; no database, reported"

t=$(H ssh h2 minirun inspect tasks-requests-1 | jq -r '.[0].State.StartedAt')
run_ok playbook playbook.yml
for h in h1 h2; do assert_contains "$(recap "$h")" "changed=0" "second deploy on $h"; done
assert_eq "$t" "$(H ssh h2 minirun inspect tasks-requests-1 | jq -r '.[0].State.StartedAt')" "not restarted"
pass "second deploy: changed=0, nothing restarted"

run_ok playbook playbook.yml -e project_state=absent
for h in h1 h2; do assert_contains "$(recap "$h")" "changed=1" "absent on $h"; done
assert_eq "" "$(H ssh h1 minirun ps -aq)$(H ssh h2 minirun ps -aq)" "no container left"
run_ok playbook playbook.yml -e project_state=absent
for h in h1 h2; do assert_contains "$(recap "$h")" "changed=0" "absent again on $h"; done
pass "state=absent removes the project; again changes nothing"

# ---- the provisioning hook path: the same services file, one profile per host ----------
printf 'REGISTRY=%s\nTASKS_HOST=%s\n' "$REGISTRY" "$A1" >"$work/host.env"
printf '%s:%s\n' "$REGISTRY_USER" "$REGISTRY_PASSWORD" >"$work/creds"
chmod 600 "$work/creds"
hook() { # HOST PROFILE: the hook through ssh, as a Vagrant shell provisioner runs it
  H ssh "$1" sh -s -- --compose "$MINIRUN_SOURCE_DIR/deploy/tasks/compose.yaml" --env-file "$work/host.env" \
    --project tasks --profile "$2" --insecure-registry "$REGISTRY" --credentials-file "$work/creds" \
    <"$MINIRUN_SOURCE_DIR/provision/minirun-provision"
}
for hp in h1:tasks h2:requests; do
  run_ok hook "${hp%%:*}" "${hp#*:}"
  assert_eq true "$(jq -r .changed <<<"$OUT")" "hook on ${hp%%:*}"
done
wait_health "$A1" tasks
wait_health "$A2" requests
deps=$(H control curl -s -m 10 "http://$A2/health/dependencies")
assert_eq ok "$(jq -r .dependencies.tasks.status <<<"$deps")" "requests reaches tasks again"
for hp in h1:tasks h2:requests; do
  run_ok hook "${hp%%:*}" "${hp#*:}"
  assert_eq "false unchanged" "$(jq -r '"\(.changed) \(.apply.services[0].action)"' <<<"$OUT")" "second hook run on ${hp%%:*}"
done
pass "provision path: the hook over ssh with each host's profile; second run changed false"

hosts_down_clean
pass "hosts down: nothing left"
