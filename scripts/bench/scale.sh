#!/usr/bin/env bash
# How costs grow with the work (issue 16), side by side with podman on the same
# operations; every series is printed as a table and, with gnuplot installed
# (apt-get install -y gnuplot-nox), plotted as PNGs under OUT.
#
#   containers: N detached busybox `sleep` containers (--network none), N in COUNTS:
#     time to start them one after another, the watchers' total RSS (minirun-supervisor
#     against conmon), `ps -a` latency (median of 5), stopping all (stop -t 0), removing all.
#   images: a store of N small imported images (one layer each), N in IMAGE_COUNTS:
#     `images` latency (median of 5), importing one more, removing one (`rmi`, which
#     collects its layer).
#   layers: images of L layers (L in LAYER_COUNTS, 40 files of 4 KiB per layer) and one
#     of FILES small files in one layer, built with imgbuild and pushed to a local
#     docker-registry: pull time and the puller's peak RSS (GNU time), into an empty
#     store each time.
#   steps: Containerfiles of S steps (S in STEP_COUNTS; RUN and COPY alternating, each
#     making a layer) on the busybox base: cold (--no-cache) and warm (unchanged) build
#     time, imgbuild against buildah bud --layers.
#
# Per-container and per-image cost is flat when the time per item stays flat: the
# tables print it next to the totals.
#
# Env: SERIES (default "containers images layers steps"), COUNTS (default "1 10 50 100"),
# IMAGE_COUNTS ("10 100 1000"), PEER_IMAGE_MAX (the largest store podman is asked to
# fill, default 100: its import takes ~0.5 s each), LAYER_COUNTS ("1 10 50"), FILES
# (100000), STEP_COUNTS ("10 50 200"), MINIRUN_BIN, IMGBUILD_BIN, OUT (default
# /tmp/minirun-scale). Runs as root; containers run in a network namespace of its own.
set -euo pipefail
cd "$(dirname "$0")/../.."
BENCH=scale.sh
source scripts/bench/lib.sh
COUNTS=${COUNTS:-"1 10 50 100"}
IMAGE_COUNTS=${IMAGE_COUNTS:-"10 100 1000"}
PEER_IMAGE_MAX=${PEER_IMAGE_MAX:-100}
SERIES=${SERIES:-"containers images layers steps"}
LAYER_COUNTS=${LAYER_COUNTS:-"1 10 50"}
FILES=${FILES:-100000}
STEP_COUNTS=${STEP_COUNTS:-"10 50 200"}
MINIRUN=${MINIRUN_BIN:-$PWD/build/minirun}
IMGBUILD=${IMGBUILD_BIN:-$(dirname "$MINIRUN")/imgbuild}
OUT=${OUT:-/tmp/minirun-scale}
for c in podman buildah jq nsenter; do command -v "$c" >/dev/null || die "needs $c"; done
/usr/bin/time -f '%e %M' -o /dev/null true 2>/dev/null || die "needs GNU time: apt-get install -y time"
[ -x "$MINIRUN" ] || die "$MINIRUN not built (scripts/build.sh)"
[ -x "$IMGBUILD" ] || die "$IMGBUILD not built (scripts/build.sh)"
wants() { [[ " $SERIES " == *" $1 "* ]]; }
[ "$(id -u)" = 0 ] || die "run as root"
mkdir -p "$OUT"

work=$(mktemp -d /tmp/mrsc.XXXXXX)
ns=mr-bench-scale-$$
ip netns add "$ns"
ip -n "$ns" link set lo up
N=(nsenter "--net=/var/run/netns/$ns")
M=("${N[@]}" "$MINIRUN" --storage "$work/store")
# crun 1.8 refuses the hybrid cgroup layout: podman uses runc here.
# PH: podman in the host's namespace (pulls from the registry on its 127.0.0.1); P: in ours.
PH=(podman --root "$work/pr" --runroot "$work/rr" --tmpdir "$work/t" --cgroup-manager cgroupfs
  --events-backend file --storage-driver overlay --runtime runc)
