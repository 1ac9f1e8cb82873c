#!/usr/bin/env bash
# What a redeploy must never break (issue 10): rmi refuses an image a container uses and
# -f keeps what the container needs; the redeploy cycle keeps data; several names each
# report; bad -v/-u/-m/--cpus/-e are refused before anything is made; container args are
# never minirun flags; usage errors speak Docker; a corrupt index.json fails loudly.
source "$(dirname "$0")/common.sh"
require_root
require_cmd docker-registry jq nsenter curl
IMGBUILD=${IMGBUILD_BIN:?}

use_test_netns mr-safe
start_registry none
"$IMAGES" seed "$REGISTRY" busybox >/dev/null 2>&1 || fail "seeding busybox"
IMG=$REGISTRY/busybox:latest
ib() { "${N[@]}" "$IMGBUILD" --storage "$STORE" "$@"; }
layers_of() { jq -r '.[0].RootFS.Layers[]' <<<"$(mr inspect "$1")" | sed 's/^sha256://'; }

run_ok mr pull -q "$IMG"
run_ok m tag "$IMG" localhost/app:1
ctx=$(mktemp_dir)
printf 'FROM localhost/app:1\nRUN echo v2 > /version\n' >"$ctx/Containerfile"
run_ok ib build -q -t localhost/app:2 "$ctx"
mapfile -t v1_layers < <(layers_of localhost/app:1)

# --- the builder: ENV =x fails at its line; an image built without -t runs by its id ------
bad=$(mktemp_dir)
printf 'FROM localhost/app:1\nENV =x\n' >"$bad/Containerfile"
run_expect_fail ib build -t localhost/bad:1 "$bad"
assert_contains "$ERR" "Containerfile:2"
assert_contains "$ERR" "ENV names can not be blank"
assert_eq "" "$(mr images --format json | jq -r '.[].Name' | grep localhost/bad || true)" "nothing tagged"
untagged=$(mktemp_dir)
printf 'FROM localhost/app:1\nRUN echo untagged > /mark\n' >"$untagged/Containerfile"
run_ok ib build -q "$untagged"
id=$(tail -n1 <<<"$OUT")
[[ $id == sha256:* ]] || fail "build -q prints the image id, got: $id"
run_ok m run --rm --network none "$id" cat /mark
assert_eq untagged "$OUT" "run by sha256:<id>"
run_ok m run --rm --network none "${id:7:12}" cat /mark
assert_eq untagged "$OUT" "run by an id prefix"
run_ok mr images
assert_contains "$OUT" "<none>"
assert_contains "$OUT" "${id:7:12}" "the dangling image is listed as <none> <none>"
run_ok m rmi "${id:7:12}"
run_expect_fail m run --rm --network none --pull never "$id" true
pass "ENV =x refused at its line; an untagged build runs by its id and rmi removes it"

# --- the build cache is a GC root until `builder prune` (Docker's image prune spares it) -----
cached=$(mktemp_dir)
printf 'FROM localhost/app:1\nRUN echo cached > /c\n' >"$cached/Containerfile"
run_ok ib build -q -t localhost/cached:1 "$cached"
cl=$(layers_of localhost/cached:1 | tail -n1)
run_ok m rmi localhost/cached:1
run_ok mr image prune -f
[[ -d $STORE/layers/$cl ]] || fail "rmi/image prune collected a layer the build cache names"
run_ok ib build -t localhost/cached:1 "$cached"
assert_contains "$OUT" "Steps: 0 run, 1 cached" "the cached step is still a hit"
run_ok m rmi localhost/cached:1
run_ok mr builder prune -f
assert_contains "$OUT" "Deleted build cache:"
[[ ! -e $STORE/layers/$cl ]] || fail "builder prune left the layer only the cache kept"
run_ok mr inspect localhost/app:2
run_ok ib build -t localhost/cached:1 "$cached"
assert_contains "$OUT" "Steps: 1 run, 0 cached" "after builder prune the step runs again"
run_ok m rmi localhost/cached:1
pass "the build cache keeps its layers through rmi and image prune; builder prune lets them go"

