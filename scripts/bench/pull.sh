#!/bin/bash
# Pull benchmark: minirun vs podman vs skopeo+umoci, all against a private
# local registry (127.0.0.1 only; nothing else is contacted).
#
#   scripts/bench/pull.sh                 # 3 runs
#   RUNS=5 scripts/bench/pull.sh
#
# What it does, in one run of this script:
#   1. starts its own docker-registry (tests/fixtures/registry.sh, mode none)
#      in a temp dir and seeds busybox:latest and big:latest
#      (tests/fixtures/images.sh; big = ~300 MB unpacked, 4 layers);
#   2. RUNS times, each into FRESH empty stores:
#        a. minirun --storage DIR pull -q REG/big:latest
#           (download, verify, unpack)
#        b. podman pull into an isolated storage (--root/--runroot/--tmpdir
#           under the temp dir, overlay driver, or vfs when overlay does not
#           work here), --tls-verify=false, private registries.conf,
#           policy.json and auth file
#        c. skopeo copy docker://REG/big:latest oci:LAYOUT:big, then
#           umoci unpack --image LAYOUT:big BUNDLE (reported together)
#      The page cache is NOT dropped; `sync` runs (untimed) before every
#      measured command so one tool's writeback is not billed to the next.
#   3. reports the median wall time and the peak RSS (max over runs) of each
#      tool from GNU time (`/usr/bin/time -f '%e %M'`), the time ratios and
#      the targets "minirun <= 0.5x podman" and "minirun peak RSS < 100 MB";
#      also the median CPU time (user+sys, %U+%S), which is less disturbed
#      than wall time when other work shares the machine;
#   4. memory scaling: minirun's peak RSS pulling busybox vs big.
#
# %M is the max RSS of the single largest process in the measured tree (the
# command and every descendant it waited for), not a sum.  For podman that is
# the podman CLI process itself (local podman pulls in-process, there is no
# daemon); its short-lived helpers (storage-untar re-execs, CNI plugin
# probes) are smaller.  MB here = 1024*1024 bytes.
#
# Environment:
#   MINIRUN_BIN     minirun binary (default: build/minirun in the repo root)
#   RUNS            number of runs (default 3)
#   PODMAN_DRIVER   overlay | vfs: force podman's storage driver
#                   (default: overlay if it works here, else vfs)
#   BENCH_TMPDIR    where the temp dir goes (default ${TMPDIR:-/tmp});
#                   needs ~2 GB free
#   BENCH_STRICT=1  exit 3 when a target is missed (default: exit 0)
#
# Needs root (isolated rootful podman storage, umoci unpack with ownership,
# and building the fixtures if they are not cached yet).

set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
FIXTURES=$REPO_ROOT/tests/fixtures
RUNS=${RUNS:-3}
MINIRUN_BIN=${MINIRUN_BIN:-$REPO_ROOT/build/minirun}
STRICT=${BENCH_STRICT:-0}

WORK=""          # temp dir (removed on exit)
RR=""            # short temp dir for podman runroots (overlay wants <= 50 chars)
CHILD_PID=""     # the measured command running right now (GNU time's pid)
PODMAN_ROOTS=()  # podman storages to empty on exit: "root|runroot|tmpdir|driver"

BENCH=pull.sh
# shellcheck source=scripts/bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# ---------------------------------------------------------------- checks ---

check_runs
[[ $(id -u) == 0 ]] || die "run as root (isolated rootful podman storage, umoci unpack, fixture build)"

