#!/bin/bash
# Push benchmark: imgbuild push vs skopeo copy, both into EMPTY private local
# registries (127.0.0.1 only; nothing else is contacted).
#
#   scripts/bench/push.sh                 # 3 runs
#   RUNS=5 scripts/bench/push.sh
#
# What it does, in one run of this script:
#   1. seeds big:latest (tests/fixtures/images.sh; ~300 MB unpacked, 4 layers,
#      ~230 MB compressed) into a seed registry of its own, `minirun pull`s it
#      into a temp store, and stops the seed registry (the pushes read the store,
#      not the seed registry); both tools' sources (the store's blobs and the
#      fixture layout's blobs) are read once, untimed, so both start with a warm
#      page cache;
#   2. RUNS times (the order of the two tools alternates between runs):
#        a. starts a fresh docker-registry (tests/fixtures/registry.sh, mode none,
#           its own storage dir) and times
#             imgbuild --storage STORE push -q SEED/big:latest REG/big:latest
#           then an unchanged re-push of the same image to the same place
#           (`imgbuild push` without -q; must say "0 blobs uploaded");
#           checks the digest imgbuild prints and the one skopeo inspects;
#           stops that registry by its pid and deletes its storage;
#        b. starts another fresh registry (nothing shared with a.: no blob
#           exists there and no cross-repository mount is possible) and times
#             skopeo copy oci:FIXTURE_LAYOUT:latest docker://REG/big:latest
#           (the OCI manifest as is, blobs sent as they are: no recompression),
#           then the same copy again (informational); checks the digest.
#      Both tools send the same already-compressed blobs and the same manifest.
#      The page cache is NOT dropped; `sync` runs (untimed) before every
#      measured command.
#   3. reports median wall time, median CPU time (user+sys) and peak RSS from
#      GNU time, the ratio imgbuild/skopeo and the targets
#      "imgbuild push <= 0.7x skopeo copy" and "unchanged re-push < 0.2 s".
#
# The registry's own CPU time is not measured (it is the same program for both).
# MB here = 1024*1024 bytes.
#
# Environment:
#   IMGBUILD_BIN    imgbuild binary (default: build/imgbuild in the repo root)
#   MINIRUN_BIN     minirun binary, to seed the store (default: next to imgbuild)
#   RUNS            number of runs (default 3)
#   BENCH_TMPDIR    where the temp dir goes (default ${TMPDIR:-/tmp});
#                   needs ~1.5 GB free
#   BENCH_STRICT=1  exit 3 when a target is missed (default: exit 0)
#
# Needs root (building the fixtures if they are not cached yet, and the store
# pull unpacks layers with their owners).

set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
FIXTURES=$REPO_ROOT/tests/fixtures
RUNS=${RUNS:-3}
IMGBUILD_BIN=${IMGBUILD_BIN:-$REPO_ROOT/build/imgbuild}
STRICT=${BENCH_STRICT:-0}

WORK=""         # temp dir (removed on exit)
CHILD_PID=""    # the measured command running right now (GNU time's pid)
REG_DIRS=()     # registries we started (registry.sh stop DIR kills by recorded pid)

BENCH=push.sh
# shellcheck source=scripts/bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# ---------------------------------------------------------------- checks ---

check_runs
[[ $(id -u) == 0 ]] || die "run as root (fixture build, store pull with ownership)"