# imgbuild stopped by SIGTERM to its pid: the RUN step's whole tree dies, nothing is tagged.
slow=$(mktemp_dir)
mark=$((4000 + $$ % 1000))
printf 'FROM localhost/app:1\nRUN sh -c "sleep %s & sleep %s"\n' "$mark" "$mark" >"$slow/Containerfile"
"${N[@]}" "$IMGBUILD" --storage "$STORE" build -t localhost/slow:1 "$slow" >/dev/null 2>"$TEST_TMPDIR/slow.err" &
bpid=$!
for _ in $(seq 100); do pgrep -f "^sleep $mark\$" >/dev/null && break; sleep 0.1; done
pgrep -f "^sleep $mark\$" >/dev/null || fail "the RUN step did not start"
kill -TERM "$bpid"
RC=0; wait "$bpid" || RC=$?
assert_eq 143 "$RC" "imgbuild exits 128+SIGTERM"
assert_contains "$(cat "$TEST_TMPDIR/slow.err")" "interrupted by TERM"
sleep 0.2
assert_eq "" "$(pgrep -f "^sleep $mark\$" || true)" "no process of the RUN step survives"
assert_eq "" "$(grep " $STORE/tmp" /proc/mounts || true)" "no build mount left"
run_expect_fail mr inspect localhost/slow:1
pass "imgbuild SIGTERM: step tree killed, nothing tagged, no mount left"

# --- rmi of an image a container uses --------------------------------------------------
run_ok m run -d --name svc1 --network none -v appdata:/data localhost/app:1 sh -c 'echo precious > /data/f; exec sleep 1000'
run_ok m rmi "$IMG"   # one of two names: only untagged
assert_contains "$OUT" "Untagged: $IMG"
before=$(store_fingerprint)
run_expect_fail m rmi localhost/app:1
assert_contains "$ERR" "image is in use by container"
assert_eq "$before" "$(store_fingerprint)" "refused rmi changes nothing"
run_ok m rmi -f localhost/app:1
assert_contains "$OUT" "Untagged: localhost/app:1"
for l in "${v1_layers[@]}"; do assert_file "$STORE/layers/$l" "layer kept for the container after rmi -f"; done
run_ok m exec svc1 sh -c 'cat /data/f; ls /bin/busybox'
assert_contains "$OUT" "precious"
assert_contains "$OUT" "/bin/busybox"
pass "rmi refuses an image in use; -f untags and keeps its layers"

# --- the redeploy cycle: stop, rm, run the new version, rmi old, image prune -a ----------
run_ok m stop -t 1 svc1
run_ok m rm svc1
run_ok m run -d --name svc2 --network none -v appdata:/data localhost/app:2 sh -c 'exec sleep 1000'
run_ok m image prune -a -f
run_ok m exec svc2 sh -c 'cat /data/f /version'
assert_eq "precious
v2" "$OUT" "volume data and the new image survive the redeploy"
run_ok m images --format json
assert_contains "$OUT" "localhost/app:2"
for l in "${v1_layers[@]}"; do assert_file "$STORE/layers/$l" "base layer still used by app:2"; done
assert_blobs_verified
pass "redeploy: data, running container and its image intact after image prune -a"

# --- several names: each tried, each failure reported, non-zero exit ------------------
run_ok m run -d --name a1 --network none localhost/app:2 sleep 1000
run_ok m run -d --name a2 --network none localhost/app:2 sleep 1000
RC=0; m stop -t 1 a1 ghost a2 >"$TEST_TMPDIR/out" 2>"$TEST_TMPDIR/err" || RC=$?
assert_eq 1 "$RC" "stop with one missing name fails"
assert_contains "$(cat "$TEST_TMPDIR/out")" "a1"
assert_contains "$(cat "$TEST_TMPDIR/out")" "a2"
assert_contains "$(cat "$TEST_TMPDIR/err")" "no such container: ghost"
RC=0; m rm a1 nope1 a2 nope2 >"$TEST_TMPDIR/out" 2>"$TEST_TMPDIR/err" || RC=$?
assert_eq 1 "$RC"
assert_eq 2 "$(grep -c 'no such container' "$TEST_TMPDIR/err")" "each failure on its own line"
run_ok m ps -a --format json
assert_not_contains "$OUT" '"a1"'
assert_not_contains "$OUT" '"a2"'
pass "stop/rm of several names"

