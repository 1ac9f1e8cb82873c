#!/usr/bin/env bash
# The three-host events deployment (users, events, transactions; deploy/events) on
# simulated hosts (tests/hosts/hosts.sh), by Ansible over SSH: with minirun (the
# minirun.core collection) and with podman (`command` tasks around podman, the usual
# pre-minirun way: scripts/bench/deploy/podman-events.yml), side by side: the cold
# deployment (images pulled, containers created, until every /health answers) and an
# unchanged re-run of the playbook. Target (issue 12): <= 0.5x podman cold, <= 0.3x rerun.
#   RUNS=3 MINIRUN_BIN=build/minirun scripts/bench/deploy.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
SRC=$PWD
RUNS=${RUNS:-3}
MINIRUN=${MINIRUN_BIN:-$PWD/build/minirun}
BIN=$(dirname "$MINIRUN")
for c in podman ansible-playbook skopeo jq curl /usr/sbin/sshd; do command -v "$c" >/dev/null || { echo "deploy.sh: needs $c (scripts/deps.sh)" >&2; exit 1; }; done
[ -x "$BIN/imgbuild" ] || { echo "deploy.sh: $BIN/imgbuild not built (scripts/build.sh --tools)" >&2; exit 1; }

work=$(mktemp -d /tmp/mrbd.XXXXXX)
HD=$work/hosts
H() { bash tests/hosts/hosts.sh "$1" "$HD" "${@:2}"; }
podman_on() { H exec "$1" env CONTAINERS_CONF=/root/podman-bench.conf podman --root /root/podman-storage --runroot /run/podman --tmpdir /run/podman-tmp \
  --cgroup-manager cgroupfs --events-backend file --runtime runc "${@:2}"; }