# command -> Debian package that provides it
declare -A PKG=(
  [skopeo]=skopeo [docker-registry]=docker-registry [umoci]=umoci
  [/usr/bin/time]=time [curl]=curl [openssl]=openssl [python3]=python3
  [jq]=jq [sync]=coreutils [awk]=gawk
)
require_commands PKG
[[ $IMGBUILD_BIN == /* ]] || IMGBUILD_BIN=$PWD/$IMGBUILD_BIN
MINIRUN_BIN=${MINIRUN_BIN:-$(dirname "$IMGBUILD_BIN")/minirun}
[[ $MINIRUN_BIN == /* ]] || MINIRUN_BIN=$PWD/$MINIRUN_BIN
for b in "$IMGBUILD_BIN" "$MINIRUN_BIN"; do
  [[ -x $b ]] || die "binary not found or not executable: $b
  build it with:  scripts/build.sh   (or set IMGBUILD_BIN / MINIRUN_BIN)"
done
for f in registry.sh images.sh; do
  [[ -x $FIXTURES/$f ]] || die "missing fixture script $FIXTURES/$f"
done

# --------------------------------------------------------------- cleanup ---



cleanup() {
  local rc=$? dir
  set +e
  trap - EXIT INT TERM HUP
  stop_child "$CHILD_PID"
  for dir in "${REG_DIRS[@]}"; do
    [[ -d $dir ]] && "$FIXTURES/registry.sh" stop "$dir" >/dev/null 2>&1
  done
  [[ -n $WORK && -d $WORK ]] && rm -rf --one-file-system "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# --------------------------------------------------------------- helpers ---


mbps() { awk -v b="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.0f", b / 1048576 / s; else print "-" }'; }

# compressed size (bytes) and layer count of an OCI layout's "latest" manifest
layout_info() { # layout -> "bytes layers"
  local layout=$1 digest
  digest=$(jq -r '[.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "latest")][0].digest' \
    "$layout/index.json")
  jq -r '"\([.layers[].size] | add) \(.layers | length)"' "$layout/blobs/sha256/${digest#sha256:}"
}

# start_reg DIR: a fresh registry (mode none) with its storage in DIR; sets REG
# (the fixture's watchdog stops it even if we are SIGKILLed)
start_reg() {
  local dir=$1 vars
  REG_DIRS+=("$dir")
  vars=$(MINIRUN_FIXTURE_OWNER_PID=$$ "$FIXTURES/registry.sh" start none "$dir") \
    || die "could not start a registry in $dir"
  REG=$(eval "$vars" && echo "$REGISTRY") # in a subshell: keep REGISTRY_* out of our env
  [[ $REG == 127.0.0.1:* ]] || die "unexpected registry address '$REG' from: $vars"
  [[ -z $(find "$dir/storage" -type f) ]] || die "registry storage $dir/storage is not empty"
}
stop_reg() { # DIR: stop it (by its recorded pid) and delete its storage
  "$FIXTURES/registry.sh" stop "$1" >/dev/null 2>&1 || true
  rm -rf --one-file-system "$1"
}

# skopeo_digest REF: the manifest digest the registry serves for REF
skopeo_digest() {
  skopeo --policy "$CONF/policy.json" inspect --tls-verify=false --no-creds "docker://$1" | jq -r .Digest
}

# ------------------------------------------------------------------ setup ---

BASE=${BENCH_TMPDIR:-${TMPDIR:-/tmp}}
[[ -d $BASE ]] || die "temp base dir does not exist: $BASE"
WORK=$(mktemp -d "$BASE/minirun-bench-push.XXXXXX")
avail_kb=$(df -Pk "$WORK" | awk 'NR == 2 { print $4 }')
((avail_kb > 1536 * 1024)) || die "need ~1.5 GB free in $BASE (have $((avail_kb / 1024)) MB); set BENCH_TMPDIR"
fstype=$(df -PT "$WORK" | awk 'NR == 2 { print $2 }')
# pin the binaries: a concurrent rebuild must not swap them in the middle of a run
IMGBUILD_SRC=$IMGBUILD_BIN MINIRUN_SRC=$MINIRUN_BIN
IMGBUILD_BIN=$WORK/imgbuild MINIRUN_BIN=$WORK/minirun
cp "$IMGBUILD_SRC" "$IMGBUILD_BIN"
cp "$MINIRUN_SRC" "$MINIRUN_BIN"
# its libcurl plugin (registry requests) lives beside it (builds before the plugin had none)
plugin="$(dirname "$MINIRUN_SRC")/minirun-curl.so"
if [[ -f $plugin ]]; then cp "$plugin" "$WORK/minirun-curl.so"; fi
"$IMGBUILD_BIN" --help >/dev/null 2>&1 \
  || die "$IMGBUILD_SRC does not run ('imgbuild --help' failed); is a rebuild in progress?"
"$MINIRUN_BIN" --version >/dev/null 2>&1 \
  || die "$MINIRUN_SRC does not run ('minirun --version' failed); is a rebuild in progress?"
IMGBUILD_ID="$(date -r "$IMGBUILD_SRC" '+%F %T'), sha256 $(sha256sum "$IMGBUILD_BIN" | cut -c1-12)"

LOAD_START=$(load_note)
log "$LOAD_START"
log "work dir: $WORK ($fstype)"
log "imgbuild: $IMGBUILD_SRC ($IMGBUILD_ID), copied to the work dir"
log "building/checking fixture images (first time only: takes a while)"
"$FIXTURES/images.sh" build >/dev/null
BIG_LAYOUT=$("$FIXTURES/images.sh" path big)
BIG_DIGEST=$("$FIXTURES/images.sh" digest big)
read -r BIG_BYTES BIG_LAYERS < <(layout_info "$BIG_LAYOUT")
BIG_BLOBS=$((BIG_LAYERS + 1))

# private client configuration: nothing from the host's auth files or policies
CONF=$WORK/conf
mkdir -p "$CONF/docker" "$CONF/registries.d"
echo '{"auths": {}}' >"$CONF/auth.json"
echo '{}' >"$CONF/docker/config.json"
cat >"$CONF/policy.json" <<'EOF'
{ "default": [ { "type": "insecureAcceptAnything" } ] }
EOF
export REGISTRY_AUTH_FILE=$CONF/auth.json
export DOCKER_CONFIG=$CONF/docker
SK=(skopeo --policy "$CONF/policy.json" --registries.d "$CONF/registries.d")

# the store imgbuild pushes from: big pulled from a seed registry, which then stops
log "seeding big:latest into a seed registry and pulling it into the store"
start_reg "$WORK/seed-registry"
SEED=$REG
"$FIXTURES/images.sh" seed "$SEED" big >"$WORK/seed.log" 2>&1 \
  || { cat "$WORK/seed.log" >&2; die "seeding the registry failed"; }
STORE=$WORK/store
SRC_REF=$SEED/big:latest
"$MINIRUN_BIN" --storage "$STORE" pull "$SRC_REF" >"$WORK/store-pull.log" 2>&1 \
  || { tail -n 20 "$WORK/store-pull.log" >&2; die "minirun pull $SRC_REF failed"; }
grep -qx "Digest: $BIG_DIGEST" "$WORK/store-pull.log" \
  || die "the store's big:latest is not the fixture ($BIG_DIGEST): $(tail -n 3 "$WORK/store-pull.log")"
stop_reg "$WORK/seed-registry"
# warm the page cache for both sources (the blobs each tool reads)
cat "$STORE"/store/blobs/sha256/* "$BIG_LAYOUT"/blobs/sha256/* >/dev/null

# --------------------------------------------------------------- the runs ---

declare -a T_IB K_IB C_IB T_IR K_IR C_IR T_SK K_SK C_SK T_SR

run_imgbuild() { # run dir, run number
  local run=$1 i=$2 got
  start_reg "$run/reg-imgbuild"
  measure "imgbuild push (run $i)" "$run/imgbuild.log" \
    "$IMGBUILD_BIN" --storage "$STORE" push -q "$SRC_REF" "$REG/big:latest"
  T_IB+=("$M_SECS") K_IB+=("$M_KB") C_IB+=("$M_CPU")
  grep -qx "Digest: $BIG_DIGEST" "$run/imgbuild.log" \
    || die "imgbuild push printed no 'Digest: $BIG_DIGEST': $(tail -n 3 "$run/imgbuild.log")"
  got=$(skopeo_digest "$REG/big:latest") || die "skopeo inspect of $REG/big:latest failed"
  [[ $got == "$BIG_DIGEST" ]] || die "registry serves $got after imgbuild push, expected $BIG_DIGEST"
  log "run $i/$RUNS  imgbuild push      ${M_SECS}s  $(mb "$M_KB") MB  cpu ${M_CPU}s"
  measure "imgbuild re-push (run $i)" "$run/imgbuild-again.log" \
    "$IMGBUILD_BIN" --storage "$STORE" push "$SRC_REF" "$REG/big:latest"
  T_IR+=("$M_SECS") K_IR+=("$M_KB") C_IR+=("$M_CPU")
  grep -q "(0 blobs uploaded, 0 mounted, $BIG_BLOBS already present)" "$run/imgbuild-again.log" \
    || die "imgbuild re-push did not skip every blob: $(tail -n 3 "$run/imgbuild-again.log")"
  log "run $i/$RUNS  imgbuild re-push   ${M_SECS}s"
  stop_reg "$run/reg-imgbuild"
}

run_skopeo() { # run dir, run number
  local run=$1 i=$2 got
  start_reg "$run/reg-skopeo"
  measure "skopeo copy (run $i)" "$run/skopeo.log" \
    "${SK[@]}" copy -q --dest-tls-verify=false --dest-no-creds "oci:$BIG_LAYOUT:latest" "docker://$REG/big:latest"
  T_SK+=("$M_SECS") K_SK+=("$M_KB") C_SK+=("$M_CPU")
  got=$(skopeo_digest "$REG/big:latest") || die "skopeo inspect of $REG/big:latest failed"
  [[ $got == "$BIG_DIGEST" ]] || die "registry serves $got after skopeo copy, expected $BIG_DIGEST"
  log "run $i/$RUNS  skopeo copy       ${M_SECS}s  $(mb "$M_KB") MB  cpu ${M_CPU}s"
  measure "skopeo re-copy (run $i)" "$run/skopeo-again.log" \
    "${SK[@]}" copy -q --dest-tls-verify=false --dest-no-creds "oci:$BIG_LAYOUT:latest" "docker://$REG/big:latest"
  T_SR+=("$M_SECS")
  log "run $i/$RUNS  skopeo re-copy    ${M_SECS}s"
  stop_reg "$run/reg-skopeo"
}

for ((i = 1; i <= RUNS; i++)); do
  run=$WORK/run$i
  mkdir -p "$run"
  if ((i % 2)); then
    run_imgbuild "$run" "$i"
    run_skopeo "$run" "$i"
  else
    run_skopeo "$run" "$i"
    run_imgbuild "$run" "$i"
  fi
  rm -rf --one-file-system "$run"
done

# ---------------------------------------------------------------- report ---

m_ib=$(median "${T_IB[@]}") m_sk=$(median "${T_SK[@]}") m_ir=$(median "${T_IR[@]}") m_sr=$(median "${T_SR[@]}")
ratio_t=$(ratio "$m_ib" "$m_sk")

row() { printf '%-26s %9s %12s %8s %7s   %s\n' "$@"; }
echo
echo "== push benchmark: big:latest into empty local registries =="
printf 'image: %d layers + config, %.1f MB compressed; %d runs, a fresh empty registry per tool per run\n' \
  "$BIG_LAYERS" "$(awk -v b="$BIG_BYTES" 'BEGIN { print b / 1048576 }')" "$RUNS"
echo "imgbuild: $IMGBUILD_SRC ($IMGBUILD_ID)"
echo "skopeo $(skopeo --version | awk '{ print $3 }'), docker-registry $(docker-registry --version | awk '{ print $3 }')"
echo "host: $(nproc) cpus, temp dir on $fstype, page cache not dropped (sources warmed)"
echo "load: at start $LOAD_START; at end $(load_note)"
echo
row "tool" "median s" "peak RSS MB" "cpu s" "MB/s" "wall s per run"
row "imgbuild push" "$m_ib" "$(mb "$(maxof "${K_IB[@]}")")" "$(median "${C_IB[@]}")" "$(mbps "$BIG_BYTES" "$m_ib")" "${T_IB[*]}"
row "skopeo copy oci: -> docker:" "$m_sk" "$(mb "$(maxof "${K_SK[@]}")")" "$(median "${C_SK[@]}")" "$(mbps "$BIG_BYTES" "$m_sk")" "${T_SK[*]}"
row "imgbuild re-push" "$m_ir" "$(mb "$(maxof "${K_IR[@]}")")" "$(median "${C_IR[@]}")" "-" "${T_IR[*]}"
row "skopeo re-copy (info)" "$m_sr" "" "" "-" "${T_SR[*]}"
echo
echo "ratio imgbuild/skopeo (median time):     ${ratio_t}x"
echo "ratio imgbuild/skopeo (median cpu time): $(ratio "$(median "${C_IB[@]}")" "$(median "${C_SK[@]}")")x"
echo "(median s = median wall time; peak RSS = max over runs of GNU time %M; cpu s = median"
echo " user+sys of the client; re-push = the same push again, every blob already there)"
echo
fail=0
if le "$m_ib" "$(awk -v s="$m_sk" 'BEGIN { print s * 0.7 }')"; then v=PASS; else v=FAIL fail=1; fi
echo "target imgbuild push <= 0.7x skopeo copy: $v (${ratio_t}x)"
if lt "$m_ir" 0.2; then v=PASS; else v=FAIL fail=1; fi
echo "target unchanged re-push < 0.2 s: $v (${m_ir}s)"

if ((fail)) && [[ $STRICT == 1 ]]; then exit 3; fi
exit 0