P=("${N[@]}" "${PH[@]}")
U=(--ulimit nofile=20000:20000 --ulimit nproc=32768:32768)
cleanup() {
  "${M[@]}" rm -f $("${M[@]}" ps -aq 2>/dev/null) >/dev/null 2>&1 || true
  [ -n "${B[*]:-}" ] && { "${B[@]}" rm -a >/dev/null 2>&1; "${B[@]}" rmi -af >/dev/null 2>&1; } || true
  [ -d "$work/reg" ] && tests/fixtures/registry.sh stop "$work/reg" >/dev/null 2>&1 || true
  release_podman_work
}
trap cleanup EXIT

layout=$(bash tests/fixtures/images.sh path busybox)
IMG=$("${M[@]}" pull -q "oci:$layout:latest")
"${P[@]}" pull -q "oci:$layout:latest" >/dev/null
PIMG=$("${P[@]}" images -q | head -1)

now_us() { echo $(($(date +%s%N) / 1000)); }
# secs CMD…: wall seconds of one run (3 decimals)
secs() { local s e; s=$(now_us); "$@" >/dev/null; e=$(now_us); awk -v d=$((e - s)) 'BEGIN { printf "%.3f", d / 1e6 }'; }
med5() { local i v=(); for i in 1 2 3 4 5; do v+=("$(secs "$@")"); done; printf '%s\n' "${v[@]}" | sort -g | sed -n 3p; }
per() { awk -v t="$1" -v n="$2" 'BEGIN { printf "%.1f", t * 1000 / n }'; }
rss_sum_kb() { local s=0 p; for p in "$@"; do s=$((s + $(awk '/VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0))); done; echo "$s"; }

# plot NAME TITLE YLABEL [PEER [OURS]]: $OUT/NAME.dat (columns: n ours peer) -> $OUT/NAME.png
plot() {
  command -v gnuplot >/dev/null || return 0
  gnuplot <<EOF
set terminal pngcairo size 640,400 noenhanced
set output "$OUT/$1.png"
set title "$2"
set xlabel "count"
set ylabel "$3"
set key left top
set logscale x
set grid
plot "$OUT/$1.dat" using 1:2 with linespoints title "${5:-minirun}", "" using 1:3 with linespoints title "${4:-podman}"
EOF
}

echo "scale benchmark: $(load_note)"
if wants containers; then
echo
echo "== containers: N detached busybox 'sleep 3600', --network none =="
printf '%-5s | %-9s %-9s %-7s | %-10s %-10s | %-8s %-8s | %-8s %-8s | %-8s %-8s\n' N \
  "start s" "podman" "ms/ctr" "watchers MB" "podman" "ps ms" "podman" "stop s" "podman" "rm s" "podman"
: >"$OUT/containers_start.dat"; : >"$OUT/containers_memory.dat"; : >"$OUT/containers_ps.dat"; : >"$OUT/containers_stop.dat"
for n in $COUNTS; do
  s0=$(now_us)
  for i in $(seq "$n"); do "${M[@]}" run -d -q --network none --name "c$i" "$IMG" sleep 3600 >/dev/null; done
  m_start=$(awk -v d=$(($(now_us) - s0)) 'BEGIN { printf "%.2f", d / 1e6 }')
  s0=$(now_us)
  for i in $(seq "$n"); do "${P[@]}" run -d --network none "${U[@]}" --name "c$i" "$PIMG" sleep 3600 >/dev/null; done
  p_start=$(awk -v d=$(($(now_us) - s0)) 'BEGIN { printf "%.2f", d / 1e6 }')
  mapfile -t sup < <("${M[@]}" inspect $("${M[@]}" ps -q) | jq -r '.[].State.SupervisorPid')
  mapfile -t conmon < <(pgrep -f "conmon .*$work" || true)
  m_mem=$(mb "$(rss_sum_kb "${sup[@]}")")
  p_mem=$(mb "$(rss_sum_kb "${conmon[@]}")")
  m_ps=$(med5 "${M[@]}" ps -a); p_ps=$(med5 "${P[@]}" ps -a)
  m_stop=$(secs "${M[@]}" stop -t 0 $("${M[@]}" ps -q)); p_stop=$(secs "${P[@]}" stop -t 0 -a)
  m_rm=$(secs "${M[@]}" rm $("${M[@]}" ps -aq)); p_rm=$(secs "${P[@]}" rm -a)
  printf '%-5s | %-9s %-9s %-7s | %-10s %-10s | %-8s %-8s | %-8s %-8s | %-8s %-8s\n' "$n" "$m_start" "$p_start" \
    "$(per "$m_start" "$n")" "$m_mem" "$p_mem" "$(per "$m_ps" 1)" "$(per "$p_ps" 1)" "$m_stop" "$p_stop" "$m_rm" "$p_rm"
  echo "$n $m_start $p_start" >>"$OUT/containers_start.dat"
  echo "$n $m_mem $p_mem" >>"$OUT/containers_memory.dat"
  echo "$n $(per "$m_ps" 1) $(per "$p_ps" 1)" >>"$OUT/containers_ps.dat"
  echo "$n $m_stop $p_stop" >>"$OUT/containers_stop.dat"
done
plot containers_start "start N detached containers, one after another" seconds
plot containers_memory "the watchers' total RSS (minirun-supervisor / conmon)" MB
plot containers_ps "ps -a with N containers (median of 5)" ms
plot containers_stop "stop -t 0 of N containers" seconds
fi

if wants images; then
echo
echo "== images: a store of N imported one-layer images (podman up to $PEER_IMAGE_MAX) =="
printf '%-6s | %-9s %-9s | %-9s %-9s | %-9s %-9s\n' N "images ms" podman "import s" podman "rmi s" podman
: >"$OUT/images_list.dat"; : >"$OUT/images_import.dat"; : >"$OUT/images_rmi.dat"
tars=$work/tars
mkdir -p "$tars"
have_m=0 have_p=0
mk_tar() { # a one-file layer that differs from every other
  [ -f "$tars/$1.tar" ] && return 0
  mkdir -p "$tars/d$1" && echo "image $1" >"$tars/d$1/id" && tar -C "$tars/d$1" -cf "$tars/$1.tar" id
}
for n in $IMAGE_COUNTS; do
  for i in $(seq $((have_m + 1)) "$n"); do mk_tar "$i"; "${M[@]}" import "$tars/$i.tar" "scale/img$i:latest" >/dev/null; done
  have_m=$n
  p_list=- p_import=- p_rmi=-
  if ((n <= PEER_IMAGE_MAX)); then
    for i in $(seq $((have_p + 1)) "$n"); do "${P[@]}" import -q "$tars/$i.tar" "scale/img$i:latest" >/dev/null; done
    have_p=$n
    p_list=$(per "$(med5 "${P[@]}" images)" 1)
  fi
  m_list=$(per "$(med5 "${M[@]}" images)" 1)
  mk_tar extra
  m_import=$(secs "${M[@]}" import "$tars/extra.tar" scale/extra:latest)
  m_rmi=$(secs "${M[@]}" rmi scale/extra:latest)
  if ((n <= PEER_IMAGE_MAX)); then
    p_import=$(secs "${P[@]}" import -q "$tars/extra.tar" scale/extra:latest)
    p_rmi=$(secs "${P[@]}" rmi scale/extra:latest)
  fi
  printf '%-6s | %-9s %-9s | %-9s %-9s | %-9s %-9s\n' "$n" "$m_list" "$p_list" "$m_import" "$p_import" "$m_rmi" "$p_rmi"
  echo "$n $m_list ${p_list/-/NaN}" >>"$OUT/images_list.dat"
  echo "$n $m_import ${p_import/-/NaN}" >>"$OUT/images_import.dat"
  echo "$n $m_rmi ${p_rmi/-/NaN}" >>"$OUT/images_rmi.dat"
done
plot images_list "images with N in the store (median of 5)" ms
plot images_import "import of one more image into a store of N" seconds
plot images_rmi "rmi of one image (and its layer) from a store of N" seconds
fi

# peer_timed LOG CMD…: as timed, but a failure returns 1 instead of ending the benchmark
# (wall time by the clock in ms, GNU time's %e has 10 ms steps; peak RSS by GNU time)
peer_timed() {
  local log=$1 s0 kb; shift
  s0=$(now_us)
  /usr/bin/time -f '%M' -o "$log.time" -- "$@" >"$log" 2>&1 || return 1
  T_SECS=$(awk -v d=$(($(now_us) - s0)) 'BEGIN { printf "%.3f", d / 1e6 }')
  kb=$(tail -n 1 "$log.time")
  T_MB=$(mb "$kb")
}

# timed LOG CMD…: sets T_SECS and T_MB (peak RSS) of one run; dies with LOG's tail when CMD fails
timed() { peer_timed "$@" || { tail -n 20 "$1" >&2; die "failed: ${*:2}"; }; }
ratio_or_dash() { if [[ $2 == - ]]; then echo -; else ratio "$1" "$2"; fi; }

if wants layers || wants steps; then
  mkdir -p "$work/reg"
  eval "$(tests/fixtures/registry.sh start none "$work/reg")"
  tests/fixtures/images.sh seed "$REGISTRY" busybox >/dev/null 2>&1
  BASE=$REGISTRY/busybox:latest
  printf '[[registry]]\nlocation = "%s"\ninsecure = true\n' "$REGISTRY" >"$work/registries.conf"
  export CONTAINERS_REGISTRIES_CONF=$work/registries.conf
  IB=("$IMGBUILD" --storage "$work/ibstore")
fi

if wants layers; then
echo
echo "== layers: pull of an image of L layers (40 files of 4 KiB each), and of one with $FILES files =="
printf '%-14s | %-8s %-8s %-7s | %-9s %-9s %-7s\n' image "pull s" podman ratio "peak MB" podman ratio
: >"$OUT/layers_pull.dat"; : >"$OUT/layers_memory.dat"
mk_layers_ctx() { # DIR L: a Containerfile of L COPY layers
  local d=$1 l=$2 i
  mkdir -p "$d"
  echo "FROM scratch" >"$d/Containerfile"
  for i in $(seq "$l"); do
    mkdir -p "$d/l$i"
    for f in $(seq 40); do base64 -w 0 < <(head -c 3072 /dev/urandom) >"$d/l$i/f$f"; done  # 4 KiB of text
    echo "COPY l$i/ /l$i/" >>"$d/Containerfile"
  done
}
mk_files_ctx() { # DIR: one layer of $FILES small files, 1000 per directory
  local d=$1
  mkdir -p "$d/tree"
  python3 - "$d/tree" "$FILES" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    sub = os.path.join(root, "d%03d" % (i // 1000))
    if i % 1000 == 0:
        os.makedirs(sub, exist_ok=True)
    with open(os.path.join(sub, "f%d" % i), "w") as f:
        f.write("file %d\n" % i)
PY
  printf 'FROM scratch\nCOPY tree/ /tree/\n' >"$d/Containerfile"
}
cases=()
for l in $LAYER_COUNTS; do cases+=("layers-$l"); done
cases+=("files-$FILES")
for c in "${cases[@]}"; do
  ctx=$work/ctx-$c
  if [[ $c == layers-* ]]; then mk_layers_ctx "$ctx" "${c#layers-}"; else mk_files_ctx "$ctx"; fi
  "${IB[@]}" build -q -t "$REGISTRY/scale/$c:latest" "$ctx" >/dev/null
  "${IB[@]}" push -q "$REGISTRY/scale/$c:latest" >/dev/null
  rm -rf "$work/pullstore"
  timed "$work/m-pull.log" "$MINIRUN" --storage "$work/pullstore" pull -q "$REGISTRY/scale/$c:latest"
  m_secs=$T_SECS m_mb=$T_MB
  "${P[@]}" rmi -f "$REGISTRY/scale/$c:latest" >/dev/null 2>&1 || true
  timed "$work/p-pull.log" "${PH[@]}" pull -q --tls-verify=false "$REGISTRY/scale/$c:latest"
  p_secs=$T_SECS p_mb=$T_MB
  printf '%-14s | %-8s %-8s %-7s | %-9s %-9s %-7s\n' "$c" "$m_secs" "$p_secs" "$(ratio "$m_secs" "$p_secs")" \
    "$m_mb" "$p_mb" "$(ratio "$m_mb" "$p_mb")"
  if [[ $c == layers-* ]]; then
    echo "${c#layers-} $m_secs $p_secs" >>"$OUT/layers_pull.dat"
    echo "${c#layers-} $m_mb $p_mb" >>"$OUT/layers_memory.dat"
  fi
  "${P[@]}" rmi -f "$REGISTRY/scale/$c:latest" >/dev/null 2>&1 || true
  rm -rf "$ctx" "$work/pullstore"
done
plot layers_pull "pull of an image of L layers" seconds
plot layers_memory "the puller's peak RSS, L layers" MB
fi

if wants steps; then
echo
echo "== steps: build of a Containerfile of S steps (RUN and COPY alternating) =="
printf '%-5s | %-8s %-8s %-7s %-8s | %-8s %-8s %-7s %-8s\n' S "cold s" buildah ratio "ms/step" "warm s" buildah ratio "ms/step"
: >"$OUT/steps_cold.dat"; : >"$OUT/steps_warm.dat"
B=(buildah --root "$work/broot" --runroot "$work/brr" --storage-driver overlay)
"${B[@]}" pull -q --tls-verify=false "$BASE" >/dev/null
"$MINIRUN" --storage "$work/ibstore" pull -q "$BASE" >/dev/null
BUD=("${B[@]}" bud --layers --pull=never --runtime runc "${U[@]}" --isolation oci -q)
for n in $STEP_COUNTS; do
  ctx=$work/ctx-steps-$n
  mkdir -p "$ctx"
  { echo "FROM $BASE"; echo "WORKDIR /steps"
    for i in $(seq "$n"); do
      if ((i % 2)); then echo "RUN echo step $i > /steps/run-$i"; else echo "s$i" >"$ctx/f$i"; echo "COPY f$i /steps/copy-$i"; fi
    done; } >"$ctx/Containerfile"
  timed "$work/ib.log" "${IB[@]}" build -q --no-cache -t "localhost/steps:$n" "$ctx"; m_cold=$T_SECS
  timed "$work/ib.log" "${IB[@]}" build -q -t "localhost/steps:$n" "$ctx"; m_warm=$T_SECS
  # buildah stops at 127 layers ("max depth exceeded"): its failure is shown, not fatal.
  b_cold=- b_warm=-
  if peer_timed "$work/bb.log" "${BUD[@]}" -t "localhost/steps:$n" --no-cache "$ctx"; then
    b_cold=$T_SECS
    peer_timed "$work/bb.log" "${BUD[@]}" -t "localhost/steps:$n" "$ctx" && b_warm=$T_SECS
  else
    echo "  buildah failed at $n steps: $(grep -o 'max depth exceeded' "$work/bb.log" | head -1 || tail -n 1 "$work/bb.log")"
  fi
  printf '%-5s | %-8s %-8s %-7s %-8s | %-8s %-8s %-7s %-8s\n' "$n" "$m_cold" "$b_cold" "$(ratio_or_dash "$m_cold" "$b_cold")" \
    "$(per "$m_cold" "$n")" "$m_warm" "$b_warm" "$(ratio_or_dash "$m_warm" "$b_warm")" "$(per "$m_warm" "$n")"
  echo "$n $m_cold ${b_cold/-/NaN}" >>"$OUT/steps_cold.dat"
  echo "$n $m_warm ${b_warm/-/NaN}" >>"$OUT/steps_warm.dat"
  rm -rf "$ctx"
done
plot steps_cold "cold build (--no-cache) of S steps" seconds buildah imgbuild
plot steps_warm "warm build (unchanged) of S steps" seconds buildah imgbuild
fi

echo
if command -v gnuplot >/dev/null; then echo "plots: $OUT/*.png"; else echo "no plots: apt-get install -y gnuplot-nox"; fi
