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
#
# Per-container and per-image cost is flat when the time per item stays flat: the
# tables print it next to the totals.
#
# Env: COUNTS (default "1 10 50 100"), IMAGE_COUNTS ("10 100 1000"), PEER_IMAGE_MAX (the
# largest store podman is asked to fill, default 100: its import takes ~0.5 s each),
# MINIRUN_BIN, OUT (default /tmp/minirun-scale). Runs as root, in a network namespace
# of its own.
set -euo pipefail
cd "$(dirname "$0")/../.."
BENCH=scale.sh
source scripts/bench/lib.sh
COUNTS=${COUNTS:-"1 10 50 100"}
IMAGE_COUNTS=${IMAGE_COUNTS:-"10 100 1000"}
PEER_IMAGE_MAX=${PEER_IMAGE_MAX:-100}
MINIRUN=${MINIRUN_BIN:-$PWD/build/minirun}
OUT=${OUT:-/tmp/minirun-scale}
for c in podman jq nsenter; do command -v "$c" >/dev/null || die "needs $c"; done
[ -x "$MINIRUN" ] || die "$MINIRUN not built (scripts/build.sh)"
[ "$(id -u)" = 0 ] || die "run as root"
mkdir -p "$OUT"

work=$(mktemp -d /tmp/mrsc.XXXXXX)
ns=mr-bench-scale-$$
ip netns add "$ns"
ip -n "$ns" link set lo up
N=(nsenter "--net=/var/run/netns/$ns")
M=("${N[@]}" "$MINIRUN" --storage "$work/store")
# crun 1.8 refuses the hybrid cgroup layout: podman uses runc here.
P=("${N[@]}" podman --root "$work/pr" --runroot "$work/rr" --tmpdir "$work/t" --cgroup-manager cgroupfs
  --events-backend file --storage-driver overlay --runtime runc)
U=(--ulimit nofile=20000:20000 --ulimit nproc=32768:32768)
cleanup() {
  "${M[@]}" rm -f $("${M[@]}" ps -aq 2>/dev/null) >/dev/null 2>&1 || true
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

# plot NAME TITLE YLABEL: $OUT/NAME.dat (columns: n minirun podman) -> $OUT/NAME.png
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
plot "$OUT/$1.dat" using 1:2 with linespoints title "minirun", "" using 1:3 with linespoints title "podman"
EOF
}

echo "scale benchmark: $(load_note)"
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

echo
if command -v gnuplot >/dev/null; then echo "plots: $OUT/*.png"; else echo "no plots: apt-get install -y gnuplot-nox"; fi
