#!/usr/bin/env bash
# Simulated hosts on one machine, reached as VMs are: over SSH, on addresses of their own.
#
#   hosts.sh up DIR N            hosts h1..hN; DIR (missing or empty) keeps their state
#   hosts.sh addr DIR HOST       the host's address (h1 -> 10.88.0.11)
#   hosts.sh exec DIR HOST CMD…  CMD on the host (its network and mount namespaces)
#   hosts.sh ssh DIR HOST CMD…   CMD through the host's sshd, from the control namespace
#   hosts.sh control DIR CMD…    CMD in the control namespace (where Ansible and clients run)
#   hosts.sh inventory DIR       an Ansible INI inventory of the hosts (group "hosts")
#   hosts.sh reboot DIR HOST     a power cut and a boot (below)
#   hosts.sh down DIR            removes everything up made
#   hosts.sh check DIR           exit 1 naming anything of the hosts left behind
#
# Each host is a network namespace (eth0 on the bridge br0 of the control namespace,
# 10.88.0.1/24, which also holds the test's registry and clients) and a private mount
# namespace in which /var/lib/minirun, /etc/minirun, /var/log and /root are directories of
# DIR/hN, /run is a fresh tmpfs and /usr/local/bin is $HOSTS_BIN (the minirun programs),
# read-only. Its sshd (Debian's openssh-server) listens on the host's address; DIR/key is
# the client key for root. The machine's root namespaces are not changed (beyond empty
# mount points /var/lib/minirun and /etc/minirun when they were missing).
#
# reboot: every process of the host is killed (its namespaces' and its containers'
# cgroups'), its mount namespace dropped (so every overlay and bind goes), its cgroups
# and network namespace removed and made anew, /run empty; then sshd starts and
# `minirun boot` runs, as minirun-boot.service does.
#
# Every wait is bounded; processes are stopped by pid; nothing is left (see check).
set -euo pipefail
ME=hosts.sh
source "$(dirname "${BASH_SOURCE[0]}")/../fixtures/power_cut.sh"
die() { echo "$ME: error: $*" >&2; exit 1; }
SUBNET=10.88.0

cmd=${1:-}
D=${2:-}
[[ -n $cmd && -n $D ]] || { sed -n '2,12s/^# \{0,1\}//p' "$0" >&2; exit 2; }
shift 2 || true

tag() { cat "$D/tag"; }
host_no() { [[ $1 =~ ^h([0-9]+)$ ]] || die "no host '$1' (h1..h$(cat "$D/n"))"; (( BASH_REMATCH[1] >= 1 && BASH_REMATCH[1] <= $(cat "$D/n") )) || die "no host '$1'"; echo "${BASH_REMATCH[1]}"; }
addr() { echo "$SUBNET.$((10 + $1))"; }
ctl() { nsenter --net="/var/run/netns/$(tag)-net" -- "$@"; }
on_host() { local n=$1; shift; nsenter --net="/var/run/netns/$(tag)-h$n" --mount="$D/ns/h$n.mnt" -- "$@"; }

# wait_until SECONDS CMD…: polls CMD every 0.1 s.
wait_until() {
  local limit=$1 i; shift
  for ((i = 0; i < limit * 10; i++)); do "$@" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}

net_up() { # N: the host's network namespace and its cable to br0
  local n=$1 t; t=$(tag)
  ip netns add "$t-h$n"
  ip -n "$t-net" link add "v$n" type veth peer name eth0 netns "$t-h$n"
  ip -n "$t-net" link set "v$n" master br0 up
  ip -n "$t-h$n" link set lo up
  # A VM's NIC keeps its MAC across reboots: peers' neighbour caches stay right.
  ip -n "$t-h$n" link set eth0 address "02:88:00:00:00:$(printf '%02x' "$n")"
  ip -n "$t-h$n" addr add "$(addr "$n")/24" dev eth0
  ip -n "$t-h$n" link set eth0 up
  ip -n "$t-h$n" route add default via "$SUBNET.1"
}

mounts_up() { # N: a fresh mount namespace, held by DIR/ns/hN.mnt
  local n=$1 h
  h=$D/h$n
  mkdir -p "$h/lib" "$h/etc" "$h/log" "$h/root"
  touch "$D/ns/h$n.mnt"
  unshare --mount="$D/ns/h$n.mnt" --propagation private bash -euc '
    mount --bind "$1/lib" /var/lib/minirun
    mount --bind "$1/etc" /etc/minirun
    mount --bind "$1/log" /var/log
    mount --bind "$1/root" /root
    mount -t tmpfs -o mode=755 tmpfs /run
    mkdir -p /run/sshd /run/lock
    mount --bind "$2" /usr/local/bin
    mount -o remount,bind,ro /usr/local/bin' _ "$h" "$HOSTS_BIN_DIR"
}

sshd_up() { # N
  local n=$1 h a
  h=$D/h$n a=$(addr "$n")
  cat >"$h/sshd_config" <<EOF
ListenAddress $a:22
HostKey $D/hostkey
PidFile $h/sshd.pid
AuthorizedKeysFile $D/key.pub
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AcceptEnv LANG LC_*
Subsystem sftp /usr/lib/openssh/sftp-server
EOF
  rm -f "$h/sshd.pid"
  on_host "$n" /usr/sbin/sshd -f "$h/sshd_config" -E "$h/sshd.log" || die "h$n: sshd did not start: $(tail -3 "$h/sshd.log")"
  wait_until 10 ctl bash -c "exec 3<>/dev/tcp/$a/22" || die "h$n: sshd not answering on $a:22"
}