cleanup() {
  # podman's containers live outside the hosts' namespaces and cgroups: removed by podman
  for h in h1 h2 h3; do podman_on "$h" rm -af -t 0 >/dev/null 2>&1 || true; done
  rm -rf /var/lib/cni/networks/minirun-bench
  for s in "$work"/ansible/cp/*; do [ -S "$s" ] && ssh -o ControlPath="$s" -O exit x >/dev/null 2>&1; done
  bash tests/fixtures/registry.sh stop "$work/reg" >/dev/null 2>&1 || true
  bash tests/hosts/hosts.sh down "$HD" >/dev/null 2>&1 || true
  { grep -o " ${work}[^ ]*" /proc/mounts || true; } | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT
HOSTS_BIN=$BIN bash tests/hosts/hosts.sh up "$HD" 3 >/dev/null
# podman's default network is 10.88.0.0/16, the hosts' own subnet: its bridge would take
# the control namespace's address and cut the ssh sessions. Its own subnet, network name
# (the IPAM state under /var/lib/cni/networks/NAME) and config dir, per host.
for h in h1 h2 h3; do
  H exec "$h" sh -c 'mkdir -p /root/podman-cni && cat >/root/podman-bench.conf' <<'CONF'
[network]
network_config_dir = "/root/podman-cni"
default_network = "minirun-bench"
default_subnet = "10.89.0.0/24"
CONF
done
mkdir -p "$work/reg"
eval "$(H control env REGISTRY_HOST=10.88.0.1 bash tests/fixtures/registry.sh start basic "$work/reg")"
H control env REGISTRY_USER="$REGISTRY_USER" REGISTRY_PASSWORD="$REGISTRY_PASSWORD" \
  bash tests/fixtures/debian_images.sh seed "$REGISTRY" debian-python >/dev/null 2>&1
ib() { H control env DOCKER_CONFIG="$work/bcfg" "$BIN/imgbuild" --storage "$work/bstore" --insecure-registry "$REGISTRY" "$@"; }
mkdir -p "$work/bcfg"
printf '%s' "$REGISTRY_PASSWORD" | ib login -u "$REGISTRY_USER" --password-stdin "$REGISTRY" >/dev/null
for svc in users events transactions; do
  ib build -q -t "$REGISTRY/seed/$svc:1.0" --build-arg "BASE=$REGISTRY/debian-python:latest" "images/$svc" >/dev/null
  ib push -q "$REGISTRY/seed/$svc:1.0" >/dev/null
done
{ H inventory; printf '\n[users]\nh1\n[events]\nh2\n[transactions]\nh3\n'; } >"$work/inventory"
printf 'registry: "%s"\nregistry_user: "%s"\nregistry_password: "%s"\n' "$REGISTRY" "$REGISTRY_USER" "$REGISTRY_PASSWORD" >"$work/vars.yml"
play() { # PLAYBOOK ARGS…
  local book=$1; shift
  H control env ANSIBLE_COLLECTIONS_PATH="$SRC/ansible" ANSIBLE_HOME="$work/ansible/home" ANSIBLE_LOCAL_TEMP="$work/ansible/tmp" \
    ANSIBLE_SSH_CONTROL_PATH_DIR="$work/ansible/cp" ANSIBLE_HOST_KEY_CHECKING=False ANSIBLE_PIPELINING=True \
    ANSIBLE_CALLBACKS_ENABLED=ansible.builtin.junit JUNIT_OUTPUT_DIR="$work/junit/${JUNIT_TAG:-other}" \
    ansible-playbook -i "$work/inventory" -e "@$work/vars.yml" "$@" "$book" >"$work/play.log" 2>&1 ||
    { echo "deploy.sh: $book failed:" >&2; tail -20 "$work/play.log" >&2; exit 1; }
}
all_healthy() {
  local a
  for a in 10.88.0.11 10.88.0.12 10.88.0.13; do
    H control curl -s -m 2 "http://$a/health" | grep -q '"status":"ok"' || return 1
  done
}
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
# measure TOOL: cold (playbook + until healthy) and rerun times, then removes everything.
measure() {
  local tool=$1 book t i c=() r=()
  book=$SRC/deploy/events/playbook.yml
  [ "$tool" = podman ] && book=$SRC/scripts/bench/deploy/podman-events.yml
  for ((i = 0; i < RUNS; i++)); do
    t=$(date +%s%N)
    play "$book"
    for _ in $(seq 600); do all_healthy && break; sleep 0.1; done
    all_healthy || { echo "deploy.sh: $tool: services not healthy" >&2; exit 1; }
    c+=("$(ms_since "$t")")
    t=$(date +%s%N)
    rm -rf "$work/junit/$tool-rerun"
    JUNIT_TAG=$tool-rerun play "$book"
    grep -Eq 'changed=[1-9]' "$work/play.log" && { echo "deploy.sh: $tool: the re-run changed something" >&2; exit 1; }
    r+=("$(ms_since "$t")")
    for h in h1 h2 h3; do
      if [ "$tool" = minirun ]; then
        H exec "$h" minirun rm -f users events transactions >/dev/null 2>&1 || true
        H exec "$h" minirun rmi -f "$REGISTRY/seed/users:1.0" "$REGISTRY/seed/events:1.0" "$REGISTRY/seed/transactions:1.0" >/dev/null 2>&1 || true
      else
        podman_on "$h" rm -af -t 0 >/dev/null 2>&1 || true
        podman_on "$h" rmi -af >/dev/null 2>&1 || true
      fi
    done
  done
  COLD=$(printf '%s\n' "${c[@]}" | median) RERUN=$(printf '%s\n' "${r[@]}" | median)
}
# task_times TOOL: the mean time of each task over the hosts, in the last unchanged re-run.
task_times() {
  python3 - "$work/junit/$1-rerun" <<'PY'
import glob, sys, collections
import xml.etree.ElementTree as ET
times = collections.OrderedDict()
for f in glob.glob(sys.argv[1] + "/*.xml"):
    for case in ET.parse(f).getroot().iter("testcase"):
        name = case.get("name").split("] ", 1)[-1]
        times.setdefault(name, []).append(float(case.get("time")) * 1000)
for name, t in times.items():
    print("  %-52s %6.0f ms" % (name[:52], sum(t) / len(t)))
PY
}
floor=()
for ((i = 0; i < RUNS; i++)); do
  t=$(date +%s%N)
  play "$SRC/scripts/bench/deploy/floor.yml"
  floor+=("$(ms_since "$t")")
done
FLOOR=$(printf '%s\n' "${floor[@]}" | median)
measure minirun
m_cold=$COLD m_rerun=$RERUN
measure podman
p_cold=$COLD p_rerun=$RERUN

echo "deploy.sh: events platform on 3 simulated hosts over SSH, median of $RUNS (load $(awk '{print $1}' /proc/loadavg), $(nproc) cpus)"
printf '%-10s %14s %18s\n' "" "cold ms" "unchanged rerun ms"
printf '%-10s %14s %18s\n' minirun "$m_cold" "$m_rerun"
printf '%-10s %14s %18s\n' podman "$p_cold" "$p_rerun"
printf '%-10s %14s %18s\n' "ansible" "" "$FLOOR (one trivial task per host: Ansible's own floor)"
awk -v a="$m_cold" -v b="$p_cold" -v c="$m_rerun" -v d="$p_rerun" -v f="$FLOOR" \
  'BEGIN { printf "ratio minirun/podman: cold %.2fx, rerun %.2fx (targets: cold <= 0.5x, rerun <= 0.3x); above the floor: cold %.2fx, rerun %.2fx\n", a / b, c / d, (a - f) / (b - f), (c - f) / (d - f) }'
echo "unchanged re-run, mean time per task and host (ansible junit callback):"
echo " minirun (deploy/events/playbook.yml)"; task_times minirun
echo " podman (scripts/bench/deploy/podman-events.yml)"; task_times podman