# --- inputs refused with one line, nothing created ---------------------------------------
count_containers() { find "$STORE/containers" -mindepth 1 -maxdepth 1 | wc -l; }
n0=$(count_containers)
outside=$(dirname "$STORE")/escape-$$
check_refused() {  # EXPECTED-TEXT ARGS...
  local want=$1; shift
  RC=0; m run --rm --network none "$@" >"$TEST_TMPDIR/out" 2>"$TEST_TMPDIR/err" || RC=$?
  assert_eq 125 "$RC" "run $*"
  assert_contains "$(cat "$TEST_TMPDIR/err")" "$want"
  assert_eq 1 "$(wc -l <"$TEST_TMPDIR/err")" "one line for: $*"
}
# ../../x has a '/': a host path relative to the cwd (Docker's rule), never a volume name
# resolved against the store (which used to climb out of it).
mkdir -p "$TEST_TMPDIR/cwd/a/b"
(cd "$TEST_TMPDIR/cwd/a/b" && m run --rm --network none -v "../../escape-$$:/b" localhost/app:2 touch /b/f) || fail "-v ../../x"
assert_file "$TEST_TMPDIR/cwd/escape-$$/f" "relative bind resolved against the cwd"
assert_no_file "$outside" "nothing made beside the store"
check_refused 'invalid volume name' -v 'bad$name:/b' localhost/app:2 true
check_refused 'bind source path does not exist' --mount "type=bind,source=/nonexistent-$$,target=/b" localhost/app:2 true
check_refused 'outside the range' -u 4294967296 localhost/app:2 true
check_refused 'outside the range' -u 0:99999999999 localhost/app:2 true
check_refused 'minimum allowed memory limit is 6MB' -m 4m localhost/app:2 true
check_refused 'CPUs available' --cpus 1000 localhost/app:2 true
check_refused 'variable name is empty' -e =x localhost/app:2 true
assert_eq "$n0" "$(count_containers)" "no container directory left by refused runs"
assert_no_file "$STORE/volumes/bad\$name"
pass "bad -v, --mount, -u, -m, --cpus, -e refused with one line, nothing made"

# -v with a relative path is a bind mount against the cwd (created when missing), as Docker.
work=$(mktemp_dir)
(cd "$work" && m run --rm --network none -v ./rel:/b -v sub/dir:/c localhost/app:2 sh -c 'echo hi > /b/x; echo ho > /c/y') \
  || fail "relative bind mounts"
assert_eq hi "$(cat "$work/rel/x")"
assert_eq ho "$(cat "$work/sub/dir/y")"
assert_no_file "$STORE/volumes/rel"
pass "relative -v sources are bind mounts against the cwd"

# --- container arguments are never minirun flags ------------------------------------------
run_ok m run -d --name web -p 8080:80 localhost/app:2 httpd -f -p 80
cmd=$(m inspect web | jq -c '.[0].Config.Cmd // .[0].Args // .[0].Command')
assert_contains "$(m inspect web)" '"-p"'
code=0
for _ in $(seq 50); do
  code=$("${N[@]}" curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8080/ || true)
  [[ $code != 000 ]] && break
  sleep 0.1
done
assert_eq 404 "$code" "httpd -f -p 80 answers through -p 8080:80 (cmd $cmd)"
run_ok m rm -f web
pass "run -d IMAGE CMD ARGS: the container's -p is not ours"

# --- root's HOME and groups from the image; a user's bind over /etc/hosts wins -----------
run_ok m run --rm --network none localhost/app:2 sh -c 'echo $HOME; id'
assert_contains "$OUT" "/root"
assert_contains "$OUT" "uid=0(root) gid=0(root) groups=0(root)"
echo "10.1.2.3 mine" >"$TEST_TMPDIR/hosts"
run_ok m run --rm -v "$TEST_TMPDIR/hosts:/etc/hosts:ro" localhost/app:2 cat /etc/hosts
assert_eq "10.1.2.3 mine" "$OUT" "the user's /etc/hosts wins"
pass "root's HOME is /root; user binds over /etc/hosts win"

