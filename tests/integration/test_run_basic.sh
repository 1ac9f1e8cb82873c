#!/usr/bin/env bash
# `minirun run` and the lifecycle on the busybox fixture, with --network none (the
# bridge has its own test). Everything runs inside a network namespace of our own.
source "$(dirname "$0")/common.sh"
require_root
require_cmd docker-registry skopeo jq nsenter

use_test_netns mr-run

start_registry none
"$IMAGES" seed "$REGISTRY" busybox >/dev/null 2>&1 || fail "seeding busybox"
IMG=$REGISTRY/busybox:latest
R=(run --rm --network none -q)
# The registry listens in our namespace; the containers' tests run in theirs.
run_ok mr pull -q "$IMG"

# Exit statuses as Docker's.
run_ok m "${R[@]}" "$IMG" echo hello
assert_eq hello "$OUT"
RC=0; m "${R[@]}" "$IMG" sh -c 'exit 3' || RC=$?
assert_eq 3 "$RC" "container's exit status"
RC=0; m "${R[@]}" "$IMG" no-such-command 2>"$TEST_TMPDIR/err" || RC=$?
assert_eq 127 "$RC" "command not found"
assert_contains "$(cat "$TEST_TMPDIR/err")" "executable file not found"
RC=0; m "${R[@]}" "$IMG" /etc/passwd 2>/dev/null || RC=$?
assert_eq 126 "$RC" "cannot execute"
RC=0; m run --bogus-flag "$IMG" true >/dev/null 2>"$TEST_TMPDIR/err" || RC=$?
assert_eq 125 "$RC" "unknown flag"
assert_contains "$(cat "$TEST_TMPDIR/err")" "unknown flag: --bogus-flag"
# Flags end at the image, as in Docker: the command's own words stay the command's, even
# ones that spell our flags (-e, -c, -p, --name), and `--` may come before the image.
run_ok m "${R[@]}" --entrypoint /bin/sh "$IMG" -c 'echo entrypoint-c'
assert_eq entrypoint-c "$OUT" "-c after the image is the command's"
run_ok m "${R[@]}" "$IMG" printf '%s,' -e A=1 -p 80 --name x --dns 1.1.1.1 -it
assert_eq "-e,A=1,-p,80,--name,x,--dns,1.1.1.1,-it," "$OUT" "flag-like words after the image"
run_ok m run --rm --network none -q -- "$IMG" echo after-dashdash
assert_eq after-dashdash "$OUT" "run -- IMAGE"
RC=0; m run --rm --network none --memory lots "$IMG" true 2>"$TEST_TMPDIR/err" || RC=$?
assert_eq 125 "$RC" "our own error"
assert_contains "$(cat "$TEST_TMPDIR/err")" "invalid --memory \"lots\""
RC=0; m "${R[@]}" --init "$IMG" sh -c 'kill -TERM $$' || RC=$?
assert_eq 143 "$RC" "128+signal"
pass "exit statuses 0, 3, 125, 126, 127, 143"

# env, env files, workdir, user
printf '# comment\nFROM_FILE=yes\nSPACED=a b\n' >"$TEST_TMPDIR/env"
export PASSTHRU=from-host
run_ok m "${R[@]}" -e A=1 -e PASSTHRU --env-file "$TEST_TMPDIR/env" -w /tmp/work -u app "$IMG" sh -c 'echo "$A|$FROM_FILE|$SPACED|$PASSTHRU|$(pwd)|$(id -u):$(id -g)|$HOME"'
assert_eq "1|yes|a b|from-host|/tmp/work|1000:1000|/home/app" "$OUT"
run_ok m "${R[@]}" -u 1234:4321 "$IMG" id
assert_contains "$OUT" "uid=1234 gid=4321"
run_expect_fail m "${R[@]}" -u ghost "$IMG" true
assert_contains "$ERR" "unable to find user ghost"
pass "env, env files, workdir, user"