# command -> Debian package that provides it
declare -A PKG=(
  [podman]=podman [skopeo]=skopeo [umoci]=umoci [docker-registry]=docker-registry
  [/usr/bin/time]=time [curl]=curl [openssl]=openssl [python3]=python3
  [jq]=jq [flock]=util-linux [sync]=coreutils [awk]=gawk
)
require_commands PKG
[[ $MINIRUN_BIN == /* ]] || MINIRUN_BIN=$PWD/$MINIRUN_BIN
[[ -x $MINIRUN_BIN ]] || die "minirun binary not found or not executable: $MINIRUN_BIN
  build it with:  make -C $REPO_ROOT/build -j2 minirun   (or set MINIRUN_BIN)"
for f in registry.sh images.sh; do
  [[ -x $FIXTURES/$f ]] || die "missing fixture script $FIXTURES/$f"
done

# --------------------------------------------------------------- cleanup ---



# unmount anything still mounted below DIR (deepest first)
umount_below() {
  local dir=$1 m
  [[ -d $dir ]] || return 0
  awk -v d="$dir/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null || true; done
}

# podman_argv SPEC: PODMAN_ARGV = podman + global flags for an isolated storage
# SPEC = "root|runroot|tmpdir|driver"
podman_argv() {
  local root runroot tmp driver
  IFS='|' read -r root runroot tmp driver <<<"$1"
  PODMAN_ARGV=(podman --root "$root" --runroot "$runroot" --tmpdir "$tmp"
    --storage-driver "$driver" --cgroup-manager cgroupfs --events-backend file)
}
podman_cmd() { # SPEC args...
  local -a PODMAN_ARGV
  podman_argv "$1"; shift
  "${PODMAN_ARGV[@]}" "$@"
}

# remove podman's images from a temp podman storage, then the storage itself
# (the parent dir of root, and runroot).  podman_purge SPEC [quiet]
podman_purge() {
  local spec=$1 quiet=${2:-} root runroot tmp driver
  IFS='|' read -r root runroot tmp driver <<<"$spec"
  [[ -d $root ]] || return 0
  podman_cmd "$spec" rmi -a -f >/dev/null 2>&1 \
    || [[ -n $quiet ]] || log "warning: podman rmi -a -f failed in $root"
  umount_below "${root%/*}"
  umount_below "$runroot"
  rm -rf --one-file-system "${root%/*}" "$runroot"
}

cleanup() {
  local rc=$? spec
  set +e
  trap - EXIT INT TERM HUP
  stop_child "$CHILD_PID"
  if [[ -n $WORK && -d $WORK ]]; then
    [[ -d $WORK/registry ]] && "$FIXTURES/registry.sh" stop "$WORK/registry" >/dev/null 2>&1
    for spec in "${PODMAN_ROOTS[@]}"; do podman_purge "$spec"; done
    umount_below "$WORK"
    rm -rf --one-file-system "$WORK"
  fi
  if [[ -n $RR && -d $RR ]]; then
    umount_below "$RR"
    rm -rf --one-file-system "$RR"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# --------------------------------------------------------------- helpers ---


fresh_dir() { rm -rf --one-file-system "$1"; mkdir -p "$1"; }

# compressed size (bytes) and layer count of an OCI layout's "latest" manifest
layout_info() { # layout -> "bytes layers"
  local layout=$1 digest
  digest=$(jq -r '[.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "latest")][0].digest' \
    "$layout/index.json")
  jq -r '"\([.layers[].size] | add) \(.layers | length)"' "$layout/blobs/sha256/${digest#sha256:}"
}

# ------------------------------------------------------------------ setup ---

BASE=${BENCH_TMPDIR:-${TMPDIR:-/tmp}}
[[ -d $BASE ]] || die "temp base dir does not exist: $BASE"
WORK=$(mktemp -d "$BASE/minirun-bench-pull.XXXXXX")
avail_kb=$(df -Pk "$WORK" | awk 'NR == 2 { print $4 }')
((avail_kb > 2 * 1024 * 1024)) || die "need ~2 GB free in $BASE (have $((avail_kb / 1024)) MB); set BENCH_TMPDIR"
fstype=$(df -PT "$WORK" | awk 'NR == 2 { print $2 }')
# podman's overlay driver refuses a runroot longer than 50 characters
RR=$(mktemp -d /tmp/mrb.XXXXXX)
# pin the binary: a concurrent rebuild must not swap it in the middle of a run
MINIRUN_SRC=$MINIRUN_BIN
MINIRUN_BIN=$WORK/minirun
cp "$MINIRUN_SRC" "$MINIRUN_BIN"
# its libcurl plugin (registry requests) lives beside it (builds before the plugin had none)
plugin="$(dirname "$MINIRUN_SRC")/minirun-curl.so"
if [[ -f $plugin ]]; then cp "$plugin" "$WORK/minirun-curl.so"; fi
"$MINIRUN_BIN" --version >/dev/null 2>&1 \
  || die "$MINIRUN_SRC does not run ('minirun --version' failed); is a rebuild in progress?"
MINIRUN_ID="$(date -r "$MINIRUN_SRC" '+%F %T'), sha256 $(sha256sum "$MINIRUN_BIN" | cut -c1-12)"

# other work on the machine makes the numbers noisy: say so
LOAD_START=$(load_note)
log "$LOAD_START"
log "work dir: $WORK ($fstype)"
log "minirun: $MINIRUN_SRC ($MINIRUN_ID), copied to the work dir"
log "building/checking fixture images (first time only: takes a while)"
"$FIXTURES/images.sh" build >/dev/null
BIG_LAYOUT=$("$FIXTURES/images.sh" path big)
BB_LAYOUT=$("$FIXTURES/images.sh" path busybox)
read -r BIG_BYTES BIG_LAYERS < <(layout_info "$BIG_LAYOUT")
read -r BB_BYTES BB_LAYERS < <(layout_info "$BB_LAYOUT")

# registry (the fixture's watchdog stops it even if we are SIGKILLed)
eval "$(MINIRUN_FIXTURE_OWNER_PID=$$ "$FIXTURES/registry.sh" start none "$WORK/registry")"
[[ $REGISTRY == 127.0.0.1:* ]] || die "unexpected registry address: $REGISTRY"
log "registry $REGISTRY (pid $REGISTRY_PID)"

# private client configuration: nothing from the host's auth files, mirrors
# or search lists; only our 127.0.0.1 registry, over plain http
CONF=$WORK/conf
mkdir -p "$CONF"
echo '{"auths": {}}' >"$CONF/auth.json"
cat >"$CONF/policy.json" <<'EOF'
{ "default": [ { "type": "insecureAcceptAnything" } ] }
EOF
cat >"$CONF/registries.conf" <<EOF
unqualified-search-registries = []
short-name-mode = "disabled"

[[registry]]
location = "$REGISTRY"
insecure = true
EOF
cat >"$CONF/storage.conf" <<EOF
[storage]
driver = "overlay"
runroot = "$WORK/podman-unused/runroot"
graphroot = "$WORK/podman-unused/root"
EOF
mkdir -p "$CONF/registries.d"
export REGISTRY_AUTH_FILE=$CONF/auth.json
export CONTAINERS_REGISTRIES_CONF=$CONF/registries.conf
export CONTAINERS_STORAGE_CONF=$CONF/storage.conf
unset DOCKER_CONFIG

log "seeding busybox:latest and big:latest"
"$FIXTURES/images.sh" seed "$REGISTRY" >"$WORK/seed.log" 2>&1 \
  || { cat "$WORK/seed.log" >&2; die "seeding the registry failed"; }
BIG_REF=$REGISTRY/big:latest
BB_REF=$REGISTRY/busybox:latest

# podman storage driver: overlay if it works here, else vfs
probe_driver() { # driver -> 0 if podman can use it
  local drv=$1 d=$WORK/probe-$1 spec out
  spec="$d/root|$RR/probe-$drv|$d/tmp|$drv"
  PODMAN_ROOTS+=("$spec")
  mkdir -p "$d/root" "$RR/probe-$drv" "$d/tmp"
  if out=$(podman_cmd "$spec" info --format '{{.Store.GraphDriverName}}' 2>&1) && [[ $out == "$drv" ]]; then
    PROBE_INFO=$(podman_cmd "$spec" info --format '{{range $k, $v := .Store.GraphStatus}}{{$k}}={{$v}}; {{end}}' 2>/dev/null || true)
    podman_purge "$spec"
    return 0
  fi
  PROBE_ERR=$out
  podman_purge "$spec" quiet
  return 1
}
PROBE_INFO="" PROBE_ERR=""
if [[ -n ${PODMAN_DRIVER:-} ]]; then
  [[ $PODMAN_DRIVER == overlay || $PODMAN_DRIVER == vfs ]] || die "PODMAN_DRIVER must be overlay or vfs"
  probe_driver "$PODMAN_DRIVER" || die "podman cannot use storage driver $PODMAN_DRIVER here: $PROBE_ERR"
  DRIVER=$PODMAN_DRIVER DRIVER_NOTE="forced by PODMAN_DRIVER"
elif probe_driver overlay; then
  DRIVER=overlay DRIVER_NOTE="overlay works here"
else
  log "podman overlay driver does not work here, falling back to vfs: $PROBE_ERR"
  probe_driver vfs || die "podman can use neither overlay nor vfs here: $PROBE_ERR"
  DRIVER=vfs DRIVER_NOTE="overlay failed: ${PROBE_ERR%%$'\n'*}"
fi
log "podman storage driver: $DRIVER ($DRIVER_NOTE) ${PROBE_INFO:+[$PROBE_INFO]}"

# --------------------------------------------------------------- the runs ---

declare -a T_MR T_PD T_SK T_UM T_SU K_MR K_PD K_SU K_SK K_UM T_BB K_BB
declare -a C_MR C_PD C_SK C_UM C_SU
for ((i = 1; i <= RUNS; i++)); do
  run=$WORK/run$i
  mkdir -p "$run"

  # a. minirun
  fresh_dir "$run/minirun"
  measure "minirun pull (run $i)" "$run/minirun.log" \
    "$MINIRUN_BIN" --storage "$run/minirun" pull -q "$BIG_REF"
  T_MR+=("$M_SECS") K_MR+=("$M_KB") C_MR+=("$M_CPU")
  "$MINIRUN_BIN" --storage "$run/minirun" images 2>&1 | grep -q "^$REGISTRY/big " \
    || die "minirun pull reported success but 'minirun images' does not list $BIG_REF"
  log "run $i/$RUNS  minirun        ${M_SECS}s  $(mb "$M_KB") MB"
  rm -rf --one-file-system "$run/minirun"

  # b. podman (fresh isolated storage)
  spec="$run/podman/root|$RR/run$i|$run/podman/tmp|$DRIVER"
  PODMAN_ROOTS+=("$spec")
  mkdir -p "$run/podman/root" "$RR/run$i" "$run/podman/tmp"
  podman_argv "$spec"
  measure "podman pull (run $i)" "$run/podman.log" \
    "${PODMAN_ARGV[@]}" pull -q --tls-verify=false --signature-policy "$CONF/policy.json" \
    --authfile "$CONF/auth.json" "$BIG_REF"
  T_PD+=("$M_SECS") K_PD+=("$M_KB") C_PD+=("$M_CPU")
  podman_cmd "$spec" image exists "$BIG_REF" \
    || die "podman pull reported success but 'podman image exists $BIG_REF' is false"
  log "run $i/$RUNS  podman         ${M_SECS}s  $(mb "$M_KB") MB"
  podman_purge "$spec"

  # c. skopeo copy + umoci unpack (reported together)
  rm -rf --one-file-system "$run/layout" "$run/bundle"
  measure "skopeo copy (run $i)" "$run/skopeo.log" \
    skopeo --policy "$CONF/policy.json" --registries.d "$CONF/registries.d" copy -q \
    --src-tls-verify=false --src-authfile "$CONF/auth.json" "docker://$BIG_REF" "oci:$run/layout:big"
  sk_s=$M_SECS sk_k=$M_KB sk_c=$M_CPU
  measure "umoci unpack (run $i)" "$run/umoci.log" \
    umoci unpack --image "$run/layout:big" "$run/bundle"
  [[ $(cat "$run/bundle/rootfs/data/layer4.txt" 2>/dev/null) == "added in layer 4" ]] \
    || die "umoci unpack succeeded but $run/bundle/rootfs/data/layer4.txt is not right"
  ((i == 1)) && BIG_UNPACKED=$(du -sb "$run/bundle/rootfs" | awk '{ print $1 }')
  T_SK+=("$sk_s") K_SK+=("$sk_k") T_UM+=("$M_SECS") K_UM+=("$M_KB")
  T_SU+=("$(sum "$sk_s" "$M_SECS")") K_SU+=("$(maxof "$sk_k" "$M_KB")")
  C_SK+=("$sk_c") C_UM+=("$M_CPU") C_SU+=("$(sum "$sk_c" "$M_CPU")")
  log "run $i/$RUNS  skopeo+umoci   ${sk_s}s + ${M_SECS}s  $(mb "$(maxof "$sk_k" "$M_KB")") MB"
  rm -rf --one-file-system "$run"
done

# memory scaling: minirun pulling busybox (one small layer)
for ((i = 1; i <= RUNS; i++)); do
  fresh_dir "$WORK/bb"
  measure "minirun pull busybox (run $i)" "$WORK/bb.log" \
    "$MINIRUN_BIN" --storage "$WORK/bb" pull -q "$BB_REF"
  T_BB+=("$M_SECS") K_BB+=("$M_KB")
done
log "busybox      minirun        median $(median "${T_BB[@]}")s  $(mb "$(maxof "${K_BB[@]}")") MB"
rm -rf --one-file-system "$WORK/bb"

# ---------------------------------------------------------------- report ---

m_mr=$(median "${T_MR[@]}") m_pd=$(median "${T_PD[@]}") m_su=$(median "${T_SU[@]}")
m_sk=$(median "${T_SK[@]}") m_um=$(median "${T_UM[@]}")
r_mr=$(maxof "${K_MR[@]}") r_pd=$(maxof "${K_PD[@]}") r_su=$(maxof "${K_SU[@]}")
r_sk=$(maxof "${K_SK[@]}") r_um=$(maxof "${K_UM[@]}") r_bb=$(maxof "${K_BB[@]}")
ratio_pd=$(ratio "$m_mr" "$m_pd") ratio_su=$(ratio "$m_mr" "$m_su")
r_mr_all=$(maxof "$r_mr" "$r_bb")

row() { printf '%-16s %9s %12s %10s   %s\n' "$@"; }
echo
echo "== pull benchmark: $BIG_REF =="
printf 'image: %d layers, %.1f MB compressed, %.1f MB unpacked; %d runs, fresh stores each run\n' \
  "$BIG_LAYERS" "$(awk -v b="$BIG_BYTES" 'BEGIN { print b / 1048576 }')" \
  "$(awk -v b="${BIG_UNPACKED:-0}" 'BEGIN { print b / 1048576 }')" "$RUNS"
echo "minirun: $MINIRUN_SRC ($MINIRUN_ID)"
echo "host: $(nproc) cpus, temp dir on $fstype, page cache not dropped"
echo "load: at start $LOAD_START; at end $(load_note)"
echo "podman $(podman --version | awk '{ print $3 }'): storage driver $DRIVER ($DRIVER_NOTE)"
echo
row "tool" "median s" "peak RSS MB" "cpu s" "wall s per run"
row "minirun" "$m_mr" "$(mb "$r_mr")" "$(median "${C_MR[@]}")" "${T_MR[*]}"
row "podman" "$m_pd" "$(mb "$r_pd")" "$(median "${C_PD[@]}")" "${T_PD[*]}"
row "skopeo+umoci" "$m_su" "$(mb "$r_su")" "$(median "${C_SU[@]}")" "${T_SU[*]}"
row "  skopeo copy" "$m_sk" "$(mb "$r_sk")" "$(median "${C_SK[@]}")" "${T_SK[*]}"
row "  umoci unpack" "$m_um" "$(mb "$r_um")" "$(median "${C_UM[@]}")" "${T_UM[*]}"
echo
echo "ratio minirun/podman (median time):         ${ratio_pd}x"
echo "ratio minirun/(skopeo+umoci) (median time): ${ratio_su}x"
echo "ratio minirun/podman (median cpu time):     $(ratio "$(median "${C_MR[@]}")" "$(median "${C_PD[@]}")")x"
echo "(median s = median wall time; peak RSS = max over runs of GNU time %M, the largest"
echo " single process: for podman the podman process itself, no daemon; cpu s = median user+sys)"
echo
fail=0
if le "$m_mr" "$(awk -v p="$m_pd" 'BEGIN { print p / 2 }')"; then v=PASS; else v=FAIL fail=1; fi
echo "target minirun <= 0.5x podman: $v (${ratio_pd}x)"
if lt "$(mb "$r_mr_all")" 100; then v=PASS; else v=FAIL fail=1; fi
echo "target peak RSS < 100 MB: $v ($(mb "$r_mr_all") MB)"
echo
grow_mb=$(awk -v a="$r_mr" -v b="$r_bb" 'BEGIN { printf "%+.1f", (a - b) / 1024 }')
size_x=$(awk -v a="$BIG_BYTES" -v b="$BB_BYTES" 'BEGIN { printf "%.0f", a / b }')
echo "memory scaling (minirun peak RSS):"
printf '  busybox  %d layer,  %6.1f MB compressed: %6s MB  (median %ss)\n' "$BB_LAYERS" \
  "$(awk -v b="$BB_BYTES" 'BEGIN { print b / 1048576 }')" "$(mb "$r_bb")" "$(median "${T_BB[@]}")"
printf '  big      %d layers, %6.1f MB compressed: %6s MB  (median %ss)\n' "$BIG_LAYERS" \
  "$(awk -v b="$BIG_BYTES" 'BEGIN { print b / 1048576 }')" "$(mb "$r_mr")" "$m_mr"
echo "  => ${grow_mb} MB for a ${size_x}x larger image"

if ((fail)) && [[ $STRICT == 1 ]]; then exit 3; fi
exit 0
