#!/usr/bin/env bash
# Push images from the store to a real docker-registry (registry::push_image, driven by
# the "push integration" doctest case in tests/unit/test_push_integration.cpp; there is
# no push CLI yet): each auth mode, skipped blobs on a second push, chunked upload
# resumed after injected faults, cross-repository mounts, a token expiring mid-push,
# and the errors (anonymous push, blob missing from the store, manifest refused).
source "$(dirname "$0")/common.sh"
require_root
require_cmd docker-registry skopeo jq
UNIT=$(dirname "$MINIRUN")/tests/unit_tests
[[ -x $UNIT ]] || skip "unit_tests binary not built ($UNIT)"
# The driver's HTTP goes through the libcurl plugin, which lives beside the programs.
export MINIRUN_CURL_PLUGIN=$(dirname "$MINIRUN")/minirun-curl.so

# push SOURCE DEST [VAR=VALUE...]: one push_image call; sets PUSHED to the driver's
# one-line result ("ok DIGEST uploaded=N mounted=N skipped=N" or "error MESSAGE").
push() {
  local out log
  out=$(mktemp "$TEST_TMPDIR/push.XXXXXX")
  log=$(mktemp "$TEST_TMPDIR/push-log.XXXXXX")
  env MINIRUN_PUSH_TEST=1 PUSH_STORE="$STORE" PUSH_SOURCE="$1" PUSH_DEST="$2" PUSH_OUT="$out" "${@:3}" \
    "$UNIT" -tc='*push integration*' >"$log" 2>&1 || fail "push driver failed: $(cat "$log")"
  PUSHED=$(<"$out")
  [[ -n $PUSHED ]] || fail "push driver wrote no result: $(cat "$log")"
  PUSH_LOG=$(<"$log")
}
push_ok() {
  push "$@"
  [[ $PUSHED == ok* ]] || fail "push $1 -> $2 failed: $PUSHED"
}
push_fails() {
  push "$@"
  [[ $PUSHED == error* ]] || fail "push $1 -> $2 unexpectedly succeeded: $PUSHED"
}
# store_digest NAME: the manifest digest the store records for NAME.
store_digest() {
  jq -r --arg n "$1" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $n) | .digest' \
    "$STORE/store/index.json"
}
# verify REF DIGEST [CREDS]: skopeo sees DIGEST for REF and can copy the image back.
verify() {
  local cred_opt=() dir
  [[ -n ${3:-} ]] && cred_opt=(--creds "$3")
  run_ok skopeo inspect --tls-verify=false "${cred_opt[@]}" "docker://$1"
  assert_eq "$2" "$(jq -r .Digest <<<"$OUT")" "skopeo inspect digest of $1"
  dir=$(mktemp_dir)
  run_ok skopeo copy --src-tls-verify=false "${cred_opt[@]/#--creds/--src-creds}" "docker://$1" "oci:$dir/copy:latest"
  run_ok skopeo inspect "oci:$dir/copy:latest"
  assert_eq "$2" "$(jq -r .Digest <<<"$OUT")" "digest of the copy of $1"
}

# The source: fixtures seeded into a plain registry and pulled into our store.
start_registry none
"$IMAGES" seed "$REGISTRY" >/dev/null 2>&1 || fail "seeding fixtures"
SRC=$REGISTRY
run_ok mr pull -q "$SRC/busybox:latest"
run_ok mr pull -q "$SRC/big:latest"
BUSYBOX="$SRC/busybox:latest" BIG="$SRC/big:latest"
BUSYBOX_DIGEST=$(store_digest "$BUSYBOX")
BIG_DIGEST=$(store_digest "$BIG")
[[ $BUSYBOX_DIGEST == sha256:* && $BIG_DIGEST == sha256:* ]] || fail "fixtures not in the store"

