#!/bin/bash
# Build benchmark: imgbuild build vs buildah bud, cold (no cache) and warm (an
# unchanged rebuild), in one run, on the same Containerfile and context:
#   FROM the busybox fixture; ENV; WORKDIR; a RUN writing 200 files; COPY of a ~50 MB
#   directory (50 files of 1 MB, half random, half text); a RUN reading them; CMD.
# Both tools have the base image locally before timing starts (imgbuild: pulled into
# its store; buildah: pulled into its private storage), both compress layers with gzip.
#
#   scripts/bench/build.sh            # RUNS=3, medians
#   RUNS=5 scripts/bench/build.sh
#
# buildah runs with private --root/--runroot (removed on exit), --layers (its cache),
# runc as the OCI runtime (crun refuses this machine's hybrid cgroup layout) and the
# ulimits this machine can grant. Needs root. Targets: cold <= 0.5x, warm <= 0.1x.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RUNS=${RUNS:-3}
IMGBUILD=${IMGBUILD_BIN:-$REPO/build/imgbuild}
MINIRUN=${MINIRUN_BIN:-$REPO/build/minirun}
command -v buildah >/dev/null || { echo "build.sh: buildah is not installed (apt-get install buildah)" >&2; exit 2; }

WORK=$(mktemp -d /tmp/mrbb.XXXXXX)
BROOT=$WORK/b/root BRUN=$WORK/b/rr
cleanup() {
  buildah --root "$BROOT" --runroot "$BRUN" rm -a >/dev/null 2>&1 || true
  buildah --root "$BROOT" --runroot "$BRUN" rmi -af >/dev/null 2>&1 || true
  { grep -o " $WORK[^ ]*" /proc/mounts || true; } | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  "$REPO/tests/fixtures/registry.sh" stop "$WORK/reg" >/dev/null 2>&1 || true
  rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT
mkdir -p "$WORK/reg" "$BROOT" "$BRUN" "$WORK/ctx/data"
eval "$("$REPO/tests/fixtures/registry.sh" start none "$WORK/reg")"
"$REPO/tests/fixtures/images.sh" seed "$REGISTRY" busybox >/dev/null 2>&1
BASE=$REGISTRY/busybox:latest

for i in $(seq 1 25); do head -c 1048576 /dev/urandom >"$WORK/ctx/data/random-$i.bin"; done
for i in $(seq 1 25); do yes "line $i of a text file that compresses well, like source code or logs" | head -c 1048576 >"$WORK/ctx/data/text-$i.txt" || true; done
cat >"$WORK/ctx/Containerfile" <<CF
FROM $BASE
ENV APP_HOME=/app MODE=bench
WORKDIR /app
RUN mkdir gen && for i in \$(seq 1 200); do echo "generated file \$i" > gen/f\$i.txt; done
COPY data/ /app/data/
RUN cat /app/data/* gen/* | wc -c > /app/total-bytes
CMD ["cat", "/app/total-bytes"]
CF

"$MINIRUN" --storage "$WORK/store" pull -q "$BASE" >/dev/null
printf '[[registry]]\nlocation = "%s"\ninsecure = true\n' "$REGISTRY" >"$WORK/registries.conf"
B=(env CONTAINERS_REGISTRIES_CONF="$WORK/registries.conf" buildah --root "$BROOT" --runroot "$BRUN" --storage-driver overlay)
"${B[@]}" pull -q --tls-verify=false "$BASE" >/dev/null

secs() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }; e=$(date +%s.%N); echo "$e - $s" | bc; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
ib() { "$IMGBUILD" --storage "$WORK/store" build -q -t localhost/bench:latest "$@" "$WORK/ctx"; }
bb() { "${B[@]}" bud --layers --pull=never --runtime runc --ulimit nofile=20000:20000 --ulimit nproc=32768:32768 \
  --isolation oci -q -t localhost/bench:latest "$@" "$WORK/ctx"; }

ic=() iw=() bc_=() bw=()
for r in $(seq 1 "$RUNS"); do
  sync
  ic+=("$(secs ib --no-cache)"); iw+=("$(secs ib)")
  sync
  bc_+=("$(secs bb --no-cache)"); bw+=("$(secs bb)")
  echo "run $r: imgbuild cold ${ic[-1]}s warm ${iw[-1]}s | buildah cold ${bc_[-1]}s warm ${bw[-1]}s" >&2
done
# Same result from both: the total byte count the last RUN wrote.
want=$("$MINIRUN" --storage "$WORK/store" run --rm --network none localhost/bench:latest)
got=$("${B[@]}" run --runtime runc "$("${B[@]}" from -q --pull=never localhost/bench:latest)" cat /app/total-bytes 2>/dev/null || echo "?")
IC=$(median "${ic[@]}") IW=$(median "${iw[@]}") BC=$(median "${bc_[@]}") BW=$(median "${bw[@]}")
printf '\n%-10s %10s %10s\n' "" "cold (s)" "warm (s)"
printf '%-10s %10.3f %10.3f\n' imgbuild "$IC" "$IW" buildah "$BC" "$BW"
printf '%-10s %9.2fx %9.2fx   (targets: cold <= 0.50x, warm <= 0.10x)\n' ratio "$(echo "$IC / $BC" | bc -l)" "$(echo "$IW / $BW" | bc -l)"
echo "content check: imgbuild image says $want bytes, buildah image says $got"
