#!/usr/bin/env bash
# The runc verbs end to end: create/start/state/kill/delete, exec, pause/resume, ps,
# list, update, the console socket, and the CVE guards (fds, /proc/<pid>/exe).
source "$(dirname "$0")/common.sh"
require_root
require_cmd umoci jq

B=$(mktemp_dir)/bundle
make_bundle "$B"
config "$B" '.process.args=["sleep","1000"]'

run_ok oci create --bundle "$B" --pid-file "$TEST_TMPDIR/pid" ct1
run_ok oci state ct1
[[ $(jq -r .status <<<"$OUT") == created ]] || fail "state after create: $OUT"
pid=$(jq -r .pid <<<"$OUT")
assert_eq "$pid" "$(cat "$TEST_TMPDIR/pid")" "pid file"
[[ $(jq -r .bundle <<<"$OUT") == "$B" ]] || fail "bundle in state"
# CVE-2019-5736: another container process cannot open the init's /proc/<pid>/exe.
run_ok oci exec ct1 sh -c 'cat /proc/1/exe >/dev/null 2>&1 && echo OPENED || echo DENIED; ls /proc/self/fd | wc -l'
assert_contains "$OUT" "DENIED" "container process opened /proc/1/exe of the runtime"
run_ok oci start ct1
run_ok oci state ct1
[[ $(jq -r .status <<<"$OUT") == running ]] || fail "state after start"
run_expect_fail oci start ct1
assert_contains "$ERR" "not created"
pass "create, state, start"

# exec: env, cwd, user, exit code, in the container's namespaces and cgroup
run_ok oci exec --env FOO=bar --cwd /tmp --user 1000:1000 ct1 sh -c 'echo "$FOO $(pwd) $(id -u) $(cat /proc/1/cmdline | tr "\0" " ")"; readlink /proc/self/ns/pid'
assert_contains "$OUT" "bar /tmp 1000 sleep 1000"
container_pidns=$(readlink /proc/$pid/ns/pid)
assert_contains "$OUT" "$container_pidns"
RC=0; oci exec ct1 sh -c 'exit 7' || RC=$?
assert_eq 7 "$RC" "exec exit status"
run_expect_fail oci exec ct1 no-such-binary
assert_contains "$ERR" 'exec: "no-such-binary": executable file not found in $PATH'
proc_json=$(mktemp_dir)/process.json
jq '.process | .args=["sh","-c","echo from-process-json"]' "$B/config.json" >"$proc_json"
run_ok oci exec --process "$proc_json" ct1
assert_contains "$OUT" "from-process-json"
run_ok oci exec -d --pid-file "$TEST_TMPDIR/epid" ct1 sleep 500
epid=$(cat "$TEST_TMPDIR/epid")
run_ok oci ps --format json ct1
[[ $(jq "index($pid) != null and index($epid) != null" <<<"$OUT") == true ]] || fail "ps lacks init or exec'd process: $OUT"
run_ok oci ps ct1
assert_contains "$OUT" "sleep 500"
pass "exec (args, --process, detached, exit codes, errors), ps"

# CVE-2024-21626: no fd beyond stdio leaks into the container; --preserve-fds passes them.
exec 7>"$TEST_TMPDIR/leak"
run_ok oci exec ct1 sh -c 'ls /proc/self/fd'
assert_eq "0 1 2 3" "$(echo $OUT)" "fds seen by an exec'd process (3 is ls's own)"
exec 7>&-
pass "no leaked fds"

# pause/resume, update, kill by name and number
run_ok oci pause ct1
[[ $(oci state ct1 | jq -r .status) == paused ]] || fail "not paused"
grep -q "State:.*T\|State:.*D" /proc/$pid/status || grep -q FROZEN /sys/fs/cgroup/freezer/minirun/ct1/freezer.state 2>/dev/null || fail "init not frozen"
run_ok oci resume ct1
[[ $(oci state ct1 | jq -r .status) == running ]] || fail "not resumed"
echo '{"pids":{"limit":77},"memory":{"limit":100000000}}' | oci update --resources - ct1 || fail "update"
limit=$(cat /sys/fs/cgroup/pids/minirun/ct1/pids.max 2>/dev/null || cat /sys/fs/cgroup/minirun/ct1/pids.max)
assert_eq 77 "$limit" "update pids limit"
run_ok oci list --format json
[[ $(jq -r '.[] | select(.id=="ct1") | .status' <<<"$OUT") == running ]] || fail "list json"
run_ok oci list -q
assert_eq ct1 "$OUT"
run_expect_fail oci delete ct1
assert_contains "$ERR" "not stopped"
run_ok oci kill ct1 KILL
for _ in $(seq 100); do [[ $(oci state ct1 | jq -r .status) == stopped ]] && break; sleep 0.02; done
[[ $(oci state ct1 | jq -r .status) == stopped ]] || fail "not stopped after kill"
run_ok oci delete ct1
run_expect_fail oci state ct1
assert_contains "$ERR" "does not exist"
run_ok oci delete --force ct1
assert_no_file /sys/fs/cgroup/pids/minirun/ct1 "cgroup left after delete"
assert_no_file "$OCI_ROOT/ct1" "state left after delete"
pass "pause/resume, update, list, kill, delete (--force on a missing container)"

