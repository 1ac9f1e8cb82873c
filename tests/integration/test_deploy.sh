#!/usr/bin/env bash
# The provisioning hook (issue 11) on one host: the seed services of images/ built by
# imgbuild on a "build machine" (its own store and credentials), pushed to a registry that
# needs a login, then deploy/compose.yaml brought up on the "host" (a store, /etc/minirun
# and Docker config of its own, in a test network namespace) by provision/minirun-provision.
# The second run changes nothing and restarts nothing; the password never shows.
source "$(dirname "$0")/common.sh"
require_root
require_cmd docker-registry skopeo jq curl nsenter
IMGBUILD=${IMGBUILD_BIN:?}
DEBIAN="$MINIRUN_SOURCE_DIR/tests/fixtures/debian_images.sh"
use_test_netns mr-deploy

# The registry lives inside the test's network namespace, where the host reaches it.
regdir=$(mktemp_dir)
on_exit "'$FIXTURES/registry.sh' stop '$regdir'"
eval "$("${N[@]}" "$FIXTURES/registry.sh" start basic "$regdir")" || fail "registry start"
"${N[@]}" env REGISTRY_USER="$REGISTRY_USER" REGISTRY_PASSWORD="$REGISTRY_PASSWORD" \
  "$DEBIAN" seed "$REGISTRY" debian-python debian-node >/dev/null 2>&1 || fail "seeding the Debian bases"

# Build machine: its own store and credentials.
BSTORE=$(mktemp_dir) BCONFIG=$(mktemp_dir)
ib() { "${N[@]}" env DOCKER_CONFIG="$BCONFIG" "$IMGBUILD" --storage "$BSTORE" "$@"; }
printf '%s' "$REGISTRY_PASSWORD" | ib login -u "$REGISTRY_USER" --password-stdin "$REGISTRY" >/dev/null || fail "build machine login"
for svc in users events transactions chat; do
  base=$REGISTRY/debian-python:latest
  [[ $svc == chat ]] && base=$REGISTRY/debian-node:latest
  # (no npm registry inside the test's namespace: chat in its in-memory mode)
  run_ok ib build -q -t "$REGISTRY/seed/$svc:1.0" --build-arg "BASE=$base" --build-arg DURABLE=0 "$MINIRUN_SOURCE_DIR/images/$svc"
  run_ok ib push "$REGISTRY/seed/$svc:1.0"
done
pass "build machine: four services built by imgbuild and pushed to a registry with basic auth"

# The host: nothing of the build machine's. The hook gets the services file, an env file
# and the credentials in a file.
etc=$(mktemp_dir)/etc
work=$(mktemp_dir)
# (chat in memory: no RabbitMQ or MariaDB on this host; test_deploy_chat has them)
printf 'REGISTRY=%s\nTAG=1.0\nCHAT_AMQP_URL=\n' "$REGISTRY" >"$work/host.env"
printf '%s:%s\n' "$REGISTRY_USER" "$REGISTRY_PASSWORD" >"$work/creds"
chmod 600 "$work/creds"
provision() {
  "${N[@]}" env MINIRUN="$MINIRUN" MINIRUN_STORAGE="$STORE" MINIRUN_ETC="$etc" MINIRUN_CONFIG="$etc/config.json" \
    sh "$MINIRUN_SOURCE_DIR/provision/minirun-provision" --compose "$MINIRUN_SOURCE_DIR/deploy/compose.yaml" \
    --env-file "$work/host.env" --project seed --insecure-registry "$REGISTRY" --credentials-file "$work/creds" "$@"
}

run_ok provision
json=$OUT
assert_eq true "$(jq -r .changed <<<"$json")" "first run changes the host"
assert_eq written "$(jq -r .config <<<"$json")"
assert_eq "{\"insecure-registries\":[\"$REGISTRY\"]}" "$(jq -c . "$etc/config.json")" "config.json"
assert_eq "created created created created" "$(jq -r '[.apply.services[].action] | join(" ")' <<<"$json")"
assert_eq "users events transactions chat" "$(jq -r '[.apply.services[].service] | join(" ")' <<<"$json")" \
  "dependency order: transactions after users and events"
[[ -f $etc/projects/seed/compose.yaml && -f $etc/projects/seed/.env ]] || fail "services file not installed"
assert_eq 600 "$(stat -c %a "$etc/projects/seed/.env")" ".env is private"
grep -rqF "$REGISTRY_PASSWORD" <<<"$OUT$ERR" && fail "the password showed in the hook's output"
for c in seed-users-1 seed-events-1; do
  assert_eq healthy "$(mr inspect "$c" | jq -r '.[0].State.Health.Status')" "$c healthy (transactions waited for it)"
done
# Nothing waits on transactions itself, so the hook may return while its first check is
# still due (CI saw "starting" once): give it the start period.
status=""
for _ in $(seq 120); do
  status=$(mr inspect seed-transactions-1 | jq -r '.[0].State.Health.Status')
  [[ $status == healthy ]] && break
  sleep 0.25
