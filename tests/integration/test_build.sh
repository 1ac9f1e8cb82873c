#!/usr/bin/env bash
# imgbuild build on the busybox fixture: every instruction and flag, multi-stage and
# --target, the step cache (hits, and misses from the first step that reads a changed
# file), ignore files, whiteouts, reproducible digests, the outputs, and errors. Peers
# check the result: oci-image-tool and umoci read the store, skopeo the oci: outputs,
# podman runs the image; minirun runs it too.
source "$(dirname "$0")/common.sh"
require_root
require_cmd docker-registry skopeo umoci oci-image-tool podman runc jq python3
IMGBUILD=${IMGBUILD_BIN:?}
ib() { "$IMGBUILD" --storage "$STORE" "$@"; }
# run_img IMAGE [CMD...]: minirun run --rm without a network, output in OUT.
run_img() { run_ok mr run --rm --network none "$@"; }
manifest_of() {
  local d
  d=$(jq -r --arg n "$1" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $n) | .digest' "$STORE/store/index.json")
  [[ $d == sha256:* ]] || fail "no image $1 in the store"
  cat "$STORE/store/blobs/sha256/${d#sha256:}"
}
config_of() { cat "$STORE/store/blobs/sha256/$(manifest_of "$1" | jq -r .config.digest | cut -d: -f2)"; }
digest_of() { sed -n 's/^Digest: //p' <<<"$1"; }
# layer_listing IMAGE N: `tar tv` of layer N (0-based; negative from the end).
layer_listing() {
  local d
  d=$(manifest_of "$1" | jq -r ".layers[$2].digest")
  tar tvf "$STORE/store/blobs/sha256/${d#sha256:}"
}

start_registry none
"$IMAGES" seed "$REGISTRY" busybox >/dev/null 2>&1 || fail "seeding busybox"
BASE=$REGISTRY/busybox:latest
run_ok mr pull -q "$BASE"

# ---- every instruction ----
CTX=$(mktemp_dir)
mkdir -p "$CTX/app/sub" "$CTX/tree/x"
echo "hello from the context" >"$CTX/app/a.txt"
echo sub >"$CTX/app/sub/b.txt"
echo "not for the image" >"$CTX/secret.txt"
echo kept >"$CTX/tree/x/keep.md"
echo dropped >"$CTX/tree/x/drop.md"
echo one >"$CTX/one.cfg"
echo two >"$CTX/two.cfg"
printf '# comment\nsecret.txt\n**/*.md\n!tree/x/keep.md\n' >"$CTX/.dockerignore"
mkdir -p "$CTX/exdir/a" "$CTX/exdir/b" && touch "$CTX/exdir/a/1.txt" "$CTX/exdir/a/2.log" "$CTX/exdir/b/3.txt" "$CTX/exdir/top.log"
mkdir -p "$CTX/tarsrc/pkg" && echo packed >"$CTX/tarsrc/pkg/inside.txt"
tar -C "$CTX/tarsrc" -czf "$CTX/bundle.tar.gz" pkg
tar -C "$CTX/tarsrc" -cJf "$CTX/bundle.tar.xz" pkg
tar -C "$CTX/tarsrc" -cjf "$CTX/bundle.tar.bz2" pkg && rm -rf "$CTX/tarsrc"
# ADD <url>: a file served on 127.0.0.1 by a server this test starts.
WWW=$(mktemp_dir)
echo "downloaded body" >"$WWW/remote.txt"
python3 -m http.server --bind 127.0.0.1 0 --directory "$WWW" >"$WWW/log" 2>&1 &
WWW_PID=$!
on_exit "kill $WWW_PID 2>/dev/null"
for _ in $(seq 100); do WWW_PORT=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$WWW/log" | head -1); [[ -n $WWW_PORT ]] && break; sleep 0.05; done
[[ -n $WWW_PORT ]] || fail "http.server did not start"
REMOTE_SUM=sha256:$(sha256sum "$WWW/remote.txt" | cut -d' ' -f1)