for mode in none basic token; do
  start_registry "$mode"
  auth=() login=""
  if [[ $mode != none ]]; then
    auth=(PUSH_USER="$REGISTRY_USER" PUSH_PASSWORD="$REGISTRY_PASSWORD")
    login="$REGISTRY_USER:$REGISTRY_PASSWORD"
  fi
  if [[ $mode != none ]]; then
    push_fails "$BUSYBOX" "$REGISTRY/denied/busybox:v1"
    assert_contains "$PUSHED" "registry $REGISTRY denied access to repository denied/busybox" "$mode: anonymous push"
    assert_contains "$PUSHED" "credentials sent: no"
    [[ $PUSHED != *$'\n'* ]] || fail "error is not one line: $PUSHED"
  fi
  push_ok "$BUSYBOX" "$REGISTRY/pushed/busybox:v1" "${auth[@]}"
  assert_eq "ok $BUSYBOX_DIGEST uploaded=2 mounted=0 skipped=0" "$PUSHED" "$mode: first push"
  assert_contains "$PUSH_LOG" "uploaded" "$mode: progress lines"
  verify "$REGISTRY/pushed/busybox:v1" "$BUSYBOX_DIGEST" "$login"
  push_ok "$BUSYBOX" "$REGISTRY/pushed/busybox:v1" "${auth[@]}"
  assert_eq "ok $BUSYBOX_DIGEST uploaded=0 mounted=0 skipped=2" "$PUSHED" "$mode: second push uploads nothing"
  assert_contains "$PUSH_LOG" "already exists" "$mode: skipped blobs are reported"
  # Cross-repository mount from the repository just pushed.
  push_ok "$BUSYBOX" "$REGISTRY/other/busybox:v2" "${auth[@]}" PUSH_MOUNT_FROM=nothing/here,pushed/busybox
  assert_eq "ok $BUSYBOX_DIGEST uploaded=0 mounted=2 skipped=0" "$PUSHED" "$mode: mounted from pushed/busybox"
  verify "$REGISTRY/other/busybox:v2" "$BUSYBOX_DIGEST" "$login"
  # A mount source lacking the blobs falls back to the upload the registry started.
  push_ok "$BUSYBOX" "$REGISTRY/third/busybox:v1" "${auth[@]}" PUSH_MOUNT_FROM=empty/repo
  assert_eq "ok $BUSYBOX_DIGEST uploaded=2 mounted=0 skipped=0" "$PUSHED" "$mode: failed mount falls back to upload"
  if [[ $mode == token ]]; then
    grep -q 'repository:pushed/busybox:pull' "$TOKEN_LOG" || fail "no pull scope requested for the mount source"
  fi
  pass "push in auth mode $mode (skopeo reads it back; second push skipped; mount)"
  "$FIXTURES/registry.sh" stop "$REGISTRY_DIR"
done

# Chunked upload of the big image through the fault proxy: one PATCH refused with 503
# (the chunk never reaches the registry: resumed from the offset the registry reports),
# one PATCH "cut" after the registry took it, a 502 on a POST and a 503 on the manifest.
# (fault_proxy cuts the response body; upload responses have none, so a cut PATCH is
# seen complete by the client and cannot simulate a drop before the registry's answer.)
start_registry none
start_proxy '[{"method": "PATCH", "path_contains": "/blobs/uploads/", "action": "status", "code": 503, "times": 1},
  {"method": "PATCH", "path_contains": "/blobs/uploads/", "action": "cut", "after_bytes": 0, "times": 1},
  {"method": "POST", "path_contains": "/blobs/uploads/", "action": "status", "code": 502, "times": 1},
  {"method": "PUT", "path_contains": "/manifests/", "action": "status", "code": 503, "times": 1}]'
