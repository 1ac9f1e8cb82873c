#!/usr/bin/env bash
# `attach`, `create` + `start -a/-i` and detach keys (issue 14): a detached container's
# output reaches an attached client, its stdin takes the client's input (a pipe with -i,
# the pty with -t), Ctrl-P Ctrl-Q (or --detach-keys) leaves it running, the client exits
# with the container's status, signals are proxied; `create` + `start -a` give podman's
# output and status; errors are one line.
source "$(dirname "$0")/common.sh"
require_root
require_cmd podman script

busybox_beside_podman
work=$(mktemp_dir)

# Output as it comes; --sig-proxy=false: the timeout's TERM stays with the client.
run_ok mr run -d --name ticker --network none "$img" sh -c 'i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done'
timeout 1.5 "$MINIRUN" --storage "$STORE" attach --no-stdin --sig-proxy=false ticker >"$work/ticks" || true
grep -q '^tick [0-9]' "$work/ticks" || fail "attach showed no output: $(<"$work/ticks")"
run_ok mr inspect -f '{{.State.Running}}' ticker
assert_eq true "$OUT" "the container runs on after the client left"
pass "attach streams a detached container's output"

# -di: stdin stays open (a pipe) for attach to feed.
run_ok mr run -di --name cat1 --network none "$img" cat
(printf 'through the pipe\n'; sleep 1) | timeout 3 "$MINIRUN" --storage "$STORE" attach --sig-proxy=false cat1 >"$work/cat" || true
assert_eq "through the pipe" "$(<"$work/cat")" "attach feeds stdin of a -di container"
pass "attach feeds a -i container's stdin"

# -dit: the pty; Ctrl-P Ctrl-Q detach, the shell runs on; --detach-keys changes them.
run_ok mr run -dit --name sh1 --network none "$img" sh
(sleep 0.5; printf 'echo tty-$((6*7))\n'; sleep 1; printf '\x10\x11') | timeout 10 script -qec "$MINIRUN --storage $STORE attach sh1" /dev/null >"$work/tty" || fail "attach did not detach on ctrl-p ctrl-q: $(<"$work/tty")"
assert_contains "$(<"$work/tty")" "tty-42" "the command typed ran in the container's shell"
run_ok mr inspect -f '{{.State.Running}}' sh1
assert_eq true "$OUT" "detached, not stopped"
(sleep 0.5; printf 'echo again-$((2+3))\n'; sleep 1; printf '\x18y') | timeout 10 script -qec "$MINIRUN --storage $STORE attach --detach-keys ctrl-x,y sh1" /dev/null >"$work/tty2" || fail "--detach-keys ctrl-x,y did not detach"
assert_contains "$(<"$work/tty2")" "again-5" "the same shell, attached again"
(sleep 0.5; printf 'exit 4\n') | timeout 10 script -qec "$MINIRUN --storage $STORE attach sh1; echo client-status=\$?" /dev/null >"$work/tty3" || true
assert_contains "$(<"$work/tty3")" "client-status=4" "attach exits with the container's status"
pass "attach -t: typed input, ctrl-p ctrl-q and --detach-keys detach, the exit status comes back"

# run -it: the same detach from a foreground run (the container runs on, the command exits
# 0); attach again later; --detach-keys on run; a short --rm run keeps its output and status.
(sleep 1; printf 'echo fg-$((3*3))\n'; sleep 1; printf '\x10\x11') |
  timeout 15 script -qec "$MINIRUN --storage $STORE run -it --name fg1 --network none $img sh; echo run-status=\$?" /dev/null >"$work/fg" ||
  fail "run -it did not detach on ctrl-p ctrl-q: $(<"$work/fg")"
assert_contains "$(<"$work/fg")" "fg-9" "typed into the foreground run's shell"
assert_contains "$(<"$work/fg")" "run-status=0" "run -it exits 0 when detached"
run_ok mr inspect -f '{{.State.Running}}' fg1
assert_eq true "$OUT" "the container runs on after run -it detached"
(sleep 0.5; printf 'exit 6\n') | timeout 10 script -qec "$MINIRUN --storage $STORE attach fg1; echo client-status=\$?" /dev/null >"$work/fg1b" || true
assert_contains "$(<"$work/fg1b")" "client-status=6" "attach to the detached run -it container, its status"
(sleep 1; printf 'echo keys\n'; sleep 1; printf '\x01d') |
  timeout 15 script -qec "$MINIRUN --storage $STORE run -it --detach-keys ctrl-a,d --name fg3 --network none $img sh; echo run-status=\$?" /dev/null >"$work/fg3" ||
  fail "run -it --detach-keys ctrl-a,d did not detach: $(<"$work/fg3")"
