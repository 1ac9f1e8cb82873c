#!/usr/bin/env bash
# Chat (issue 12) on two simulated hosts: the Node chat service on h1, RabbitMQ and MariaDB
# (Containerfiles/, Debian's packages) on h2, deployed by deploy/chat/playbook.yml over SSH.
# The images are built by imgbuild on this machine (apt and npm need the network the hosts'
# bridge does not have; the host CA reaches npm as a build secret) and pushed to the hosts'
# registry. Shown: messages sent through the queue are read back from MariaDB; a second run
# changes nothing; a new chat image recreates only chat and loses no message; kill -9 of
# chat is repaired by its policy; a reboot of h2 brings RabbitMQ and MariaDB back through
# `minirun boot`, chat reconnects, every message is still there and new ones flow; the
# provisioning hook brings the same project back on both hosts with the data kept.
source "$(dirname "$0")/common.sh"
source "$(dirname "$0")/hosts_common.sh"
require_root
IMGBUILD=${IMGBUILD_BIN:?}
use_hosts 2
A1=$(H addr h1) A2=$(H addr h2)
start_hosts_registry debian-python debian-node
work=$(mktemp_dir)

# ---- the images: built here, pushed to the hosts' registry -----------------------------
BSTORE=$(mktemp_dir) BCONFIG=$(mktemp_dir)
ib() { env DOCKER_CONFIG="$BCONFIG" "$IMGBUILD" --storage "$BSTORE" "$@"; }
ibc() { # on the hosts' bridge, where the registry is (plain http)
  H control env DOCKER_CONFIG="$BCONFIG" "$IMGBUILD" --storage "$BSTORE" --insecure-registry "$REGISTRY" "$@"
}
printf '%s' "$REGISTRY_PASSWORD" | ibc login -u "$REGISTRY_USER" --password-stdin "$REGISTRY" >/dev/null || fail "login"
for base in debian-python debian-node; do
  H control env DOCKER_CONFIG="$BCONFIG" "$MINIRUN" --storage "$BSTORE" --insecure-registry "$REGISTRY" pull -q "$REGISTRY/$base:latest" >/dev/null ||
    fail "pull $base"
done
build_push() { # NAME TAG CONTEXT ARGS…: build with the bases already here, then push
  local name=$1 tag=$2 ctx=$3; shift 3
  run_ok ib build -q --pull never -t "$REGISTRY/seed/$name:$tag" "$@" "$ctx"
  run_ok ibc push "$REGISTRY/seed/$name:$tag"
}
for db in mariadb rabbitmq; do
  build_push "$db" 1.0 "$MINIRUN_SOURCE_DIR/Containerfiles" -f "$MINIRUN_SOURCE_DIR/Containerfiles/$db.Containerfile" \
    --build-arg "BASE=$REGISTRY/debian-python:latest"
done
CA=/etc/ssl/certs/ca-certificates.crt
build_push chat 1.0 "$MINIRUN_SOURCE_DIR/images/chat" --build-arg "BASE=$REGISTRY/debian-node:latest" --secret "id=npm_ca,src=$CA"
pass "images built by imgbuild (apt from the machine's mirror, npm ci with the CA as a build secret) and pushed"

# ---- deploy --------------------------------------------------------------------------
ansible_inventory chat=h1 data=h2
broker_password="mq-$RANDOM$RANDOM" db_password="db-$RANDOM$RANDOM"
printf 'source_dir: "%s"\nbroker_password: "%s"\ndb_password: "%s"\n' \
  "$MINIRUN_SOURCE_DIR" "$broker_password" "$db_password" >>"$ANSIBLE_DIR/vars.yml"
playbook() { ansible_playbook "$@" "$MINIRUN_SOURCE_DIR/deploy/chat/playbook.yml"; }
chat() { H control curl -s -m 10 "$@"; }
send() { # USER TEXT: POST a message; the broker has it when the answer is 202
  local code
  code=$(chat -o "$work/sent" -w '%{http_code}' -X POST -d "{\"user\": \"$1\", \"text\": \"$2\"}" "http://$A1/messages")
  [[ $code == 202 ]] || fail "POST $2: $code $(cat "$work/sent")"
}
texts() { chat "http://$A1/messages?limit=1000" | jq -r '[.[].text] | join(",")' 2>/dev/null; }
wait_texts() { # EXPECTED: GET /messages shows exactly these texts within 60 s
  for _ in $(seq 300); do [[ $(texts) == "$1" ]] && return 0; sleep 0.2; done
  fail "messages: expected [$1], got [$(texts)]"
}
wait_deps() { # the chat reaches both the queue and the database (within 120 s)
  local d
  for _ in $(seq 600); do
    d=$(chat "http://$A1/health/dependencies" | jq -r '.dependencies | "\(.queue.status) \(.database.status)"' 2>/dev/null)
    [[ $d == "ok ok" ]] && return 0
    sleep 0.2
  done
  fail "chat dependencies: [$d] $(chat "http://$A1/health/dependencies")"
}
started() { H ssh "$1" minirun inspect "$2" | jq -r '.[0].State.StartedAt'; }
healthy() { # HOST NAME: health status healthy within 150 s
  local s
  for _ in $(seq 750); do
    s=$(H ssh "$1" minirun inspect "$2" | jq -r '.[0].State.Health.Status')
    [[ $s == healthy ]] && return 0
    sleep 0.2
  done
  fail "$2 on $1: health $s"
}

run_ok playbook
assert_contains "$(recap h1)" "failed=0"
assert_contains "$(recap h2)" "failed=0"
for c in chat-rabbitmq-1 chat-mariadb-1; do healthy h2 "$c"; done
healthy h1 chat-chat-1
wait_deps
send ana "hello"
send bo "hi ana"
wait_texts "hello,hi ana"
pass "playbook: chat on h1, RabbitMQ and MariaDB on h2, all healthy; messages go through the queue into MariaDB"

