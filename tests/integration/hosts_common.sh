# shellcheck shell=bash
# For the deployment tests on simulated hosts (tests/hosts/hosts.sh): the hosts, a
# registry on their bridge, and Ansible run from the control namespace. Source after
# common.sh.
require_cmd docker-registry skopeo jq curl nsenter ansible-playbook /usr/sbin/sshd ssh-keygen
HOSTS="$MINIRUN_SOURCE_DIR/tests/hosts/hosts.sh"
DEBIAN="$MINIRUN_SOURCE_DIR/tests/fixtures/debian_images.sh"
H() { bash "$HOSTS" "$1" "$HD" "${@:2}"; }

# use_hosts N: hosts h1..hN, removed at exit (and checked for leftovers by the test).
use_hosts() {
  HD=$(mktemp_dir)/hosts
  ANSIBLE_DIR=$(mktemp_dir)
  on_exit "bash '$HOSTS' down '$HD'"
  on_exit stop_ssh_masters
  HOSTS_BIN=$(dirname "$MINIRUN") bash "$HOSTS" up "$HD" "$1" || fail "hosts.sh up $1"
}

# start_hosts_registry BASE...: a registry with basic auth on the hosts' bridge, holding
# the Debian bases named; sets REGISTRY, REGISTRY_USER, REGISTRY_PASSWORD.
start_hosts_registry() {
  local dir
  dir=$(mktemp_dir)
  on_exit "'$FIXTURES/registry.sh' stop '$dir'"
  eval "$(H control env REGISTRY_HOST=10.88.0.1 "$FIXTURES/registry.sh" start basic "$dir")" || fail "registry start"
  H control env REGISTRY_USER="$REGISTRY_USER" REGISTRY_PASSWORD="$REGISTRY_PASSWORD" \
    "$DEBIAN" seed "$REGISTRY" "$@" >/dev/null 2>&1 || fail "seeding $*"
}

# ansible_inventory GROUP=HOST…: the hosts' inventory with these groups, and the
# registry's address and credentials as extra vars ($ANSIBLE_DIR/vars.yml: append more);
# ansible_playbook uses both.
ansible_inventory() {
  local gh
  { H inventory; for gh in "$@"; do printf '\n[%s]\n%s\n' "${gh%%=*}" "${gh#*=}"; done; } >"$ANSIBLE_DIR/inventory"
  printf 'registry: "%s"\nregistry_user: "%s"\nregistry_password: "%s"\n' \
    "$REGISTRY" "$REGISTRY_USER" "$REGISTRY_PASSWORD" >"$ANSIBLE_DIR/vars.yml"
}

# ansible_playbook ARGS…: from the control namespace, with the project's collection and
# state (ssh control sockets included) under this test's directory.
ansible_playbook() {
  H control env ANSIBLE_COLLECTIONS_PATH="$MINIRUN_SOURCE_DIR/ansible" ANSIBLE_HOME="$ANSIBLE_DIR/home" \
    ANSIBLE_LOCAL_TEMP="$ANSIBLE_DIR/tmp" ANSIBLE_SSH_CONTROL_PATH_DIR="$ANSIBLE_DIR/cp" \
    ANSIBLE_HOST_KEY_CHECKING=False ANSIBLE_PIPELINING=True ANSIBLE_NOCOLOR=1 \
    ansible-playbook -i "$ANSIBLE_DIR/inventory" -e "@$ANSIBLE_DIR/vars.yml" "$@"
}

# The ssh connection masters Ansible left (ControlPersist), by their sockets.
stop_ssh_masters() {
  local s
  for s in "$ANSIBLE_DIR"/cp/*; do
    [[ -S $s ]] && ssh -o ControlPath="$s" -O exit placeholder >/dev/null 2>&1
  done
  return 0
}

# recap HOST: "ok=N changed=N failed=N" from the PLAY RECAP in $OUT.
recap() { awk -v h="$1" '$1 == h && $2 == ":" { print $3, $4, $6 }' <<<"$OUT"; }

health() { H control curl -s -m 3 "http://$1/health" | jq -r '"\(.status) \(.service)"' 2>/dev/null; }
# wait_health ADDRESS SERVICE: /health on port 80 answers as SERVICE within 30 s.
wait_health() {
  for _ in $(seq 150); do [[ $(health "$1") == "ok $2" ]] && return 0; sleep 0.2; done
  fail "$2 on $1: no /health"
}

# hosts_down_clean: everything of the hosts gone, and nothing left behind.
hosts_down_clean() {
  stop_ssh_masters
  run_ok bash "$HOSTS" down "$HD"
  run_ok bash "$HOSTS" check "$HD"
}