cat >"$CTX/Containerfile" <<CF
# escape=\\
ARG BASE=busybox
FROM \${BASE} AS base
LABEL org.example.stage="base" version=1
MAINTAINER Tests <tests@example.org>
ENV APP_HOME=/srv/app \\
    GREETING="hi there"
ARG FLAVOUR=plain
WORKDIR \$APP_HOME
COPY app/ ./
COPY --chown=nobody:nogroup --chmod=0640 one.cfg two.cfg /etc/conf/
COPY tree /tree
COPY * /glob/
ADD bundle.tar.gz /opt/
COPY --exclude=**/*.log --exclude=b exdir /ex/
COPY --exclude=*.cfg *.cfg Containerfile /exf/
ADD bundle.tar.xz /xz/
ADD bundle.tar.bz2 /bz/
ADD --checksum=$REMOTE_SUM http://127.0.0.1:$WWW_PORT/remote.txt /dl/
RUN echo "\$GREETING \$FLAVOUR" > greet.txt && rm /bin/vi && mkdir -p /var/empty-dir
RUN ["/bin/sh", "-c", "echo exec-form > /exec.txt"]
RUN --network=none ip -o link | grep -vc ': lo:' > /links.txt || true
COPY <<EOT /etc/heredoc.conf
home=\$APP_HOME
EOT
RUN <<EOT
echo heredoc-script > /heredoc-run.txt
EOT
SHELL ["/bin/sh", "-ec"]
RUN test "\$0" = /bin/sh && echo shell-ok > /shell.txt
USER nobody
EXPOSE 8080 53/udp
VOLUME ["/data"]
STOPSIGNAL SIGINT
HEALTHCHECK --interval=30s --timeout=5s --retries=2 CMD wget -q -O- http://127.0.0.1:8080/ || exit 1
ONBUILD RUN echo triggered > /tmp/onbuild.txt
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["cat /srv/app/greet.txt"]
CF
run_ok ib build -t localhost/all:latest --build-arg "BASE=$BASE" --build-arg FLAVOUR=spicy "$CTX"
assert_contains "$OUT" "STEP 1/31: FROM \${BASE} AS base" "progress numbering"
assert_contains "$OUT" "STEP 31/31: CMD" "last step"
ALL_DIGEST=$(digest_of "$OUT")
[[ $ALL_DIGEST == sha256:* ]] || fail "no digest printed: $OUT"
cfg=$(config_of localhost/all:latest)
assert_eq '"base"' "$(jq -c '.config.Labels["org.example.stage"]' <<<"$cfg")" "LABEL"
assert_eq "Tests <tests@example.org>" "$(jq -r .author <<<"$cfg")" "MAINTAINER"
assert_eq "/srv/app" "$(jq -r .config.WorkingDir <<<"$cfg")" "WORKDIR"
assert_eq "nobody" "$(jq -r .config.User <<<"$cfg")" "USER"
assert_eq '["53/udp","8080/tcp"]' "$(jq -c '.config.ExposedPorts | keys' <<<"$cfg")" "EXPOSE"
assert_eq '["/data"]' "$(jq -c '.config.Volumes | keys' <<<"$cfg")" "VOLUME"
assert_eq SIGINT "$(jq -r .config.StopSignal <<<"$cfg")" "STOPSIGNAL"
assert_eq '{"Interval":30000000000,"Retries":2,"Test":["CMD-SHELL","wget -q -O- http://127.0.0.1:8080/ || exit 1"],"Timeout":5000000000}' \
  "$(jq -cS .config.Healthcheck <<<"$cfg")" "HEALTHCHECK"
assert_eq '["RUN echo triggered > /tmp/onbuild.txt"]' "$(jq -c .config.OnBuild <<<"$cfg")" "ONBUILD kept"
assert_eq '["/bin/sh","-ec"]' "$(jq -c .config.Shell <<<"$cfg")" "SHELL"
assert_eq '["/bin/sh","-c"]|["cat /srv/app/greet.txt"]' "$(jq -c .config.Entrypoint <<<"$cfg")|$(jq -c .config.Cmd <<<"$cfg")" "ENTRYPOINT and CMD"
assert_contains "$(jq -c .config.Env <<<"$cfg")" '"GREETING=hi there"' "ENV with quotes"
assert_not_contains "$(jq -c .config.Env <<<"$cfg")" "FLAVOUR" "ARG values stay out of the image's Env"
assert_eq "1970-01-01T00:00:00Z" "$(jq -r .created <<<"$cfg")" "created from SOURCE_DATE_EPOCH (0)"
assert_eq true "$(jq '[.history[] | select(.created_by | startswith("ENV"))][0].empty_layer' <<<"$cfg")" "metadata steps make no layer"
assert_eq "$(jq '[.history[] | select(.empty_layer != true)] | length' <<<"$cfg")" "$(jq '.rootfs.diff_ids | length' <<<"$cfg")" "history matches the layers"
pass "every instruction lands in the image config"

run_img localhost/all:latest
assert_eq "hi there spicy" "$OUT" "CMD under the ENTRYPOINT, ENV and --build-arg'd ARG in RUN"
run_img -u root --entrypoint /bin/sh localhost/all:latest -c '
  pwd; cat a.txt sub/b.txt
  stat -c "%U:%G %a" /etc/conf/one.cfg /etc/conf/two.cfg
  ls /tree/x; ls /glob | tr "\n" " "; echo
  cat /opt/pkg/inside.txt /xz/pkg/inside.txt /bz/pkg/inside.txt; cat /dl/remote.txt; stat -c %a /dl/remote.txt
  find /ex /exf -type f | sort | tr "\n" " "; echo
  ls /bin/vi 2>&1 || true; cat /exec.txt /links.txt /etc/heredoc.conf /heredoc-run.txt /shell.txt'
assert_eq "/srv/app
hello from the context
sub
nobody:nogroup 640
nobody:nogroup 640
keep.md
Containerfile a a.txt b bundle.tar.bz2 bundle.tar.gz bundle.tar.xz one.cfg sub top.log two.cfg x 
packed
packed
packed
downloaded body
600
/ex/a/1.txt /exf/Containerfile 
ls: /bin/vi: No such file or directory
exec-form
0
home=/srv/app
heredoc-script
shell-ok" "$OUT" "files from COPY/ADD/RUN as the instructions say"
pass "COPY (--chown, --chmod, dirs, wildcards, ignore file with ! and **), COPY --exclude, ADD (tar: gzip, xz, bzip2; URL + --checksum), heredocs, RUN forms, --network=none"

layer_listing localhost/all:latest -1 >/dev/null  # readable
found=""
for i in $(seq 0 "$(($(manifest_of localhost/all:latest | jq '.layers | length') - 1))"); do
  [[ $(layer_listing localhost/all:latest "$i") == *' bin/.wh.vi'* ]] && found=$i
done
[[ -n $found ]] || fail "no layer carries the whiteout bin/.wh.vi"
[[ $(layer_listing localhost/all:latest "$found") == *' etc/'$'\n'* ]] && fail "the RUN layer carries /etc only for the resolv.conf mount point"
pass "a RUN deleting a lower layer's file makes a .wh. whiteout entry"

# ONBUILD triggers run when the image is a base, and do not travel further.
CHILD=$(mktemp_dir)
printf 'FROM localhost/all:latest\nUSER root\n' >"$CHILD/Containerfile"
run_ok ib build -t localhost/child "$CHILD"
assert_contains "$OUT" "ONBUILD RUN echo triggered" "trigger announced"
run_img --entrypoint cat localhost/child /tmp/onbuild.txt
assert_eq triggered "$OUT" "ONBUILD trigger ran"
assert_eq null "$(config_of localhost/child:latest | jq -c .config.OnBuild)" "triggers are not inherited twice"
pass "ONBUILD triggers run in the child build"

# ---- peers read the result ----
run_ok oci-image-tool validate --type image --ref name=localhost/all:latest "$STORE/store"
bundle=$(mktemp_dir)/b
run_ok umoci unpack --image "$STORE/store:localhost/all:latest" "$bundle"
assert_eq "hi there spicy" "$(cat "$bundle/rootfs/srv/app/greet.txt")" "umoci unpacks the built layers"
[[ ! -e $bundle/rootfs/bin/vi ]] || fail "umoci applied the whiteout"
pass "oci-image-tool validates and umoci unpacks the built image"

OUTDIR=/tmp/mrbuild-out-$$   # lower case: podman names what it pulls from oci: after the path
mkdir -p "$OUTDIR" && on_exit "rm -rf '$OUTDIR'"
run_ok ib build -q -t localhost/all:v2 --build-arg "BASE=$BASE" --build-arg FLAVOUR=spicy \
  --output "oci:$OUTDIR/layout" --output "oci-archive:$OUTDIR/image.tar" "$CTX"
run_ok skopeo inspect "oci:$OUTDIR/layout:v2"
assert_eq "$ALL_DIGEST" "$(jq -r .Digest <<<"$OUT")" "oci: output holds the same image"
run_ok skopeo inspect "oci-archive:$OUTDIR/image.tar:v2"
assert_eq "$ALL_DIGEST" "$(jq -r .Digest <<<"$OUT")" "oci-archive: output holds the same image"
private_podman
run_ok "${P[@]}" pull -q "oci:$OUTDIR/layout:v2"
img=$OUT
run_ok "${P[@]}" run --rm "${podman_run_flags[@]}" --network none "$img"
assert_eq "hi there spicy" "$OUT" "podman runs the image imgbuild built"
cleanup_private_podman
pass "--output oci:/oci-archive: read by skopeo; podman runs the built image"

# More layers than one page of overlay options holds (~60): the build's RUN and `run`
# mount them through the new mount API, one lower dir at a time. (After the peers:
# oci-image-tool 1.0 calls a ref "not unique" once index.json holds four images.)
DEEP=$(mktemp_dir)
{ echo "FROM $BASE"
  for i in $(seq 90); do echo "layer $i" >"$DEEP/f$i"; echo "COPY f$i /deep/f$i"; done
  echo 'RUN cat /deep/f1 /deep/f45 /deep/f90 > /deep/sum && ls /deep | wc -l >> /deep/sum'; } >"$DEEP/Containerfile"
run_ok ib build -q -t localhost/deep "$DEEP"
assert_eq 92 "$(config_of localhost/deep:latest | jq '.rootfs.diff_ids | length')" "90 COPY layers, the RUN's and the base's"
run_img localhost/deep cat /deep/sum
assert_eq "layer 1
layer 45
layer 90
91" "$OUT" "every layer seen by the build's RUN and by run"
pass "an image of 92 layers builds and runs (beyond one page of overlay options)"

# ---- cache ----
# The COPY sources' stat memos: an unchanged rebuild finds every one and rewrites none
# (a memo written under the wrong name would make every warm build hash the context again).
memos() { find "$STORE/cache/build" -name 'stat-*' -printf '%f %T@\n' | sort; }
MEMOS_BEFORE=$(memos)
[ -n "$MEMOS_BEFORE" ] || fail "the first build left no stat memos in $STORE/cache/build"
run_ok ib build -t localhost/all:latest --build-arg "BASE=$BASE" --build-arg FLAVOUR=spicy "$CTX"
assert_contains "$OUT" "Steps: 0 run, 17 cached" "an unchanged rebuild runs nothing"
assert_eq "$ALL_DIGEST" "$(digest_of "$OUT")" "same digest from the cache"
assert_eq "$MEMOS_BEFORE" "$(memos)" "an unchanged rebuild reads its stat memos and writes none"
echo "changed" >"$CTX/two.cfg"   # first read by step 8 (COPY --chown ... one.cfg two.cfg)
run_ok ib build -t localhost/all:latest --build-arg "BASE=$BASE" --build-arg FLAVOUR=spicy "$CTX"
assert_contains "$OUT" "Steps: 15 run, 2 cached" "only the steps from the first reader of the changed file rerun"
sed -n '/STEP 7\//,/STEP 8\//p' <<<"$OUT" | grep -q "Using cache" || fail "COPY app/ (step 7) should be cached: $OUT"
sed -n '/STEP 8\//,/STEP 9\//p' <<<"$OUT" | grep -q "Using cache" && fail "step 8 read the changed file and must rerun"
echo "secret v2" >"$CTX/secret.txt"   # ignored: no step sees it
run_ok ib build -t localhost/all:latest --build-arg "BASE=$BASE" --build-arg FLAVOUR=spicy "$CTX"
assert_contains "$OUT" "Steps: 0 run, 17 cached" "an ignored file changes nothing"
run_ok ib build -t localhost/all:latest --build-arg "BASE=$BASE" --build-arg FLAVOUR=mild "$CTX"
assert_contains "$OUT" "Steps: 6 run, 11 cached" "a changed --build-arg reruns from the first RUN after its ARG"
run_ok ib build --no-cache -q -t localhost/all:latest --build-arg "BASE=$BASE" --build-arg FLAVOUR=mild "$CTX"
pass "cache: unchanged rebuild runs nothing; a changed file or build arg reruns from its first user"

# ---- multi-stage, --target, reproducibility ----
MS=$(mktemp_dir)
echo "source code" >"$MS/main.txt"
cat >"$MS/Containerfile" <<CF
ARG BASE
FROM \$BASE AS builder
COPY main.txt /src/
RUN mkdir /out && tr a-z A-Z < /src/main.txt > /out/artifact
FROM \$BASE AS broken
RUN echo this stage is not needed && exit 3
FROM scratch AS final
COPY --from=builder /out/artifact /artifact
COPY --from=0 /bin/busybox /bin/busybox
COPY --from=$BASE /etc/minirun-fixture /fixture
CMD ["/bin/busybox", "cat", "/artifact", "/fixture"]
CF
run_ok ib build -t localhost/ms:latest --build-arg "BASE=$BASE" "$MS"
assert_not_contains "$OUT" "this stage is not needed" "stages the target does not need are skipped"
MS_DIGEST=$(digest_of "$OUT")
run_img localhost/ms
assert_eq $'SOURCE CODE\nbusybox' "$OUT" "COPY --from a stage, an index and an image"
assert_eq 3 "$(manifest_of localhost/ms:latest | jq '.layers | length')" "FROM scratch: only the copied layers"
run_ok ib build -t localhost/ms:builder --target builder --build-arg "BASE=$BASE" "$MS"
run_img localhost/ms:builder cat /out/artifact
assert_eq "SOURCE CODE" "$OUT" "--target builder"
run_expect_fail ib build --target broken --build-arg "BASE=$BASE" "$MS"
assert_contains "$ERR" "Containerfile:6: RUN echo this stage is not needed && exit 3: the command exited with status 3" "a failing RUN names file:line and status"
pass "multi-stage: --target, unneeded stages skipped, COPY --from stage/index/image"

# The same Containerfile and context elsewhere, later, in a fresh store, uncached.
sleep 1
MS2=$(mktemp_dir)
cp -r "$MS/." "$MS2/" && touch "$MS2/main.txt"
STORE2=$(mktemp_dir)
"$MINIRUN" --storage "$STORE2" pull -q "$BASE" >/dev/null || fail "pull into the second store"
run_ok "$IMGBUILD" --storage "$STORE2" build --no-cache -t localhost/other:tag --build-arg "BASE=$BASE" "$MS2"
assert_eq "$MS_DIGEST" "$(digest_of "$OUT")" "two builds in different directories and stores at different times"
SOURCE_DATE_EPOCH=1700000000 run_ok "$IMGBUILD" --storage "$STORE2" build -t localhost/other:epoch --build-arg "BASE=$BASE" "$MS2"
assert_ne "$MS_DIGEST" "$(digest_of "$OUT")" "SOURCE_DATE_EPOCH changes the created time"
assert_eq "2023-11-14T22:13:20Z" "$(STORE=$STORE2 config_of localhost/other:epoch | jq -r .created)" "created = SOURCE_DATE_EPOCH"
pass "reproducible: same digest across directories, stores and times"

run_ok ib build -t localhost/ms:zstd --compression zstd --build-arg "BASE=$BASE" "$MS"
assert_eq "application/vnd.oci.image.layer.v1.tar+zstd" "$(manifest_of localhost/ms:zstd | jq -r '.layers[0].mediaType')" "zstd layers"
run_ok mr rmi localhost/ms:zstd
run_ok mr pull -q "$BASE"
run_img localhost/ms:latest
pass "--compression zstd"

# ---- RUN --mount: cache (persists, never in the layer), bind (context honours the ignore
# file; a stage), tmpfs ----
MNT=$(mktemp_dir)
mkdir -p "$MNT/src" && echo visible >"$MNT/src/a.txt" && echo secret >"$MNT/src/secret.txt"
echo "src/secret.txt" >"$MNT/.dockerignore"
cat >"$MNT/Containerfile" <<CF
FROM $BASE AS base
RUN mkdir -p /out && echo from-stage > /out/s.txt
FROM $BASE
RUN --mount=type=cache,target=/var/cache/app echo run >> /var/cache/app/count && wc -l < /var/cache/app/count > /count.txt
RUN --mount=type=bind,source=src,target=/mnt/src ls /mnt/src > /listing.txt
RUN --mount=type=tmpfs,target=/scratch touch /scratch/x && ls /scratch > /tmpfs.txt
RUN --mount=from=base,source=/out,target=/mnt/out cat /mnt/out/s.txt > /from.txt
CF
run_ok ib build -q -t localhost/mnt "$MNT"
run_ok ib build -q --no-cache -t localhost/mnt "$MNT"
run_img localhost/mnt sh -c 'cat /count.txt /listing.txt /tmpfs.txt /from.txt; ls -d /var/cache /mnt /scratch 2>/dev/null | wc -l'
assert_eq $'2\na.txt\nx\nfrom-stage\n0' "$OUT" "cache mount persisted across builds, ignored file hidden, tmpfs, stage bind; no mount point left in the image"
echo "changed" >"$MNT/src/a.txt"
run_ok ib build -t localhost/mnt "$MNT"
assert_contains "$OUT" "Steps: 3 run, 2 cached" "a changed bind source reruns from its RUN on"
pass "RUN --mount=type=cache|bind|tmpfs"

# ---- build secrets: readable by the steps that mount them, in no layer, key or history ----
SEC=$(mktemp_dir)
printf 'tok-%s' "$RANDOM$RANDOM" >"$SEC/token"
cat >"$SEC/Containerfile" <<CF
FROM $BASE
RUN --mount=type=secret,id=tok md5sum < /run/secrets/tok | cut -c1-32 > /seen.txt && ls -ln /run/secrets/tok | cut -c1-10 >> /seen.txt
RUN --mount=type=secret,id=tok,env=TOK,target=/s/t,mode=0440,uid=7 sh -c 'printf %s "\$TOK" | md5sum | cut -c1-32 > /env.txt; ls -ln /s/t | awk "{print \\\$1, \\\$3}" >> /env.txt'
RUN --mount=type=secret,id=absent ls /run/secrets 2>/dev/null | wc -l > /absent.txt
CF
run_ok ib build -q --secret "id=tok,src=$SEC/token" -t localhost/sec "$SEC"
tok=$(cat "$SEC/token")
sum=$(md5sum <"$SEC/token" | cut -c1-32)
run_img localhost/sec sh -c 'cat /seen.txt /env.txt /absent.txt; ls /run/secrets /s 2>&1 | wc -l'
assert_eq "$sum"$'\n-r--------\n'"$sum"$'\n-r--r----- 7\n0\n2' "$OUT" "the secret as a file (0400), as env and a chosen target/mode/uid; an optional absent secret is not there; no mount point left"
for b in "$STORE"/store/blobs/sha256/*; do
  if zcat -f "$b" 2>/dev/null | grep -qa "$tok"; then fail "the secret is in blob $b"; fi
done
grep -rqa "$tok" "$STORE/store" && fail "the secret is in the store"
ls /dev/shm | grep -q imgbuild-secret && fail "a secret file was left in /dev/shm"
printf 'tok-%s' "other$RANDOM" >"$SEC/token"
run_ok ib build --secret "id=tok,src=$SEC/token" -t localhost/sec "$SEC"
assert_contains "$OUT" "Steps: 0 run, 3 cached" "a changed secret value does not change the cache key (as BuildKit)"
TOK_VALUE=from-env run_ok ib build -q --no-cache --secret id=tok,env=TOK_VALUE -t localhost/sec2 "$SEC"
run_img localhost/sec2 head -1 /seen.txt
assert_eq "$(printf from-env | md5sum | cut -c1-32)" "$OUT" "--secret id=,env= takes the value from our environment"
printf 'FROM %s\nRUN --mount=type=secret,id=npmrc,required true\n' "$BASE" >"$SEC/Containerfile"
run_expect_fail ib build "$SEC"
assert_contains "$ERR" "Containerfile:2: RUN --mount=type=secret,id=npmrc,required: no secret npmrc was given" "a required secret that is missing names the line"
run_expect_fail ib build --secret "id=x,src=$SEC/nope" "$SEC"
assert_contains "$ERR" "--secret id=x,src=$SEC/nope: $SEC/nope: No such file or directory" "a missing secret file names the flag"
run_expect_fail ib build --secret "src=$SEC/token" "$SEC"
assert_contains "$ERR" "needs id=NAME" "a secret without id"
pass "build secrets: --secret id=,src=|env= and RUN --mount=type=secret (file, env, target, mode, uid, required)"

# ---- --label, --iidfile, -f -, --network, --progress (issue 14) ----
FL=$(mktemp_dir)
printf 'FROM %s\nLABEL tier=back keep=yes\nRUN ls /sys/class/net > /nets\n' "$BASE" >"$FL/Containerfile.in"
run_ok sh -c "\"$IMGBUILD\" --storage \"$STORE\" build -f - --label tier=front --label built-by=ci --iidfile \"$FL/iid\" \
  --network none --progress plain -t localhost/flags:1 \"$FL\" < \"$FL/Containerfile.in\""
assert_contains "$OUT" "STEP 2/3: LABEL tier=back keep=yes"
cfg=$(config_of localhost/flags:1)
assert_eq '{"built-by":"ci","keep":"yes","tier":"front"}' "$(jq -c .config.Labels <<<"$cfg")" "--label over the Containerfile's LABEL"
assert_eq "$(mr inspect -f '{{.Id}}' localhost/flags:1)" "$(cat "$FL/iid")" "--iidfile holds the image id"
run_img localhost/flags:1 cat /nets
assert_eq lo "$OUT" "--network none: RUN steps see only lo"
printf 'FROM %s\nRUN --network=host ls /sys/class/net > /nets\n' "$BASE" >"$FL/Containerfile.host"
run_ok ib build -q -f "$FL/Containerfile.host" --network none -t localhost/flags:2 "$FL"
run_img localhost/flags:2 cat /nets
[[ $OUT == *lo* && $(wc -l <<<"$OUT") -gt 1 ]] || fail "RUN --network=host over the build's --network none: $OUT"
printf 'FROM %s\nBOGUS x\n' "$BASE" >"$FL/bad.in"
run_expect_fail sh -c "\"$IMGBUILD\" --storage \"$STORE\" build -f - \"$FL\" < \"$FL/bad.in\""
assert_contains "$ERR" "stdin:2:1: unknown instruction: BOGUS" "-f -: errors name stdin:line"
run_expect_fail ib build --network bridge "$FL"
assert_contains "$ERR" "--network"
pass "build --label, --iidfile, -f - (stdin), --network none|host, --progress plain"

# ---- COPY --parents (BuildKit's rule: the matched paths keep their directories, from a
# "/./" pivot on when there is one; a directory keeps its own name) ----
PAR=$(mktemp_dir)
mkdir -p "$PAR/svc/api/conf" "$PAR/svc/web/conf" "$PAR/lib/deep/x"
echo api >"$PAR/svc/api/conf/app.yml" && echo web >"$PAR/svc/web/conf/app.yml" && echo d >"$PAR/lib/deep/x/f"
cat >"$PAR/Containerfile" <<CF
FROM $BASE
COPY --parents svc/*/conf/app.yml /all/
COPY --parents ./lib/./deep/x /piv/
COPY --parents lib /dir
CF
run_ok ib build -q -t localhost/parents "$PAR"
run_img localhost/parents sh -c 'find /all /piv /dir -type f | sort | tr "\n" " "; cat /all/svc/web/conf/app.yml'
assert_eq "/all/svc/api/conf/app.yml /all/svc/web/conf/app.yml /dir/lib/deep/x/f /piv/deep/x/f web" "$OUT" "COPY --parents trees"
printf 'FROM %s\nCOPY --parents=false svc/api/conf/app.yml /one.yml\n' "$BASE" >"$PAR/Containerfile"
run_ok ib build -q -t localhost/parents "$PAR"
run_img localhost/parents cat /one.yml
assert_eq api "$OUT" "--parents=false is a plain COPY"
pass "COPY --parents, with a pivot and with a directory"