# bind and named volumes, read-only root, tmpfs
host=$(mktemp_dir)
echo from-host >"$host/in"
run_ok m "${R[@]}" -v "$host:/data" -v "$host:/ro:ro" "$IMG" sh -c 'cat /data/in; echo out > /data/out; touch /ro/x 2>&1 || true'
assert_contains "$OUT" "from-host"
assert_contains "$OUT" "Read-only file system"
assert_eq out "$(cat "$host/out")"
run_ok m "${R[@]}" -v vol1:/etc "$IMG" sh -c 'cat /etc/minirun-fixture; echo kept > /etc/note'
assert_contains "$OUT" "busybox" "named volume seeded from the image"
run_ok m "${R[@]}" -v vol1:/v "$IMG" cat /v/note
assert_eq kept "$OUT" "named volume persists"
run_ok m "${R[@]}" --read-only --tmpfs /scratch "$IMG" sh -c 'touch /x 2>&1; touch /scratch/y && echo tmpfs-ok'
assert_contains "$OUT" "Read-only file system"
assert_contains "$OUT" "tmpfs-ok"
pass "bind, read-only bind, named volume (seeded, persistent), read-only root, tmpfs"

# Default hardening: Docker's capabilities, masked paths, seccomp
run_ok m "${R[@]}" "$IMG" sh -c 'grep CapEff /proc/self/status; cat /proc/kcore 2>&1 | head -c 50; echo; grep Seccomp: /proc/self/status; unshare -m true 2>&1 || true'
assert_contains "$OUT" "CapEff:	00000000a80425fb" "Docker's 14 default capabilities"
assert_contains "$OUT" "Seccomp:	2"
assert_contains "$OUT" "Operation not permitted"
pass "default hardening"

# memory limit → OOM kill reported; pids limit contains a fork bomb
RC=0; m run --name oom --network none -q --memory 24m "$IMG" sh -c 'x=$(head -c 200000000 /dev/zero | tr "\0" a); echo survived' || RC=$?
assert_eq 137 "$RC" "OOM-killed status"
run_ok m inspect oom
[[ $(jq -r '.[0].State.OOMKilled' <<<"$OUT") == true ]] || fail "inspect does not say OOMKilled: $OUT"
run_ok m rm oom
run_ok m run -d --name bomb --network none -q --pids-limit 20 "$IMG" sh -c 'while :; do (sleep 30 &) 2>/dev/null; done'
sleep 1
run_ok m stats --no-stream --format json bomb
current=$(jq -r '.[0].PIDs' <<<"$OUT")
(( current > 5 && current <= 20 )) || fail "pids in the fork bomb: $current (limit 20)"
run_ok m rm -f bomb
pass "OOM kill reported (137, OOMKilled), pids limit holds a fork bomb ($current pids)"

