# shellcheck shell=bash
# Helpers the side-by-side benchmarks share: messages, argument checks, stopping the
# measured child, measuring a command with GNU time, and small number formatting.
# Needs BENCH (the script name) and CHILD_PID from the sourcing script.

log() { echo "$BENCH: $*" >&2; }
die() { echo "$BENCH: error: $*" >&2; exit 1; }

# check_runs: RUNS is a count these benchmarks are meant for (1..20)
check_runs() {
  [[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer (got '$RUNS')"
  ((RUNS <= 20)) || die "RUNS=$RUNS is more than this benchmark is meant for (max 20)"
}

# require_commands ARRAY: dies naming the missing commands and the apt-get line that
# installs them; ARRAY maps command -> Debian package. Also checks for GNU time.
require_commands() {
  local -n pkg_of=$1
  local c missing=() pkgs=()
  for c in "${!pkg_of[@]}"; do
    command -v "$c" >/dev/null 2>&1 || missing+=("$c")
  done
  if ((${#missing[@]})); then
    for c in "${missing[@]}"; do pkgs+=("${pkg_of[$c]}"); done
    die "missing commands: ${missing[*]}
  install them with:  apt-get install -y $(printf '%s\n' "${pkgs[@]}" | sort -u | tr '\n' ' ')"
  fi
  /usr/bin/time -f '%e %M' -o /dev/null true 2>/dev/null \
    || die "/usr/bin/time is not GNU time (need -f '%e %M'): apt-get install -y time"
}

# load average, flagged when the machine is busy (the numbers are then noisy)
load_note() {
  awk -v n="$(nproc)" '{ printf "load average %s on %d cpus%s", $1, n, ($1 > n / 2 ? " (busy: numbers are noisy)" : "") }' /proc/loadavg
}

# all descendants of PID (depth first)
descendants() {
  local c
  for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
    echo "$c"
    descendants "$c"
  done
}

# stop the measured command we started (and what it started), TERM then KILL
stop_child() {
  local pid=$1 p i alive
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
  local -a pids
  mapfile -t pids < <(echo "$pid"; descendants "$pid")
  kill -TERM "${pids[@]}" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    alive=""
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [[ -z $alive ]] && break
    sleep 0.1
  done
  [[ -n $alive ]] && kill -KILL "${pids[@]}" 2>/dev/null
  wait "$pid" 2>/dev/null || true
}

# measure LABEL LOG CMD...  ->  M_SECS (wall s), M_KB (max RSS KiB),
#                               M_CPU (user+sys s, incl. waited-for children)
# Dies with the tail of LOG when CMD fails.  Runs CMD in the background so a
# signal reaches our trap at once (cleanup then stops CMD by its pid).
measure() {
  local label=$1 log=$2 rc=0; shift 2
  sync
  /usr/bin/time -f '%e %M %U %S' -o "$log.time" -- "$@" >"$log" 2>&1 &
  CHILD_PID=$!
  wait "$CHILD_PID" || rc=$?
  CHILD_PID=""
  if ((rc != 0)); then
    {
      echo "$BENCH: error: $label failed (exit $rc)"
      echo "  command: $*"
      tail -n 25 "$log" | sed 's/^/  | /'
    } >&2
    exit 1
  fi
  local user sys
  read -r M_SECS M_KB user sys < <(tail -n 1 "$log.time") || true
  [[ ${M_SECS:-} =~ ^[0-9]+(\.[0-9]+)?$ && ${M_KB:-} =~ ^[0-9]+$ &&
    ${user:-} =~ ^[0-9.]+$ && ${sys:-} =~ ^[0-9.]+$ ]] \
    || die "cannot parse GNU time output for $label: $(cat "$log.time")"
  M_CPU=$(sum "$user" "$sys")
}

median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 }
  END { if (NR % 2) printf "%.2f", a[(NR + 1) / 2]; else printf "%.2f", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
maxof() { printf '%s\n' "$@" | sort -g | tail -n 1; }
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "inf" }'; }
sum() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a + b }'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

# release_podman_work: podman's containers and images (the P command array) removed, then
# the mounts under $work, the network namespace $ns and $work itself.
release_podman_work() {
  "${P[@]}" rm -af -t 0 >/dev/null 2>&1 || true
  "${P[@]}" rmi -af >/dev/null 2>&1 || true
  grep -o " $work[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  ip netns delete "$ns" 2>/dev/null || true
  rm -rf "$work"
}