# ---- errors: one line naming the place, nothing left behind ----
BAD=$(mktemp_dir)
printf 'FROM %s\nRUN echo ok\nCOPYY a /b\n' "$BASE" >"$BAD/Containerfile"
run_expect_fail ib build "$BAD"
assert_contains "$ERR" "Containerfile:3:1: unknown instruction: COPYY" "parse error with file:line:col"
assert_contains "$ERR" $'COPYY a /b\n^' "the line and a caret under the column"
assert_not_contains "$OUT" "STEP" "nothing runs before the whole file parsed"
printf 'FROM %s\nCOPY missing.txt /x\n' "$BASE" >"$BAD/Containerfile"
run_expect_fail ib build "$BAD"
assert_contains "$ERR" 'COPY source "missing.txt": no such file or directory in the build context' "missing COPY source"
printf 'FROM %s\nCOPY ../../../../etc/shadow /x\n' "$BASE" >"$BAD/Containerfile"
run_expect_fail ib build "$BAD"
assert_contains "$ERR" 'COPY source "../../../../etc/shadow": no such file or directory in the build context' "no way out of the context"
ln -s /etc/shadow "$BAD/link"
printf 'FROM %s\nCOPY link /x\n' "$BASE" >"$BAD/Containerfile"
run_expect_fail ib build "$BAD"
assert_contains "$ERR" "link" "an absolute symlink resolves inside the context, not to the host's /etc/shadow"
run_expect_fail ib build --output tar:/tmp/x "$CTX"
assert_contains "$ERR" 'invalid --output "tar:/tmp/x"' "bad --output"
run_expect_fail ib build --target nope "$MS"
assert_contains "$ERR" "--target nope: no such stage" "unknown target"
run_expect_fail ib build -t 'Bad Name' "$MS"
grep -q " $STORE" /proc/mounts && fail "a build left a mount behind: $(grep " $STORE" /proc/mounts)"
leftover=$(find "$STORE/layers" "$STORE/tmp" -maxdepth 1 -name '.tmp-*' | head -3)
[[ -z $leftover ]] || fail "temp dirs left behind: $leftover"
pass "errors name file:line (and column), the context cannot be escaped, failed builds leave no mounts or temp dirs"