push_ok "$BIG" "$PROXY/big:chunked" PUSH_CHUNK=1048576
assert_eq "ok $BIG_DIGEST uploaded=5 mounted=0 skipped=0" "$PUSHED" "chunked push of big"
patches=$(grep -c '"method": "PATCH"' "$PROXY_LOG")
((patches > 100)) || fail "expected chunked PATCH uploads, saw $patches"
grep -q '"method": "PATCH".*"status": 503' "$PROXY_LOG" || fail "no injected 503 on a PATCH"
grep -q '"method": "GET", "path": "[^"]*/blobs/uploads/' "$PROXY_LOG" || fail "no upload status query after the failed PATCH"
grep -q '"rule": "cut"' "$PROXY_LOG" || fail "cut rule did not fire"
verify "$REGISTRY/big:chunked" "$BIG_DIGEST"
push_ok "$BIG" "$REGISTRY/big:chunked" PUSH_CHUNK=1048576
assert_eq "ok $BIG_DIGEST uploaded=0 mounted=0 skipped=5" "$PUSHED" "second push of big"
pass "chunked upload resumed after injected faults"

# The default: each large blob streamed in one PATCH (small ones in one PUT), as docker
# and skopeo do; a refused PATCH is retried from the offset the registry reports.
start_registry none
start_proxy '[{"method": "PATCH", "path_contains": "/blobs/uploads/", "action": "status", "code": 503, "times": 1}]'
push_ok "$BIG" "$PROXY/big:streamed"
assert_eq "ok $BIG_DIGEST uploaded=5 mounted=0 skipped=0" "$PUSHED" "streamed push of big"
large=$(jq '[.layers[] | select(.size >= 8388608)] | length' "$STORE/store/blobs/sha256/${BIG_DIGEST#sha256:}")
patches=$(grep -c '"method": "PATCH"' "$PROXY_LOG")
assert_eq "$((large + 1))" "$patches" "PATCH requests: one per large blob plus the refused one"
verify "$REGISTRY/big:streamed" "$BIG_DIGEST"
pass "default upload: one PATCH per large blob, retried after a refused PATCH"