# --- usage errors as Docker's --------------------------------------------------------------
RC=0; mr imgaes >/dev/null 2>"$TEST_TMPDIR/err" || RC=$?
assert_eq 2 "$RC" "unknown command"
assert_contains "$(cat "$TEST_TMPDIR/err")" 'unknown command "imgaes"'
assert_contains "$(cat "$TEST_TMPDIR/err")" "images"
RC=0; mr run >/dev/null 2>"$TEST_TMPDIR/err" || RC=$?
assert_eq 125 "$RC" "run without an image"
RC=0; mr ps --bogus >/dev/null 2>"$TEST_TMPDIR/err" || RC=$?
assert_eq 2 "$RC" "a bad flag elsewhere is usage (2), never CLI11's own code"
pass "usage errors: 2, 125 for run, unknown command with a suggestion"

# --- a corrupt index.json fails loudly and pulls nothing ------------------------------------
cp "$STORE/store/index.json" "$TEST_TMPDIR/index.good"
echo '{"manifests": [' >"$STORE/store/index.json"
RC=0; m run --rm --network none localhost/app:2 true >/dev/null 2>"$TEST_TMPDIR/err" || RC=$?
assert_eq 125 "$RC"
assert_contains "$(cat "$TEST_TMPDIR/err")" "index.json is not valid JSON"
assert_not_contains "$(cat "$TEST_TMPDIR/err")" "pulling"
cp "$TEST_TMPDIR/index.good" "$STORE/store/index.json"
pass "corrupt index.json: named, no pull"

# --- a corrupt container record: said, the rest still listed, GC keeps every layer -------
run_ok m run -d --name keep --network none localhost/app:2 sleep 1000
run_ok m run -d --name broken --network none localhost/app:2 sleep 1000
bid=$(m inspect broken | jq -r '.[0].Id')
echo 'garbage' >"$STORE/containers/$bid/container.json"
_run_capture m ps
assert_contains "$OUT" "keep"
assert_contains "$ERR" "corrupt record"
nl=$(ls "$STORE/layers" | wc -l)
run_ok m image prune -a -f
assert_eq "$nl" "$(ls "$STORE/layers" | wc -l)" "no layer collected while a record is unreadable"
pass "corrupt container record: reported, others listed, nothing collected"
run_ok m rm -f "$bid"
assert_no_file "$STORE/containers/$bid" "rm -f of a full id clears an unreadable record"
# Its name goes with it, though the record that held it could not be read.
run_ok m run -d --name broken --network none localhost/app:2 sleep 1000
run_ok m rm -f broken keep

# --- runs racing for one name: exactly one gets it ---------------------------------------
for i in 1 2 3 4 5; do
  m run -d --name race --network none localhost/app:2 sleep 1000 >"$TEST_TMPDIR/race.$i" 2>&1 &
done
wait
won=$(grep -lE '^[0-9a-f]{64}$' "$TEST_TMPDIR"/race.* | wc -l)
assert_eq 1 "$won" "one of five concurrent runs --name race created it"
assert_eq 4 "$(grep -l 'the container name "race" is already in use by container' "$TEST_TMPDIR"/race.* | wc -l)" \
  "the other four were refused, naming the holder"
assert_eq 1 "$(m ps -a --filter name=^race$ -q | wc -l)" "one container named race"
run_ok m rm -f race
pass "concurrent runs with one --name: one container, the rest refused"

