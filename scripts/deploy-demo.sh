#!/usr/bin/env bash
# The chat deployment on two simulated hosts, from a fresh Debian 12 machine (as root):
#   1. installs what is needed and builds the tools (scripts/setup.sh);
#   2. starts two hosts (tests/hosts/hosts.sh: a network and mount namespace and an sshd
#      each, on a bridge in a namespace of its own) and a registry on that bridge;
#   3. builds the images with imgbuild on this machine: RabbitMQ and MariaDB from
#      Containerfiles/ (Debian's packages from the machine's mirror), the chat service from
#      images/chat (npm ci; the machine's CA bundle goes to npm as a build secret), and
#      pushes them;
#   4. deploys deploy/chat/playbook.yml with ansible-playbook over SSH: chat on h1,
#      RabbitMQ and MariaDB on h2; runs it again (changed=0);
#   5. sends chat messages and reads them back;
#   6. reboots h2 (every process killed, mounts and /run gone, then `minirun boot`), waits
#      for RabbitMQ and MariaDB to come back, reads every message again, sends a new one.
# Nothing of the machine's own network is touched; everything made is removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "deploy-demo.sh: run as root" >&2; exit 1; }
SRC=$PWD
T0=$(date +%s)
step() { printf '\n==> [%3ss] %s\n' "$(($(date +%s) - T0))" "$*"; }
die() { echo "deploy-demo.sh: $*" >&2; exit 1; }
# until SECONDS WHAT CMD…: polls CMD every 0.5 s.
until_ok() {
  local limit=$1 what=$2 i; shift 2
  for ((i = 0; i < limit * 2; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done
  die "gave up waiting for $what"
}

step "Installing packages and building the tools"
bash scripts/setup.sh --tools >/dev/null
BIN=$SRC/build
work=$(mktemp -d /tmp/minirun-deploy-demo.XXXXXX)
HD=$work/hosts
H() { bash tests/hosts/hosts.sh "$1" "$HD" "${@:2}"; }
cleanup() {
  for s in "$work"/ansible/cp/*; do [ -S "$s" ] && ssh -o ControlPath="$s" -O exit x >/dev/null 2>&1; done
  [ -d "$HD" ] && H down >/dev/null 2>&1 || true
  tests/fixtures/registry.sh stop "$work/registry" >/dev/null 2>&1 || true
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT

step "Two hosts, h1 and h2, each with an sshd on its own address"
HOSTS_BIN=$BIN H up 2
A1=$(H addr h1) A2=$(H addr h2)
echo "h1 $A1   h2 $A2"

step "A registry with a login on the hosts' bridge, holding the Debian bases"
mkdir -p "$work/registry"
eval "$(H control env REGISTRY_HOST=10.88.0.1 tests/fixtures/registry.sh start basic "$work/registry")"
H control env REGISTRY_USER="$REGISTRY_USER" REGISTRY_PASSWORD="$REGISTRY_PASSWORD" \
  tests/fixtures/debian_images.sh seed "$REGISTRY" debian-python debian-node >/dev/null
echo "registry $REGISTRY"

step "imgbuild: RabbitMQ, MariaDB (Debian packages) and chat (npm ci), pushed to $REGISTRY/seed"
# The build machine's store and credentials (not exported: the hosts have their own).
BSTORE=$work/build-store BCONFIG=$work/docker
ib() { DOCKER_CONFIG=$BCONFIG "$BIN/imgbuild" --storage "$BSTORE" "$@"; }
ibc() { H control env DOCKER_CONFIG="$BCONFIG" "$BIN/imgbuild" --storage "$BSTORE" --insecure-registry "$REGISTRY" "$@"; }
printf '%s' "$REGISTRY_PASSWORD" | ibc login -u "$REGISTRY_USER" --password-stdin "$REGISTRY" >/dev/null
for base in debian-python debian-node; do
  H control env DOCKER_CONFIG="$BCONFIG" "$BIN/minirun" --storage "$BSTORE" --insecure-registry "$REGISTRY" \
    pull -q "$REGISTRY/$base:latest" >/dev/null
done
for db in rabbitmq mariadb; do
  ib build -q --pull never -f "Containerfiles/$db.Containerfile" -t "$REGISTRY/seed/$db:1.0" \
    --build-arg "BASE=$REGISTRY/debian-python:latest" Containerfiles >/dev/null
  ibc push -q "$REGISTRY/seed/$db:1.0" >/dev/null
  echo "seed/$db:1.0 built and pushed"
done
ib build -q --pull never -t "$REGISTRY/seed/chat:1.0" --build-arg "BASE=$REGISTRY/debian-node:latest" \
  --secret id=npm_ca,src=/etc/ssl/certs/ca-certificates.crt images/chat >/dev/null
ibc push -q "$REGISTRY/seed/chat:1.0" >/dev/null
echo "seed/chat:1.0 built and pushed"

step "ansible-playbook deploy/chat/playbook.yml: chat on h1, RabbitMQ and MariaDB on h2"
mkdir -p "$work/ansible"
{ H inventory; printf '\n[chat]\nh1\n\n[data]\nh2\n'; } >"$work/ansible/inventory"
printf 'registry: "%s"\nregistry_user: "%s"\nregistry_password: "%s"\nsource_dir: "%s"\nbroker_password: "%s"\ndb_password: "%s"\n' \
  "$REGISTRY" "$REGISTRY_USER" "$REGISTRY_PASSWORD" "$SRC" "mq-$RANDOM$RANDOM" "db-$RANDOM$RANDOM" >"$work/ansible/vars.yml"
playbook() {
  H control env ANSIBLE_COLLECTIONS_PATH="$SRC/ansible" ANSIBLE_HOME="$work/ansible/home" \
    ANSIBLE_LOCAL_TEMP="$work/ansible/tmp" ANSIBLE_SSH_CONTROL_PATH_DIR="$work/ansible/cp" \
    ANSIBLE_HOST_KEY_CHECKING=False ANSIBLE_PIPELINING=True ANSIBLE_NOCOLOR=1 \
    ansible-playbook -i "$work/ansible/inventory" -e "@$work/ansible/vars.yml" deploy/chat/playbook.yml
}
playbook | sed -n '/PLAY RECAP/,$p'
healthy() { [ "$(H ssh "$1" minirun inspect "$2" | jq -r '.[0].State.Health.Status')" = healthy ]; }
deps_ok() { H control curl -sf -m 5 "http://$A1/health/dependencies" >/dev/null; }
until_ok 180 "the data services" healthy h2 chat-mariadb-1
until_ok 180 "RabbitMQ" healthy h2 chat-rabbitmq-1
until_ok 120 "chat" healthy h1 chat-chat-1
until_ok 120 "chat's queue and database" deps_ok
for h in h1 h2; do echo "--- $h"; H ssh "$h" minirun ps; done

step "Again: nothing to change"
playbook | sed -n '/PLAY RECAP/,$p'

step "Chat messages through RabbitMQ into MariaDB"
send() {
  echo "POST /messages {user: $1, text: $2} → $(H control curl -s -m 10 -X POST -d "{\"user\": \"$1\", \"text\": \"$2\"}" "http://$A1/messages" | jq -c '{status, uuid}')"
}
show() { H control curl -s -m 10 "http://$A1/messages" | jq -r '.[] | "  #\(.id) \(.user): \(.text)"'; }
count() { H control curl -s -m 10 "http://$A1/messages" | jq length; }
send ana "hello from h1"
send bo "the database is on h2"
until_ok 60 "two messages stored" test "$(count)" = 2
echo "GET /messages:"; show

step "Rebooting h2 (a power cut: every process killed, mounts and /run gone; then minirun boot)"
H reboot h2
until_ok 180 "MariaDB after the reboot" healthy h2 chat-mariadb-1
until_ok 180 "RabbitMQ after the reboot" healthy h2 chat-rabbitmq-1
until_ok 120 "chat reconnected" deps_ok
echo "h2 is back:"; H ssh h2 minirun ps
echo "GET /messages after the reboot:"; show
send ana "and after the reboot"
until_ok 60 "the new message stored" test "$(count)" = 3
show | tail -1

step "Done in $(($(date +%s) - T0)) s (hosts, registry and temp stores are removed on exit)"
