#!/usr/bin/env bash
# imgbuild build --ssh with RUN --mount=type=ssh (issue 14): a RUN step lists the keys of
# a real ssh-agent through the socket it is given (the caller's agent for `default`, and
# key files loaded into an agent of the build's own), the socket is owned and moded as the
# mount asks, the key is never in the image, and a missing agent is an error with file:line
# only when the mount is required.
source "$(dirname "$0")/common.sh"
require_root
require_cmd ssh-agent ssh-add ssh-keygen gcc
IMGBUILD=${IMGBUILD_BIN:?}
ib() { "$IMGBUILD" --storage "$STORE" "$@"; }

start_registry none
"$IMAGES" seed "$REGISTRY" busybox >/dev/null 2>&1 || fail "seeding busybox"
CTX=$(mktemp_dir)
work=$(mktemp_dir)

# A static client inside the build: asks the agent for its identities and prints their comments.
cat >"$work/agentls.c" <<'C'
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
static int rd(int fd, void* p, size_t n) {
  size_t d = 0;
  while (d < n) { ssize_t r = read(fd, (char*)p + d, n - d); if (r <= 0) return -1; d += (size_t)r; }
  return 0;
}
static uint32_t be(const unsigned char* b) { return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]; }
int main(int argc, char** argv) {
  const char* path = argc > 1 ? argv[1] : getenv("SSH_AUTH_SOCK");
  if (!path) { puts("no SSH_AUTH_SOCK"); return 2; }
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  strncpy(a.sun_path, path, sizeof a.sun_path - 1);
  if (connect(fd, (struct sockaddr*)&a, sizeof a)) { perror("connect"); return 3; }
  unsigned char req[5] = {0, 0, 0, 1, 11}, h[5];  /* SSH2_AGENTC_REQUEST_IDENTITIES */
  if (write(fd, req, 5) != 5 || rd(fd, h, 5) || h[4] != 12) { puts("bad answer"); return 4; }
  uint32_t len = be(h) - 1, n, off = 4;
  unsigned char* b = malloc(len);
  if (rd(fd, b, len)) return 5;
  n = be(b);
  printf("keys=%u\n", n);
  for (uint32_t i = 0; i < n; i++) {
    off += 4 + be(b + off);
    uint32_t cl = be(b + off);
    printf("%.*s\n", (int)cl, (char*)b + off + 4);
    off += 4 + cl;
  }
  return 0;
}
C
gcc -static -O2 -o "$CTX/agentls" "$work/agentls.c" || fail "compile the agent client"
ssh-keygen -q -t ed25519 -N '' -C caller-key -f "$work/caller" || fail "ssh-keygen"
ssh-keygen -q -t ed25519 -N '' -C file-key -f "$work/filekey" || fail "ssh-keygen"
ssh-keygen -q -t ed25519 -N 'a passphrase' -C locked -f "$work/locked" || fail "ssh-keygen"
agent_sock=$work/agent.sock
ssh-agent -a "$agent_sock" -D >/dev/null 2>&1 &
agent_pid=$!
on_exit "kill $agent_pid 2>/dev/null || true"
for _ in $(seq 50); do [[ -S $agent_sock ]] && break; sleep 0.1; done
SSH_AUTH_SOCK=$agent_sock ssh-add -q "$work/caller" || fail "ssh-add"

cat >"$CTX/Containerfile" <<CF
FROM $REGISTRY/busybox:latest
COPY agentls /agentls
RUN --mount=type=ssh /agentls >/default.txt && echo "\$SSH_AUTH_SOCK" >/sock.txt
RUN --mount=type=ssh,id=deploy,target=/tmp/deploy.sock,uid=1000,gid=1001,mode=0660 \\
    stat -c '%u:%g %a %F' /tmp/deploy.sock >/deploy-stat.txt && /agentls /tmp/deploy.sock >/deploy.txt
RUN --mount=type=ssh,id=absent echo "\${SSH_AUTH_SOCK:-unset}" >/absent.txt; ls /run/buildkit 2>/dev/null | wc -l >>/absent.txt
CF
SSH_AUTH_SOCK=$agent_sock run_ok ib build -q -t sshimg --ssh default --ssh "deploy=$work/filekey" "$CTX"
run_ok mr run --rm --network none sshimg cat /default.txt /sock.txt /deploy-stat.txt /deploy.txt /absent.txt
assert_eq "keys=1
caller-key
/run/buildkit/ssh_agent.0
1000:1001 660 socket
keys=1
file-key
unset
0" "$OUT" "the steps reached the caller's agent and the build's own, through sockets moded as asked"
pass "RUN --mount=type=ssh: the caller's agent (default) and key files, uid/gid/mode, an absent optional id"

# Neither the key nor the socket is in the image; the build's own agent is gone.
run_ok mr run --rm --network none sshimg sh -c 'ls /run/buildkit /tmp 2>&1; true'
assert_not_contains "$OUT" "deploy.sock" "the socket is not left in the image"
assert_not_contains "$OUT" "ssh_agent" "the default socket is not left in the image"
run_ok mr run --rm --network none sshimg sh -c 'find / -xdev -type f -exec grep -l "PRIVATE KEY" {} + 2>/dev/null || true'
assert_eq "" "$OUT" "no private key in the image"
[[ -z $(find /tmp -maxdepth 1 -name 'imgbuild-ssh-*' 2>/dev/null) ]] || fail "the build left its ssh directories in /tmp"
pass "nothing of the agent stays in the image or on the host"

# system df -v lists the build's cached steps; those whose layer the image has are shared.
run_ok mr system df -v --format '{{range .BuildCache}}{{.CacheType}}:{{.Shared}} {{end}}'
assert_contains "$OUT" "regular:true" "a cached step whose layer is in sshimg"
sleep 1.1
run_ok mr system df -v
assert_contains "$(tr -s ' ' <<<"$OUT")" "CACHE ID CACHE TYPE SIZE CREATED LAST USED SHARED" "the build cache table"
assert_not_contains "$OUT" "Less than a second ago" "listing the cache does not count as using it"

# Errors: a required agent not given (file:line), a bad --ssh value, a passphrase key.
printf 'FROM %s/busybox:latest\nRUN --mount=type=ssh,id=git,required true\n' "$REGISTRY" >"$work/Req"
run_expect_fail ib build -q -f "$work/Req" "$CTX"
assert_contains "$ERR" "Req:2: RUN --mount=type=ssh,id=git,required: no ssh agent git was given (imgbuild build --ssh git)" "required"
run_expect_fail env -u SSH_AUTH_SOCK "$IMGBUILD" --storage "$STORE" build -q --ssh default "$CTX"
assert_contains "$ERR" "--ssh default: SSH_AUTH_SOCK is not set" "default without an agent"
run_expect_fail ib build -q --ssh "x=$work/nothing" "$CTX"
assert_contains "$ERR" "--ssh x=$work/nothing: $work/nothing: No such file or directory" "a missing key file"
run_expect_fail ib build -q --ssh "x=$work/locked" "$CTX"
assert_contains "$ERR" "--ssh x=$work/locked: ssh-add could not load the key" "a key with a passphrase fails, without a prompt"
assert_eq 1 "$(wc -l <<<"$ERR")" "one line"
[[ -z $(find /tmp -maxdepth 1 -name 'imgbuild-ssh-*' 2>/dev/null) ]] || fail "a failed build left its ssh agent directory in /tmp"
pass "ssh errors name the flag or the file:line"