done
assert_eq healthy "$status" "seed-transactions-1 becomes healthy"
for port_svc in 8001:users 8002:events 8003:transactions 8004:chat; do
  port=${port_svc%%:*} svc=${port_svc#*:}
  body=""
  for _ in $(seq 100); do body=$("${N[@]}" curl -s -m 2 "http://127.0.0.1:$port/health" || true); [[ -n $body ]] && break; sleep 0.2; done
  assert_eq "ok $svc" "$(jq -r '"\(.status) \(.service)"' <<<"$body" 2>/dev/null)" "$svc answers on :$port"
done
code=$("${N[@]}" curl -s -o /dev/null -w '%{http_code}' -m 10 http://127.0.0.1:8001/users || true)
assert_eq 503 "$code" "no MongoDB: the data endpoint says unavailable, the service stays up"
run_ok m exec seed-transactions-1 python3 -c "import urllib.request; print(urllib.request.urlopen('http://users:5000/health').read().decode())"
assert_contains "$OUT" '"service":"users"' "transactions reaches users by service name"
pass "first run: login from a file, config.json, services file installed, four services healthy on their ports"

started() { for c in seed-users-1 seed-events-1 seed-transactions-1 seed-chat-1; do mr inspect "$c" | jq -r '.[0].State.StartedAt'; done; }
before=$(started)
run_ok provision
json=$OUT
assert_eq false "$(jq -r .changed <<<"$json")" "second run: changed false"
assert_eq "unchanged unchanged unchanged unchanged" "$(jq -r '[.apply.services[].action] | join(" ")' <<<"$json")"
assert_eq unchanged "$(jq -r .config <<<"$json")"
assert_eq unchanged "$(jq -r .services_file <<<"$json")"
assert_eq "$before" "$(started)" "no container restarted"
pass "second run on an unchanged host: changed false, start times unchanged"

# A redeploy: a new tag for one service recreates only it.
cp -r "$MINIRUN_SOURCE_DIR/images/chat" "$work/chat"
echo "// release 1.1" >>"$work/chat/server.js"
run_ok ib build -q -t "$REGISTRY/seed/chat:1.1" --build-arg "BASE=$REGISTRY/debian-node:latest" --build-arg DURABLE=0 "$work/chat"
run_ok ib push "$REGISTRY/seed/chat:1.1"
sed -i 's|^TAG=1.0$|TAG=1.0\nCHAT_TAG=1.1|' "$work/host.env"
sed 's|/seed/chat:${TAG:-1.0}|/seed/chat:${CHAT_TAG:-1.0}|' "$MINIRUN_SOURCE_DIR/deploy/compose.yaml" >"$work/compose.yaml"
"${N[@]}" env MINIRUN="$MINIRUN" MINIRUN_STORAGE="$STORE" MINIRUN_ETC="$etc" MINIRUN_CONFIG="$etc/config.json" \
  sh "$MINIRUN_SOURCE_DIR/provision/minirun-provision" --compose "$work/compose.yaml" --env-file "$work/host.env" \
  --project seed --insecure-registry "$REGISTRY" --credentials-file "$work/creds" >"$work/out" 2>"$work/err" ||
  fail "redeploy: $(tail -5 "$work/err")"
OUT=$(cat "$work/out")
json=$OUT
assert_eq true "$(jq -r .changed <<<"$json")"
assert_eq "unchanged unchanged unchanged recreated" \
  "$(jq -r '[.apply.services[].action | split(" ")[0]] | join(" ")' <<<"$json")" "only chat recreated"
assert_eq "$(head -3 <<<"$before")" "$(started | head -3)" "the Flask services kept running"
pass "redeploy of one service's new image: only it recreated"

# The same tag, a new digest: with --pull always only the services of that image change.
cp -r "$MINIRUN_SOURCE_DIR/images/users" "$work/users"
echo "# release 1.0.1" >>"$work/users/app.py"
run_ok ib build -q -t "$REGISTRY/seed/users:1.0" --build-arg "BASE=$REGISTRY/debian-python:latest" "$work/users"
run_ok ib push "$REGISTRY/seed/users:1.0"
before=$(started)
"${N[@]}" env MINIRUN="$MINIRUN" MINIRUN_STORAGE="$STORE" MINIRUN_ETC="$etc" MINIRUN_CONFIG="$etc/config.json" \
  sh "$MINIRUN_SOURCE_DIR/provision/minirun-provision" --compose "$work/compose.yaml" --env-file "$work/host.env" \
  --project seed --pull always >"$work/out" 2>"$work/err" || fail "pull always: $(tail -5 "$work/err")"
json=$(cat "$work/out")
assert_eq "recreated (image changed) unchanged unchanged unchanged" \
  "$(jq -r '[.apply.services[].action] | join(" ")' <<<"$json")" "a new digest under the same tag recreates only users"
assert_eq "$(sed -n 2,4p <<<"$before")" "$(started | sed -n 2,4p)" "events, transactions and chat kept running"
pass "--pull always: a new digest under the same tag recreates only its service"

# Bad input: a clear one-line error and a non-zero exit.
run_expect_fail sh "$MINIRUN_SOURCE_DIR/provision/minirun-provision" --compose /nonexistent.yaml
assert_contains "$ERR" "minirun-provision: /nonexistent.yaml: no such services file"
printf 'no-colon\n' >"$work/badcreds"
run_expect_fail env MINIRUN="$MINIRUN" MINIRUN_ETC="$etc" sh "$MINIRUN_SOURCE_DIR/provision/minirun-provision" --credentials-file "$work/badcreds" --registry "$REGISTRY"
assert_contains "$ERR" "badcreds:1: expected USER:PASSWORD"
pass "bad input: one-line errors naming the file"