assert_contains "$(<"$work/fg3")" "run-status=0"
run_ok mr inspect -f '{{.State.Running}}' fg3
assert_eq true "$OUT" "--detach-keys on run"
sleep 3 | timeout 15 script -qec "$MINIRUN --storage $STORE run -it --rm --name fg2 --network none $img sh -c 'echo short-lived; exit 3'; echo run-status=\$?" /dev/null >"$work/fg2" || true
assert_contains "$(<"$work/fg2")" "short-lived" "a short run -it keeps its output"
assert_contains "$(<"$work/fg2")" "run-status=3" "and its status"
run_expect_fail mr inspect fg2
run_expect_fail mr run -it --detach-keys ctrl-1 --network none "$img" true
assert_contains "$ERR" "ctrl-1"
run_ok mr rm -f fg1 fg3
pass "run -it: ctrl-p ctrl-q (or --detach-keys) detach and leave it running; a short --rm run keeps output and status"

# The status of a container that ends while attached; signals proxied without a tty.
run_ok mr run -d --name ends --network none "$img" sh -c 'sleep 1; exit 7'
run_expect_fail mr attach ends
assert_eq 7 "$RC" "attach returns the exit status"
run_ok mr run -d --name trapper --network none "$img" sh -c 'trap "echo got-term; exit 9" TERM; while true; do sleep 0.1; done'
"$MINIRUN" --storage "$STORE" attach trapper >"$work/trap" &
client=$!
sleep 0.7
kill -TERM "$client"
wait "$client" && rc=0 || rc=$?
assert_eq 9 "$rc" "SIGTERM to the client reached the container"
assert_eq got-term "$(<"$work/trap")"
pass "attach: the container's exit status, signals proxied"

# create + start -a (-i) as podman's: output on the right streams, the status returned.
for side in mr podman; do
  if [[ $side == mr ]]; then c=(mr); flags=(); else c=("${P[@]}"); flags=("${podman_run_flags[@]}"); fi
  "${c[@]}" create --name once --network none "${flags[@]}" "$img" sh -c 'echo out; echo err >&2; exit 3' >/dev/null || fail "$side create"
  "${c[@]}" inspect -f '{{.State.Status}}' once >"$work/created-$side" || fail "$side inspect"
  "${c[@]}" start -a once >"$work/out-$side" 2>"$work/err-$side" && echo 0 >"$work/rc-$side" || echo $? >"$work/rc-$side"
  "${c[@]}" create -i --name feed --network none "${flags[@]}" "$img" sh -c 'tr a-z A-Z' >/dev/null || fail "$side create -i"
  echo piped | "${c[@]}" start -ai feed >"$work/feed-$side" || fail "$side start -ai"
done
for f in created out err rc feed; do
  assert_eq "$(<"$work/$f-podman")" "$(<"$work/$f-mr")" "create + start -a: $f as podman's"
done
assert_eq "created|out|err|3|PIPED" "$(<"$work/created-mr")|$(<"$work/out-mr")|$(<"$work/err-mr")|$(<"$work/rc-mr")|$(<"$work/feed-mr")"
pass "create, start -a and start -ai as podman's"

one_line_error() {  # one_line_error WANT ARGS…
  local want=$1
  shift
  run_expect_fail mr "$@"
  assert_contains "$ERR" "$want" "$*"
  assert_eq 1 "$(wc -l <<<"$ERR")" "$*: one line"
}
one_line_error "you cannot attach to a stopped container" attach once
one_line_error 'invalid detach keys "ctrl-1"' attach --detach-keys ctrl-1 ticker
one_line_error "no such container" attach nothere
one_line_error "cannot start and attach several containers" start -a once feed
pass "attach errors: one line each"