# --- system check: damaged blobs found, repaired, pulled again; images lists the rest ------
run_ok m system check
assert_contains "$OUT" "no problems"
run_ok mr pull -q "$IMG"
blob=$(mr inspect "$IMG" | jq -r '.[0].Layers[0].Digest')
bfile=$STORE/store/blobs/sha256/${blob#sha256:}
truncate -s 100 "$bfile"
RC=0; mr system check >"$TEST_TMPDIR/out" 2>&1 || RC=$?
assert_eq 1 "$RC" "system check fails on a damaged blob"
assert_contains "$(cat "$TEST_TMPDIR/out")" "blob $blob: content does not hash to its name"
# a pull reuses nothing it has not verified: the damaged blob is fetched again
run_ok mr pull "$IMG"
assert_eq "${blob#sha256:}" "$(sha256sum <"$bfile" | cut -d' ' -f1)" "pull re-fetched the damaged blob"
run_ok mr system check
truncate -s 10 "$bfile"
RC=0; OUT=$(mr system check --repair) || RC=$?
assert_eq 1 "$RC" "repair removed the blob; the images needing it still want a pull"
assert_contains "$OUT" "repaired: blob $blob"
assert_contains "$OUT" "pull $IMG again"
assert_no_file "$bfile"
run_ok mr pull -q "$IMG"
run_ok mr system check
assert_contains "$OUT" "no problems"
# a damaged config: images marks that image and lists the others
cfg=$(mr inspect localhost/app:2 | jq -r '.[0].Id')
echo broken >"$STORE/store/blobs/sha256/${cfg#sha256:}"
run_ok mr images
assert_contains "$OUT" "<damaged>"
assert_contains "$OUT" "busybox"
run_expect_fail mr system check --repair
assert_contains "$OUT" "repaired: blob $cfg"
run_expect_fail mr system check
assert_contains "$OUT" "image localhost/app:2: config $cfg is missing"
run_ok mr rmi -f localhost/app:2
run_ok mr system check
pass "system check finds and repairs damaged blobs; pull verifies what it reuses; images lists the rest"

# --- system check: an unpacked layer is checked against its blob (its diff id) ----------
lctx=$(mktemp_dir)
printf 'FROM %s\nRUN echo layer > /layerfile && mkdir /ld && echo x > /ld/x\n' "$IMG" >"$lctx/Containerfile"
run_ok ib build -q -t localhost/layer:1 "$lctx"
lhex=$(layers_of localhost/layer:1 | tail -n1)
ldir=$STORE/layers/$lhex
[[ -f $ldir/layerfile ]] || fail "expected the built layer at $ldir"
echo tampered >"$ldir/layerfile"
run_expect_fail mr system check
assert_contains "$OUT" "layer sha256:$lhex: /layerfile changed content"
run_ok mr system check --repair
assert_contains "$OUT" "repaired: layer sha256:$lhex"
run_ok m run --rm --network none localhost/layer:1 cat /layerfile
assert_eq layer "$OUT" "the repaired layer serves its original content"
touch "$ldir/extra"; chmod 700 "$ldir/ld"
run_expect_fail mr system check
assert_contains "$OUT" "/extra is not in the layer"
run_ok mr system check --repair
assert_no_file "$ldir/extra"
assert_eq 755 "$(stat -c %a "$ldir/ld")" "mode restored"
# a layer under a running container is reported, never swapped under it
run_ok m run -d --name layer-user --network none localhost/layer:1 sleep 300
echo tampered >"$ldir/ld/x"
run_expect_fail mr system check --repair
assert_contains "$OUT" "stop the containers using it"
assert_eq tampered "$(cat "$ldir/ld/x")" "a layer in use is left alone"
run_ok m rm -f layer-user
run_ok mr system check --repair
assert_eq x "$(cat "$ldir/ld/x")"
run_ok mr system check
assert_contains "$OUT" "no problems"
# an index entry whose manifest is gone: reported, and --repair drops the name
man=$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "localhost/layer:1") | .digest' "$STORE/store/index.json")
[[ $man == sha256:* ]] || fail "no index entry for localhost/layer:1"
rm "$STORE/store/blobs/sha256/${man#sha256:}"
run_expect_fail mr system check
assert_contains "$OUT" "image localhost/layer:1: manifest $man is missing"
run_ok mr system check --repair
assert_contains "$OUT" "repaired: image localhost/layer:1"
run_expect_fail mr inspect localhost/layer:1
run_ok mr image prune -f
run_ok mr system check
assert_contains "$OUT" "no problems"
pass "system check compares each unpacked layer with its blob; --repair extracts it again unless a running container stacks it"

# --- a SIGKILLed foreground run --rm: the next command reaps its record, veth and DNAT ----
rules() { "${N[@]}" iptables-save -t nat 2>/dev/null | grep -c -- '--dport 8081' || true; }
veths() { "${N[@]}" ip -o link show type veth | wc -l; }
v0=$(veths)
"${N[@]}" "$MINIRUN" --storage "$STORE" run --rm --name orphan -p 8081:80 "$IMG" sleep 1000 >/dev/null 2>&1 &
fg=$!
for _ in $(seq 100); do
  [[ $(m ps --format json | jq -r '.[] | select(.Name=="orphan") | .Status' 2>/dev/null) == Up* ]] && break
  sleep 0.1