# Real dropped connections, which fault_proxy cannot make for uploads (it cuts response
# bodies; upload responses have none): a small inline proxy drops the connection of the
# 3rd PATCH after forwarding it (the registry holds the chunk, the client never hears so)
# and of a later PATCH (not a blob's first) halfway through its body (the registry holds
# nothing of that chunk, but the chunks before it); it
# also answers 404 NAME_UNKNOWN for repositories under missing/.
drop_dir=$(mktemp_dir)
cat >"$drop_dir/proxy.py" <<'PY'
import http.client, http.server, socketserver, sys, threading
upstream, port_file, log_file = sys.argv[1:4]
lock, count, dropped = threading.Lock(), [0], [False]
def log(line):
    with lock, open(log_file, "a") as f:
        f.write(line + "\n")
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def handle_any(self):
        if self.path.startswith("/v2/missing/"):
            payload = b'{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}'
            self.send_response(404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "0" if self.command == "HEAD" else str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)
            return
        n = 0
        if self.command == "PATCH":
            with lock:
                count[0] += 1
                n = count[0]
        length = int(self.headers.get("Content-Length") or 0)
        # Mid-body drop on the first PATCH from the 6th on that does not start a blob (blobs
        # upload in parallel: the 6th PATCH may be any blob's first), so the registry holds
        # a prefix to report.
        rng = self.headers.get("Content-Range") or "0-"
        midbody = False
        if n >= 6 and not rng.startswith("0-"):
            with lock:
                midbody = not dropped[0]
                dropped[0] = True
        if midbody:
            self.rfile.read(length // 2)
            log("drop-midbody %s %s" % (self.headers.get("Content-Range"), self.path))
            self.close_connection = True
            return
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        c = http.client.HTTPConnection(upstream, timeout=60)
        c.request(self.command, self.path, body=body, headers=headers)
        r = c.getresponse()
        data = r.read()
        log("%s %s %s range=%s" % (self.command, self.path.split("?")[0], r.status, r.getheader("Range")))
        if n == 3:
            log("drop-after-forward %s" % self.headers.get("Content-Range"))
            self.close_connection = True
            return
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() in ("content-length", "connection", "transfer-encoding"):
                continue
            if k.lower() == "location":
                v = v.replace(upstream, self.headers.get("Host", upstream))
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = handle_any
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
srv = S(("127.0.0.1", 0), H)
open(port_file + ".tmp", "w").write(str(srv.server_address[1]))
import os; os.rename(port_file + ".tmp", port_file)
srv.serve_forever()
PY
: >"$drop_dir/log"
/usr/bin/python3 "$drop_dir/proxy.py" "$REGISTRY" "$drop_dir/port" "$drop_dir/log" &
drop_pid=$!
on_exit "kill $drop_pid 2>/dev/null"
for _ in $(seq 100); do [[ -s $drop_dir/port ]] && break; sleep 0.05; done
[[ -s $drop_dir/port ]] || fail "drop proxy did not start"
push_ok "$BIG" "127.0.0.1:$(cat "$drop_dir/port")/drops/big:v1" PUSH_CHUNK=1048576
assert_eq "ok $BIG_DIGEST uploaded=5 mounted=0 skipped=0" "$PUSHED" "chunked push through dropped connections"
grep -q '^drop-after-forward' "$drop_dir/log" || fail "no connection dropped after forwarding"
grep -q '^drop-midbody' "$drop_dir/log" || fail "no connection dropped mid-body"
# After the mid-body drop the registry reports what it holds (Range: 0-N) and the upload
# resumes there. After the drop-after-forward, distribution 2.8 refuses the status query
# (the Location's _state still records the old offset: 404), so that blob starts over.
grep -q '^GET /v2/drops/big/blobs/uploads/[^ ]* 204 range=0-[1-9]' "$drop_dir/log" ||
  fail "no upload status query reporting an offset after the drops: $(grep -v ^PATCH "$drop_dir/log" | head -c 3000)"
verify "$REGISTRY/drops/big:v1" "$BIG_DIGEST"
pass "chunked upload resumed from the registry's offset after dropped connections"
# The same proxy plays a registry that does not know repository "missing/...".
push_fails "$BUSYBOX" "127.0.0.1:$(cat "$drop_dir/port")/missing/busybox:v1"
assert_contains "$PUSHED" "repository missing/busybox not found on 127.0.0.1:"
assert_contains "$PUSHED" "NAME_UNKNOWN: repository name not known to registry"
pass "unknown repository reported"
kill "$drop_pid" 2>/dev/null || true

# Manifest refused: the registry's error text is in the message.
start_proxy '[{"method": "PUT", "path_contains": "/manifests/", "action": "status", "code": 400}]'
push_fails "$BUSYBOX" "$PROXY/refused:v1"
assert_contains "$PUSHED" "refused the manifest (HTTP 400): UNAVAILABLE: injected fault"
pass "manifest refusal reported with the registry's message"

# A blob missing from the store is named before anything is sent.
broken=$(mktemp_dir)
cp -a "$STORE/." "$broken/"
layer=$(jq -r '.layers[0].digest' "$broken/store/blobs/sha256/${BUSYBOX_DIGEST#sha256:}")
rm "$broken/store/blobs/sha256/${layer#sha256:}"
STORE=$broken push_fails "$BUSYBOX" "$REGISTRY/broken:v1"
assert_contains "$PUSHED" "layer blob $layer is missing from the store"
pass "missing blob named"
"$FIXTURES/registry.sh" stop "$REGISTRY_DIR"

# A token expiring mid-push: 2 s tokens against a few seconds of 512 KiB chunks. The
# registry answers 401 to an upload request once the token is stale; the client fetches a
# new token (re-sending the chunk from its first byte) and the push completes.
TOKEN_TTL=2 start_registry token
start=$SECONDS
push_ok "$BIG" "$REGISTRY/big:ttl" PUSH_USER="$REGISTRY_USER" PUSH_PASSWORD="$REGISTRY_PASSWORD" PUSH_CHUNK=524288
assert_eq "ok $BIG_DIGEST uploaded=5 mounted=0 skipped=0" "$PUSHED" "push with expiring tokens"
tokens=$(grep -c 'scope=repository:big:pull,push' "$TOKEN_LOG")
grep -Eq '"(PATCH|PUT) /v2/big/blobs/uploads/[^"]*" 401' "$REGISTRY_LOG" ||
  fail "no upload request met an expired token (push took $((SECONDS - start))s, $tokens tokens): test is vacuous"
# skopeo (the oracle) does not renew a token that expires mid-copy, so give it long ones.
echo 300 >"$(dirname "$TOKEN_LOG")/token.ttl"
verify "$REGISTRY/big:ttl" "$BIG_DIGEST" "$REGISTRY_USER:$REGISTRY_PASSWORD"
pass "token expiring mid-push renewed ($tokens push tokens in $((SECONDS - start))s)"

# The CLI: `minirun push` and `imgbuild push` over the same code; a second push uploads
# nothing and says so; an unknown image is a one-line error.
start_registry none
"$IMAGES" seed "$REGISTRY" busybox >/dev/null 2>&1 || fail "seeding busybox for the CLI check"
STORE=$(mktemp_dir)
run_ok mr pull -q "$REGISTRY/busybox:latest"
run_ok mr push -q "$REGISTRY/busybox:latest" "$REGISTRY/cli/app:1.0"
want=$(skopeo inspect --tls-verify=false "docker://$REGISTRY/cli/app:1.0" | jq -r .Digest)
assert_eq "Digest: $want" "$OUT" "minirun push prints the registry's digest"
run_ok "${IMGBUILD_BIN:?}" --storage "$STORE" push "$REGISTRY/busybox:latest" "$REGISTRY/cli/app:1.0"
assert_contains "$OUT" "0 blobs uploaded, 0 mounted, 2 already present"
run_expect_fail mr push nosuch
assert_eq "Error: push: image nosuch is not in the store" "$ERR"
pass "minirun push / imgbuild push commands"

# An OCI layout as the source (skopeo's oci:DIR:TAG): the same bytes reach the registry,
# the digest is the layout's; a missing tag and a missing destination are one-line errors.
layout=$("$IMAGES" path busybox)
layout_digest=$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "latest") | .digest' "$layout/index.json")
run_ok "${IMGBUILD_BIN:?}" --storage "$STORE" push -q "oci:$layout:latest" "$REGISTRY/from-layout/busybox:v1"
assert_eq "Digest: $layout_digest" "$OUT" "push from an OCI layout keeps its manifest digest"
verify "$REGISTRY/from-layout/busybox:v1" "$layout_digest"
run_expect_fail mr push "oci:$layout:nosuch" "$REGISTRY/from-layout/busybox:v2"
assert_contains "$ERR" "has no image nosuch"
run_expect_fail mr push "oci:$layout:latest"
assert_contains "$ERR" "name a destination for oci:$layout:latest"
pass "push from an OCI layout (oci:DIR:TAG)"

# The reverse: an OCI layout into the store (podman's name for it: localhost<DIR>:<TAG>);
# a second pull finds the layer there; skopeo reads the store's copy with the same digest.
run_ok mr pull "oci:$layout:latest"
assert_contains "$OUT" "Pulled localhost$layout:latest ("
run_ok skopeo inspect "oci:$STORE/store:localhost$layout:latest"
assert_eq "$layout_digest" "$(jq -r .Digest <<<"$OUT")" "the store holds the layout's manifest"
run_ok mr pull -q "oci:$layout:latest"
assert_eq "localhost$layout:latest" "$OUT"
run_ok mr pull "oci:$layout:latest"
assert_contains "$OUT" "(0 layers downloaded, 1 already present)"
run_expect_fail mr pull "oci:$layout:nosuch"
assert_contains "$ERR" "has no image nosuch"
pass "pull from an OCI layout into the store (oci:DIR:TAG)"
"$FIXTURES/registry.sh" stop "$REGISTRY_DIR"