t_mq=$(started h2 chat-rabbitmq-1) t_db=$(started h2 chat-mariadb-1) t_chat=$(started h1 chat-chat-1)
run_ok playbook
assert_contains "$(recap h1)" "changed=0" "second run on h1"
assert_contains "$(recap h2)" "changed=0" "second run on h2"
assert_eq "$t_mq $t_db $t_chat" "$(started h2 chat-rabbitmq-1) $(started h2 chat-mariadb-1) $(started h1 chat-chat-1)" "nothing restarted"
pass "second run: changed=0 on both hosts, nothing restarted"

# ---- redeploy: a new chat image -------------------------------------------------------
cp -r "$MINIRUN_SOURCE_DIR/images/chat" "$work/chat"
echo "// release 1.1" >>"$work/chat/server.js"
build_push chat 1.1 "$work/chat" --build-arg "BASE=$REGISTRY/debian-node:latest" --secret "id=npm_ca,src=$CA"
run_ok playbook -e chat_tag=1.1
assert_contains "$(recap h1)" "changed=3" "h1: the new .env, the new image, chat recreated"
assert_contains "$(recap h2)" "changed=1" "h2: only its .env (the chat tag it does not use)"
assert_eq "$t_mq $t_db" "$(started h2 chat-rabbitmq-1) $(started h2 chat-mariadb-1)" "RabbitMQ and MariaDB kept running"
[[ $(started h1 chat-chat-1) != "$t_chat" ]] || fail "chat was not recreated"
assert_contains "$(H ssh h1 minirun inspect chat-chat-1 | jq -r '.[0].ImageName')" "chat:1.1"
healthy h1 chat-chat-1
wait_deps
send ana "after the redeploy"
wait_texts "hello,hi ana,after the redeploy"
pass "redeploy of chat 1.1: only chat recreated, every message still there, new ones flow"

# ---- crash: kill -9 of chat's process --------------------------------------------------
pid=$(H ssh h1 minirun inspect chat-chat-1 | jq -r '.[0].State.Pid')
H exec h1 kill -KILL "$pid"
for _ in $(seq 150); do
  now=$(H ssh h1 minirun inspect chat-chat-1 | jq -r '.[0].State.Pid')
  [[ $now != "$pid" && $now != 0 ]] && break
  sleep 0.2
done
[[ $now != "$pid" && $now != 0 ]] || fail "chat not restarted after kill -9"
healthy h1 chat-chat-1
assert_eq 1 "$(H ssh h1 minirun inspect chat-chat-1 | jq -r '.[0].RestartCount')" "restarted once by its policy"
wait_deps
wait_texts "hello,hi ana,after the redeploy"
pass "kill -9 of chat: its restart policy brings it back, healthy, messages intact"

# ---- reboot of the data host -----------------------------------------------------------
run_ok H reboot h2
assert_contains "$OUT" "rabbitmq-1: started"
assert_contains "$OUT" "mariadb-1: started"
for c in chat-rabbitmq-1 chat-mariadb-1; do healthy h2 "$c"; done
wait_deps
wait_texts "hello,hi ana,after the redeploy"
send bo "after the reboot"
wait_texts "hello,hi ana,after the redeploy,after the reboot"
run_ok playbook -e chat_tag=1.1
assert_contains "$(recap h2)" "changed=0" "after the reboot h2 is as declared"
pass "reboot of h2: RabbitMQ and MariaDB back through minirun boot, chat reconnected, no message lost, new ones flow"

# ---- the provisioning hook path ---------------------------------------------------------
run_ok playbook -e chat_tag=1.1 -e project_state=absent
assert_eq "" "$(H ssh h1 minirun ps -aq)$(H ssh h2 minirun ps -aq)" "state=absent removed the containers"
printf 'REGISTRY=%s\nDATA_HOST=%s\nBROKER_PASSWORD=%s\nDB_PASSWORD=%s\nCHAT_TAG=1.1\n' \
  "$REGISTRY" "$A2" "$broker_password" "$db_password" >"$work/host.env"
printf '%s:%s\n' "$REGISTRY_USER" "$REGISTRY_PASSWORD" >"$work/creds"
chmod 600 "$work/creds"
hook() { # HOST PROFILE: the hook through ssh, as a Vagrant shell provisioner runs it
  H ssh "$1" sh -s -- --compose "$MINIRUN_SOURCE_DIR/deploy/chat/compose.yaml" --env-file "$work/host.env" \
    --project chat --profile "$2" --insecure-registry "$REGISTRY" --credentials-file "$work/creds" \
    <"$MINIRUN_SOURCE_DIR/provision/minirun-provision"
}
run_ok hook h2 data
assert_eq true "$(jq -r .changed <<<"$OUT")" "hook on h2"
run_ok hook h1 app
assert_eq true "$(jq -r .changed <<<"$OUT")" "hook on h1"
for c in chat-rabbitmq-1 chat-mariadb-1; do healthy h2 "$c"; done
healthy h1 chat-chat-1
wait_deps
wait_texts "hello,hi ana,after the redeploy,after the reboot"
for hp in h1:app h2:data; do
  run_ok hook "${hp%%:*}" "${hp#*:}"
  assert_eq false "$(jq -r .changed <<<"$OUT")" "second hook run on ${hp%%:*}"
done
pass "provision path: the hook on both hosts brings the chat back on the kept volumes; second run changed false"

hosts_down_clean
pass "hosts down: no namespace, mount or process left"