# kill --all, signal numbers, delete --force of a running container
run_ok oci run -d --bundle "$B" ct2
run_ok oci exec -d ct2 sleep 300
run_ok oci kill --all ct2 9
for _ in $(seq 100); do [[ -z $(oci ps --format json ct2 | jq -r '.[]') ]] && break; sleep 0.02; done
[[ $(oci ps --format json ct2) == "[]" ]] || fail "kill --all left processes"
run_ok oci delete ct2
run_ok oci run -d --bundle "$B" ct3
run_ok oci delete --force ct3
pass "kill --all, delete --force"

# console socket: the pty master travels over SCM_RIGHTS; the process has a terminal.
sock=$TEST_TMPDIR/console.sock
/usr/bin/python3 "$FIXTURES/console_receiver.py" "$sock" "$TEST_TMPDIR/console.out" "hello-tty" &
rpid=$!
for _ in $(seq 100); do [[ -S $sock ]] && break; sleep 0.02; done
config "$B" '.process.terminal=true | .process.consoleSize={height:33,width:101} | .process.args=["sh","-c","read line; echo got=$line; stty size; tty; echo DONE"]'
run_ok oci run --console-socket "$sock" --bundle "$B" ct4
wait $rpid || fail "console receiver failed"
out=$(cat "$TEST_TMPDIR/console.out")
assert_contains "$out" "got=hello-tty"
assert_contains "$out" "33 101"
assert_contains "$out" "/dev/pts/0"
pass "terminal through the console socket"

# --log with json errors; features; version; systemd cgroup on a host without systemd
run_expect_fail "$OCI" --root "$OCI_ROOT" --log "$TEST_TMPDIR/log.json" --log-format json state nope
jq -e 'select(.level=="error") | .msg | contains("nope")' "$TEST_TMPDIR/log.json" >/dev/null || fail "json log"
run_ok oci features
jq -e '.linux.seccomp.enabled and (.linux.namespaces | index("user")) and .linux.cgroup.v1' <<<"$OUT" >/dev/null || fail "features: $OUT"
run_ok "$OCI" --version
assert_contains "$OUT" "spec: 1.1"
if [[ ! -d /run/systemd/system ]]; then
  run_expect_fail oci --systemd-cgroup list
  assert_contains "$ERR" "does not run systemd"
fi
pass "log file, features, version"

# Pure cgroup v2 (a stock Debian 12 host), emulated in a private mount namespace where
# the cgroup2 hierarchy is mounted alone at /sys/fs/cgroup: the init is cloned straight
# into its cgroup (CLONE_INTO_CGROUP), sees itself there, and delete removes the cgroup.
V2B=$(mktemp_dir)/bundle
make_bundle "$V2B"
config "$V2B" '.process.args=["cat","/proc/self/cgroup"] | .linux.cgroupsPath="/minirun-test/v2ct"'
v2_out=$(unshare -m --propagation private bash -c '
  umount -R /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup || exit 99
  "$1" --debug --root "$2" run --bundle "$3" v2ct 2>&1
  echo "left=[$(ls -d /sys/fs/cgroup/minirun-test/v2ct 2>/dev/null)]"
  rmdir /sys/fs/cgroup/minirun-test 2>/dev/null' _ "$OCI" "$OCI_ROOT" "$V2B") || fail "pure v2 run failed: $v2_out"
assert_contains "$v2_out" "0::/minirun-test/v2ct" "the init's cgroup on pure v2"
assert_contains "$v2_out" "init cloned into its cgroup" "CLONE_INTO_CGROUP on pure v2"
assert_contains "$v2_out" "left=[]" "cgroup left behind on pure v2"
pass "pure cgroup v2: init cloned into its cgroup, which delete removes"