# -d, logs -f, exec, stop; ps and inspect stay truthful
run_ok m run -d --name web --network none -q "$IMG" sh -c 'trap "echo bye; exit 0" TERM; i=0; while :; do echo tick $i; i=$((i+1)); sleep 0.2; done'
cid=$OUT
[[ ${#cid} == 64 ]] || fail "run -d prints the id: $cid"
sleep 0.7
run_ok m ps
assert_contains "$OUT" "web"
assert_contains "$OUT" "Up "
run_ok m exec web sh -c 'echo in-container $(hostname)'
assert_contains "$OUT" "in-container ${cid:0:12}"
run_ok m exec -e Z=1 web printf '%s,' -u root -w / -e X
assert_eq "-u,root,-w,/,-e,X," "$OUT" "exec: the command's words after the container are its own"
RC=0; m exec web sh -c 'exit 9' || RC=$?
assert_eq 9 "$RC" "exec exit status"
m logs -f web >"$TEST_TMPDIR/follow" 2>&1 &
follower=$!
sleep 0.5
run_ok m stop -t 5 web
wait $follower || fail "logs -f did not end when the container stopped"
assert_contains "$(cat "$TEST_TMPDIR/follow")" "tick 0"
assert_contains "$(cat "$TEST_TMPDIR/follow")" "bye"
run_ok m logs --tail 1 web
assert_eq bye "$OUT"
run_ok m logs --timestamps web
[[ $(head -1 <<<"$OUT") =~ ^20[0-9-]+T ]] || fail "timestamps missing"
run_ok m inspect web
[[ $(jq -r '.[0].State.Status' <<<"$OUT") == exited ]] || fail "status after stop"
[[ $(jq -r '.[0].State.ExitCode' <<<"$OUT") == 0 ]] || fail "exit code after stop"
run_ok m ps -a --format json
[[ $(jq -r '.[] | select(.Name=="web") | .Status' <<<"$OUT") == Exited* ]] || fail "ps -a"
run_ok m start web
m wait web >"$TEST_TMPDIR/wait.out" 2>&1 &
waiter=$!
sleep 0.3
run_ok m kill web
wait $waiter || fail "wait failed: $(cat "$TEST_TMPDIR/wait.out")"
assert_eq 137 "$(cat "$TEST_TMPDIR/wait.out")" "wait prints the exit code"
run_ok m rm web
pass "-d, ps, exec, logs -f/--tail/--timestamps, stop, start, kill, rm"

# --restart on-failure:3 restarts exactly 3 times
counter=$(mktemp_dir)
run_ok m run -d --name flaky --network none -q --restart on-failure:3 -v "$counter:/c" "$IMG" sh -c 'echo run >> /c/runs; exit 1'
for _ in $(seq 150); do
  [[ $(m inspect flaky | jq -r '.[0].State.Status') == exited && $(wc -l <"$counter/runs") -ge 4 ]] && break
  sleep 0.1
done
assert_eq 4 "$(wc -l <"$counter/runs" | tr -d ' ')" "1 run + 3 restarts"
run_ok m inspect flaky
assert_eq 3 "$(jq -r '.[0].RestartCount' <<<"$OUT")" "RestartCount"
run_ok m rm flaky
pass "--restart on-failure:3 restarted exactly 3 times"

# syslog driver → a test listener (RFC 5424 over udp)
syslog_port_file=$TEST_TMPDIR/syslog.port
"${N[@]}" /usr/bin/python3 - "$syslog_port_file" "$TEST_TMPDIR/syslog.out" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
s.settimeout(15)
with open(sys.argv[2], "w") as out:
    try:
        while True:
            data, _ = s.recvfrom(65536)
            out.write(data.decode() + "\n"); out.flush()
            if b"line-2" in data: break
    except socket.timeout:
        pass
PY
listener=$!
for _ in $(seq 100); do [[ -s $syslog_port_file ]] && break; sleep 0.05; done
run_ok m run --rm --network none -q --log-driver syslog --log-opt "syslog-address=udp://127.0.0.1:$(cat "$syslog_port_file")" --log-opt tag=mytag "$IMG" sh -c 'echo line-1; echo line-2'
wait $listener || true
got=$(cat "$TEST_TMPDIR/syslog.out")
assert_contains "$got" "mytag"
assert_contains "$got" "line-1"
[[ $(head -1 <<<"$got") =~ ^\<[0-9]+\>1\ 20 ]] || fail "not RFC 5424: $(head -1 <<<"$got")"
pass "syslog log driver (RFC 5424 over udp)"
# Docker's dual logging: a local copy that `logs` reads, unless cache-disabled=true
run_ok m run --network none -q --name slog --log-driver syslog --log-opt syslog-address=udp://127.0.0.1:9 "$IMG" sh -c 'echo dual-1; echo dual-2 >&2'
run_ok m logs slog
assert_eq $'dual-1\ndual-2' "$(printf '%s\n%s\n' "$OUT" "$ERR" | sort)" "logs of a syslog container (the local copy)"
run_ok m run --network none -q --name slog2 --log-driver syslog --log-opt syslog-address=udp://127.0.0.1:9 --log-opt cache-disabled=true "$IMG" true
run_expect_fail m logs slog2
assert_contains "$ERR" "cache-disabled=true keeps no local copy"
run_ok m rm slog slog2
pass "syslog driver keeps a local copy for logs (Docker's dual logging), cache-disabled=true turns it off"

# --init reaps orphans as PID 1
run_ok m "${R[@]}" --init "$IMG" sh -c 'cat /proc/1/cmdline | tr "\0" " "'
assert_contains "$OUT" "/run/minirun-init"
pass "--init"

# --rm leaves nothing: no container dir, mount, cgroup, runtime state, netns
run_ok m run --rm --network none -q --name gone "$IMG" true
left=$(ls "$STORE/containers"); [[ -z $left ]] || fail "container dirs left: $(for d in $left; do jq -c "{Name,Command,St: .State.Status,Ex: .State.ExitCode,Er: .State.Error}" "$STORE/containers/$d/container.json" 2>/dev/null || ls "$STORE/containers/$d"; done)"
! grep -q "$STORE" /proc/mounts || fail "mounts left: $(grep "$STORE" /proc/mounts)"
[[ -z $(ls /sys/fs/cgroup/pids/minirun 2>/dev/null | grep -v '^\(cgroup\|pids\|notify\|tasks\|release\)') ]] || true
for d in /sys/fs/cgroup/*/minirun; do
  for c in "$d"/*/; do
    [[ -d $c ]] || continue
    id=$(basename "$c")
    [[ -e $STORE/containers/$id ]] && fail "cgroup of a removed container: $c"
  done
done
assert_eq "" "$(ls "$STORE/run" 2>/dev/null)" "runtime state left"
pass "--rm leaves nothing behind"

# --- no overlay (a store on overlayfs: overlay refuses an upper there): a private copy,
# made once. A restart keeps it, and what the container wrote, instead of copying again.
OVL=$(mktemp_dir)
mkdir -p "$OVL"/{lower,upper,work,mnt}
mount -t overlay overlay -o "lowerdir=$OVL/lower,upperdir=$OVL/upper,workdir=$OVL/work" "$OVL/mnt" || fail "mount overlay"
CP=("${N[@]}" "$MINIRUN" --storage "$OVL/mnt/store")
cp_cleanup() { "${CP[@]}" rm -f copied >/dev/null 2>&1; umount -l "$OVL/mnt" 2>/dev/null || true; }
on_exit cp_cleanup
run_ok "$MINIRUN" --storage "$OVL/mnt/store" pull -q "$IMG"
run_ok "${CP[@]}" run -d --name copied --network none "$IMG" sh -c 'echo written >> /state; sleep 1000'
assert_contains "$ERR" "using a private copy of the layers" "create says it copies"
run_ok "${CP[@]}" stop -t 0 copied
run_ok "${CP[@]}" start copied
assert_not_contains "$ERR" "private copy" "a start does not copy again"
sleep 0.3
run_ok "${CP[@]}" exec copied cat /state
assert_eq "written
written" "$OUT" "the first run's file survived the restart"
cp_cleanup
pass "without overlay: one private copy, kept across restarts"

# --- an ordinary user: one line, exit 125, nothing created ---
# (its own dir under /tmp: the test's temp dir is closed to other users)
UHOME=/tmp/minirun-nonroot-$$  # lower case: the layout path names the image
mkdir "$UHOME"
on_exit rm -rf "$UHOME"
chmod 755 "$UHOME"
cp -r "$("$IMAGES" path busybox)" "$UHOME/layout"
chmod -R a+rX "$UHOME/layout"
chown nobody "$UHOME"
U=(runuser -u nobody -- env HOME="$UHOME" XDG_DATA_HOME="$UHOME/data" "$MINIRUN")
run_ok "${U[@]}" pull -q "oci:$UHOME/layout:latest"
RC=0; "${U[@]}" run --rm --network none "$OUT" true >"$TEST_TMPDIR/out" 2>"$TEST_TMPDIR/err" || RC=$?
assert_eq 125 "$RC" "a non-root run exits 125"
assert_eq 1 "$(wc -l <"$TEST_TMPDIR/err")" "one line: $(cat "$TEST_TMPDIR/err")"
assert_contains "$(cat "$TEST_TMPDIR/err")" "rootless containers are not supported yet: run minirun as root"
run_ok "${U[@]}" ps -aq
assert_eq "" "$OUT" "no container left behind"
pass "a non-root run: one clear line, nothing created"
