#!/usr/bin/env bash
# minirun apply (issue 11): a Compose project converges idempotently. First apply creates
# (web waits for db's health check), the second changes nothing (same containers, same
# start times), one changed variable recreates only its service, a removed service is
# removed, a dependency that never gets healthy fails with the reason, down cleans up.
source "$(dirname "$0")/common.sh"
require_root
require_cmd docker-registry jq nsenter
use_test_netns mr-apply
start_registry none
"$IMAGES" seed "$REGISTRY" busybox >/dev/null 2>&1 || fail "seeding busybox"
IMG=$REGISTRY/busybox:latest
run_ok mr pull -q "$IMG"

proj=$(mktemp_dir)
write_compose() {
  cat >"$proj/compose.yaml" <<YAML
name: shop
services:
  db:
    image: $IMG
    command: ["sh", "-c", "sleep 1; touch /tmp/ready; exec sleep 300"]
    healthcheck:
      test: ["CMD", "test", "-e", "/tmp/ready"]
      interval: 300ms
      retries: 3
$1
volumes:
  data:
YAML
}
WEB='  web:
    image: '"$IMG"'
    command: ["sh", "-c", "echo mode=$$MODE; exec sleep 300"]
    environment:
      MODE: ${MODE:-one}
    volumes: [data:/data]
    depends_on:
      db:
        condition: service_healthy'
write_compose "$WEB"
started() { mr inspect "$1" | jq -r '.[0].State.StartedAt'; }

run_ok m apply -f "$proj/compose.yaml" --format json
assert_eq true "$(jq -r .changed <<<"$OUT")"
assert_eq "created created" "$(jq -r '[.services[].action] | join(" ")' <<<"$OUT")"
assert_eq healthy "$(mr inspect shop-db-1 | jq -r '.[0].State.Health.Status')" "web waited for db's health"
run_ok m exec shop-web-1 sh -c 'grep -w db /etc/hosts'
assert_contains "$OUT" "db" "services reach each other by service name"
assert_eq shop "$(mr inspect shop-web-1 | jq -r '.[0].Config.Labels["com.docker.compose.project"]')"
t_db=$(started shop-db-1); t_web=$(started shop-web-1)
run_ok m exec shop-web-1 sh -c 'echo kept > /data/file'
assert_eq 2 "$(mr ps -q --filter label=com.docker.compose.project=shop | wc -l)" "ps --filter label="
assert_eq "shop-db-1 shop-web-1" "$(mr ps -f "$proj/compose.yaml" --format json | jq -r '[.[].Name] | sort | join(" ")')" "ps -f FILE"
assert_eq shop-db-1 "$(mr ps --filter health=healthy --format json | jq -r '.[].Name')" "ps --filter health="
pass "first apply: created in dependency order, web after db is healthy; ps filters by project and health"

run_ok m apply -f "$proj/compose.yaml" --format json
assert_eq false "$(jq -r .changed <<<"$OUT")"
assert_eq "unchanged unchanged" "$(jq -r '[.services[].action] | join(" ")' <<<"$OUT")"
assert_eq "$t_db" "$(started shop-db-1)" "db not restarted"
assert_eq "$t_web" "$(started shop-web-1)" "web not restarted"
pass "second apply: changed false, nothing restarted"

MODE=two run_ok m apply -f "$proj/compose.yaml"
assert_contains "$OUT" "db: unchanged"
assert_contains "$OUT" "web: recreated (config changed)"
assert_eq "$t_db" "$(started shop-db-1)" "db untouched"
run_ok m exec shop-web-1 cat /data/file
assert_eq kept "$OUT" "the named volume kept its data across the recreate"
run_ok m logs shop-web-1
assert_contains "$OUT" "mode=two"
pass "a changed variable recreates only its service; the volume keeps its data"

run_ok m logs -f "$proj/compose.yaml"
assert_contains "$OUT" "web-1  | mode=two" "project logs: service prefix as Compose prints it"
run_ok m logs -f "$proj/compose.yaml" web
[[ $OUT == "web-1  | mode=two" ]] || fail "logs -f FILE web: only web's lines, got [$OUT]"
run_expect_fail m logs -f "$proj/compose.yaml" nosuch
assert_contains "$ERR" "no container for service nosuch in project shop"
rc=0
followed=$(timeout 2 "${N[@]}" "$MINIRUN" --storage "$STORE" logs --follow -f "$proj/compose.yaml" web) || rc=$?
assert_eq 124 "$rc" "logs --follow -f FILE keeps following a running service"
assert_eq "web-1  | mode=two" "$followed"
pass "logs -f FILE [SERVICE]: prefixed lines per service"

write_compose ""
run_ok m apply -f "$proj/compose.yaml"
assert_contains "$OUT" "web: removed"
run_expect_fail mr inspect shop-web-1
pass "a service no longer declared is removed"

write_compose '  never:
    image: '"$IMG"'
    command: ["sleep", "300"]
    healthcheck:
      test: ["CMD", "false"]
      interval: 200ms
      retries: 2
  after:
    image: '"$IMG"'
    command: ["sleep", "300"]
    depends_on:
      never:
        condition: service_healthy'
run_expect_fail m apply -f "$proj/compose.yaml" --wait-timeout 10
assert_contains "$OUT" "after: failed: dependency never did not become healthy"
assert_contains "$ERR" "Error: service after:"
run_expect_fail mr inspect shop-after-1
pass "a dependency that never gets healthy: exit 1, the service and the reason named"

run_ok m down -f "$proj/compose.yaml"
assert_eq "" "$(mr ps -aq)" "down removed every container"
pass "down removes the project"

# Profiles: a service in a profile nobody enabled is not part of the project, and not
# an orphan either once it runs.
cat >"$proj/compose.yaml" <<YAML
name: prof
services:
  app:
    image: $IMG
    command: ["sleep", "300"]
  debug:
    image: $IMG
    command: ["sleep", "300"]
    profiles: [tools]
YAML
run_ok m apply -f "$proj/compose.yaml" --format json
assert_eq "app" "$(jq -r '[.services[].service] | join(" ")' <<<"$OUT")" "profile not enabled: debug left out"
run_ok m apply -f "$proj/compose.yaml" --profile tools --format json
assert_eq "app:unchanged debug:created" "$(jq -r '[.services[] | "\(.service):\(.action)"] | join(" ")' <<<"$OUT")"
COMPOSE_PROFILES=tools run_ok m apply -f "$proj/compose.yaml" --format json
assert_eq false "$(jq -r .changed <<<"$OUT")" "COMPOSE_PROFILES enables the same"
run_ok m apply -f "$proj/compose.yaml" --format json
assert_eq false "$(jq -r .changed <<<"$OUT")" "without the profile, debug is not removed as an orphan"
run_ok mr inspect prof-debug-1
run_ok m down -f "$proj/compose.yaml"
pass "profiles: --profile and COMPOSE_PROFILES enable services; disabled ones are not orphans"

bad=$(mktemp_dir)
printf 'services:\n  web:\n    imagee: busybox\n' >"$bad/compose.yaml"
run_expect_fail m apply -f "$bad/compose.yaml"
assert_contains "$ERR" "compose.yaml:3:5: unknown key services.web.imagee"
pass "a bad Compose file: one line with file:line:col"