container_ids() { local c; for c in "$D/h$1/lib/containers"/*/; do [[ -d $c ]] && basename "$c"; done; return 0; }

# The pids of everything the host runs: its namespaces' processes, and its containers'
# (in their cgroups, behind namespaces of their own).
host_pids() {
  local n=$1 t mnt p
  t=$(tag)
  ip netns pids "$t-h$n" 2>/dev/null || true
  if [[ -e $D/ns/h$n.mnt ]]; then
    mnt=$(stat -L -c %i "$D/ns/h$n.mnt" 2>/dev/null || true)
    for p in /proc/[0-9]*; do
      [[ $(stat -L -c %i "$p/ns/mnt" 2>/dev/null) == "$mnt" ]] && echo "${p#/proc/}"
    done
  fi
  # shellcheck disable=SC2046
  container_cgroup_pids $(container_ids "$n")
}

power_off() { # N
  local n=$1 pids t
  t=$(tag)
  pids=$(host_pids "$n" | sort -u | tr '\n' ' ')
  # shellcheck disable=SC2086
  kill_all $pids || die "h$n: processes survived SIGKILL: $pids"
  umount "$D/ns/h$n.mnt" 2>/dev/null || true
  rm -f "$D/ns/h$n.mnt"
  # shellcheck disable=SC2046
  remove_container_cgroups $(container_ids "$n")
  ip netns delete "$t-h$n" 2>/dev/null || true
  # The kernel frees a namespace (and so its end of the cable) asynchronously.
  wait_until 10 bash -c "! ip -n '$t-net' link show 'v$n' >/dev/null 2>&1" ||
    ip -n "$t-net" link del "v$n" 2>/dev/null || true
}

case $cmd in
  up)
    n=${1:?hosts.sh up DIR N}
    [[ $n =~ ^[1-9]$ ]] || die "N must be 1..9"
    : "${HOSTS_BIN:?set HOSTS_BIN to the directory of the minirun programs}"
    [[ -x $HOSTS_BIN/minirun ]] || die "$HOSTS_BIN/minirun: not found"
    mkdir -p "$D"
    [[ -z $(ls -A "$D") ]] || die "$D is not empty"
    command -v /usr/sbin/sshd >/dev/null || die "/usr/sbin/sshd missing: apt-get install openssh-server"
    echo "mh$(printf '%05d' $(($$ % 100000)))" >"$D/tag"
    echo "$n" >"$D/n"
    HOSTS_BIN_DIR=$(cd "$HOSTS_BIN" && pwd)
    echo "$HOSTS_BIN_DIR" >"$D/bin"
    t=$(tag)
    ssh-keygen -q -t ed25519 -N '' -f "$D/key" -C "hosts.sh"
    ssh-keygen -q -t ed25519 -N '' -f "$D/hostkey" -C "hosts.sh host"
    mkdir -p "$D/ns" /var/lib/minirun /etc/minirun
    mount --bind "$D/ns" "$D/ns"
    mount --make-private "$D/ns"
    ip netns add "$t-net"
    ip -n "$t-net" link set lo up
    ip -n "$t-net" link add br0 type bridge
    ip -n "$t-net" addr add "$SUBNET.1/24" dev br0
    ip -n "$t-net" link set br0 up
    for ((i = 1; i <= n; i++)); do
      net_up "$i"
      mounts_up "$i"
      sshd_up "$i"
    done
    ;;
  addr) addr "$(host_no "$1")" ;;
  exec) n=$(host_no "$1"); shift; on_host "$n" "$@" ;;
  control) ctl "$@" ;;
  ssh)
    n=$(host_no "$1"); shift
    ctl ssh -q -i "$D/key" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes \
      -o ConnectTimeout=10 "root@$(addr "$n")" "$@"
    ;;
  inventory)
    echo "[hosts]"
    for ((i = 1; i <= $(cat "$D/n"); i++)); do echo "h$i ansible_host=$(addr "$i")"; done
    echo
    echo "[hosts:vars]"
    echo "ansible_user=root"
    echo "ansible_ssh_private_key_file=$D/key"
    echo "ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'"
    echo "ansible_python_interpreter=/usr/bin/python3"
    ;;
  reboot)
    n=$(host_no "$1")
    HOSTS_BIN_DIR=$(cat "$D/bin")
    power_off "$n"
    net_up "$n"
    mounts_up "$n"
    sshd_up "$n"
    on_host "$n" minirun boot >"$D/h$n/boot.log" 2>&1 || die "h$n: minirun boot failed: $(tail -5 "$D/h$n/boot.log")"
    cat "$D/h$n/boot.log"
    ;;
  down)
    [[ -f $D/tag ]] || exit 0
    t=$(tag)
    for ((i = 1; i <= $(cat "$D/n"); i++)); do power_off "$i"; done
    ip netns delete "$t-net" 2>/dev/null || true
    umount "$D/ns" 2>/dev/null || true
    ;;
  check)
    t=$(tag) left=""
    ip netns list | grep -q "^$t-" && left+=" netns:$(ip netns list | grep "^$t-" | cut -d' ' -f1 | tr '\n' ,)"
    grep -q " $D" /proc/mounts && left+=" mounts:$(grep -o " ${D}[^ ]*" /proc/mounts | tr '\n' ,)"
    for ((i = 1; i <= $(cat "$D/n"); i++)); do
      p=$(host_pids "$i" | tr '\n' ' ')
      [[ -n ${p// /} ]] && left+=" h$i-processes:$p"
    done
    [[ -z $left ]] || { echo "$ME: left behind:$left" >&2; exit 1; }
    ;;
  *) die "unknown command '$cmd'" ;;
esac