done
oid=$(m inspect orphan | jq -r '.[0].Id')
(( $(rules) > 0 )) || fail "the DNAT rule for 8081 exists while it runs"
kill -9 "$fg"; wait "$fg" 2>/dev/null || true
assert_file "$STORE/containers/$oid" "the killed run left its record"
run_ok m ps -a
assert_not_contains "$OUT" "orphan"
assert_no_file "$STORE/containers/$oid" "record reaped"
assert_eq 0 "$(rules)" "DNAT rule reaped"
assert_eq "$v0" "$(veths)" "veth reaped"
pass "a SIGKILLed run --rm is reaped by the next ps"

run_ok mr system check
assert_contains "$OUT" "no problems"

# --- --privileged / --cap-add ALL on a host whose bounding set lacks some capabilities ------
require_cmd setpriv runc
for flag in --privileged "--cap-add ALL"; do
  # shellcheck disable=SC2086
  RC=0; OUT=$("${N[@]}" setpriv --bounding-set -sys_module,-sys_time "$MINIRUN" --storage "$STORE" run --rm --network none $flag "$IMG" \
    sh -c 'grep CapEff /proc/self/status' 2>"$TEST_TMPDIR/err") || RC=$?
  assert_eq 0 "$RC" "$flag under a reduced bounding set: $(cat "$TEST_TMPDIR/err")"
  eff=$((16#$(awk '{print $2}' <<<"$OUT")))
  (( (eff >> 16) & 1 )) && fail "$flag: CAP_SYS_MODULE granted outside the bounding set"
  (( (eff >> 21) & 1 )) || fail "$flag: CAP_SYS_ADMIN missing"
done
pass "--privileged and --cap-add ALL grant what the bounding set allows"

# --- minirun-oci runs the bundle `runc spec` writes (ambient without inheritable) ----------
B=$(mktemp_dir)/b
make_bundle "$B"
(cd "$B" && rm config.json && runc spec) || fail "runc spec"
config "$B" '.process.terminal=false | .process.args=["sh","-c","echo from-runc-spec"]'
run_ok oci run --bundle "$B" rs-$$
assert_eq from-runc-spec "$OUT" "runc spec's bundle runs"
pass "minirun-oci runs runc spec's bundle"

# --- run -d -p on a port already in use: our one line, exit 125, the error in inspect -----
"${N[@]}" python3 -c 'import socket,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", 8090)); s.listen(); time.sleep(60)' &
holder=$!
on_exit "kill $holder 2>/dev/null || true"
for _ in $(seq 50); do "${N[@]}" ss -ltn 2>/dev/null | grep -q ':8090 ' && break; sleep 0.1; done
RC=0; m run -d --name busyport -p 8090:80 "$IMG" httpd -f -p 80 >/dev/null 2>"$TEST_TMPDIR/err" || RC=$?
assert_eq 125 "$RC" "run -d on a busy port"
assert_contains "$(cat "$TEST_TMPDIR/err")" "port 8090"
assert_contains "$(cat "$TEST_TMPDIR/err")" "already in use on the host"
if m inspect busyport >"$TEST_TMPDIR/insp" 2>/dev/null; then
  assert_contains "$(jq -r '.[0].State.Error' "$TEST_TMPDIR/insp")" "already in use on the host"
  run_ok m rm -f busyport
fi
kill "$holder" 2>/dev/null || true
pass "run -d -p on a busy port: the supervisor's error reaches the user"

# --- exec -u: the user's HOME and groups (primary gid included); exec -t sets TERM ---------
run_ok m exec -u app svc2 sh -c 'id; echo "home=$HOME"'
assert_contains "$OUT" "uid=1000(app) gid=1000(app) groups=1000(app)"
assert_contains "$OUT" "home=/home/app"
run_ok m exec svc2 sh -c 'grep ^Groups /proc/self/status'
assert_contains "$OUT" "Groups:	0 " "root's groups from the image's /etc/group, primary first"
if command -v script >/dev/null; then
  OUT=$(script -qec "nsenter --net=/var/run/netns/$ns $MINIRUN --storage $STORE exec -t svc2 sh -c 'echo term=\$TERM'" /dev/null </dev/null | tr -d '\r')
  assert_contains "$OUT" "term=xterm"
fi
# exec -it on a terminal: a pty of the container's own devpts, TERM, typed input reaches
# the shell, and the exit status comes back.
OUT=$(python3 "$FIXTURES/pty_session.py" 'tty; echo "term=$TERM"; ls /dev/pts; stty size\nexit 7' \
  "${N[@]}" "$MINIRUN" --storage "$STORE" exec -it svc2 sh)
assert_contains "$OUT" "/dev/pts/0" "the exec's pty is the container's /dev/pts/0"
assert_contains "$OUT" "term=xterm"
assert_contains "$OUT" "24 80" "the pty has our terminal's size"
assert_contains "$OUT" "[exit 7]" "the shell's exit status"
pass "exec -u sets HOME and groups; exec -t sets TERM; exec -it gives the container's pty"

# --- a local ENOSPC during pull fails at once (no network retries) and leaves a clean store -
small=$(mktemp_dir)
mount -t tmpfs -o size=700k tmpfs "$small"
on_exit "umount -l '$small' 2>/dev/null || true"
RC=0; "$MINIRUN" --debug --storage "$small/s" pull -q "$IMG" >/dev/null 2>"$TEST_TMPDIR/err" || RC=$?
assert_eq 1 "$RC" "pull into a full disk fails"
assert_contains "$(cat "$TEST_TMPDIR/err")" "space left on device"
assert_not_contains "$(cat "$TEST_TMPDIR/err")" "resuming at byte" "a local error is not retried as a network one"
run_ok "$MINIRUN" --storage "$small/s" system check
assert_contains "$OUT" "no problems"
assert_eq "" "$("$MINIRUN" --storage "$small/s" images -q)" "nothing named"
umount -l "$small"
pass "ENOSPC during pull: fails at once, store consistent"

# --- a container that fills the disk gets ENOSPC itself; its exit status is still recorded ---
full=$(mktemp_dir)
mount -t tmpfs -o size=8m tmpfs "$full"
on_exit "umount -l '$full' 2>/dev/null || true"
F=("$MINIRUN" --storage "$full/s")
run_ok "${F[@]}" pull -q "$IMG"
# The pause lets the supervisor write "start" to the log before dd fills the disk: without
# it, whether the line lands first is a race the log cannot win (CI saw it lose once).
fill='echo start; sleep 1; dd if=/dev/zero of=/big bs=1M count=20 2>&1 | head -1; exit 7'
RC=0; OUT=$("${N[@]}" "${F[@]}" run --network none --name fg "$IMG" sh -c "$fill") || RC=$?
assert_eq 7 "$RC" "foreground run returns the container's own status on a full disk"
assert_contains "$OUT" "No space left on device"
run_ok "${F[@]}" logs fg
assert_contains "$OUT" "start" "the log keeps what it could write"
run_ok "${F[@]}" rm fg
run_ok "${N[@]}" "${F[@]}" run -d --network none --name bg "$IMG" sh -c "$fill"
run_ok "${F[@]}" wait bg
assert_eq 7 "$OUT" "a detached container's status is recorded although the disk is full"
assert_eq 7 "$("${F[@]}" inspect bg | jq -r '.[0].State.ExitCode')"
run_ok "${F[@]}" rm bg
assert_eq "" "$(ls "$full/s/containers")" "no container directory left"
run_ok "${F[@]}" system check
umount -l "$full"
pass "a container filling the disk: ENOSPC inside, its status recorded, nothing left behind"

# --- run -it forwards terminal resizes to the container's pty --------------------------------
OUT=$(python3 "$MINIRUN_SOURCE_DIR/tests/fixtures/pty_resize.py" "${N[@]}" "$MINIRUN" --storage "$STORE" \
  run --rm -it --network none "$IMG" sh -c 'stty size; echo READY; read x; stty size; echo DONE')
assert_contains "$OUT" "24 80" "initial size"
assert_contains "$OUT" "33 101" "size after the resize"
pass "run -it forwards terminal resizes"

# --- system prune: stopped containers and unused user networks go; running ones stay --------
run_ok m network create spare
run_ok m run --network none --name stopped1 "$IMG" true
run_ok m system prune -f
assert_contains "$OUT" "Deleted Networks:
spare"
run_ok m network ls
assert_not_contains "$OUT" "spare"
run_ok m ps -a --format json
assert_not_contains "$OUT" '"stopped1"'
assert_contains "$OUT" '"svc2"' "a running container stays"
run_ok m exec svc2 cat /data/f
assert_eq precious "$OUT"
pass "system prune: stopped containers, unused networks, unused content; running ones untouched"
