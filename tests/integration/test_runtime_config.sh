#!/usr/bin/env bash
# Each config.json field, checked from inside a busybox container by what it sees.
source "$(dirname "$0")/common.sh"
require_root
require_cmd umoci jq

B=$(mktemp_dir)/bundle
make_bundle "$B"
base=$(cat "$B/config.json")
reset_config() { printf '%s' "$base" >"$B/config.json"; }
inside() { # SCRIPT: run it in a fresh container, output in $OUT
  config "$B" --arg s "$1" '.process.args=["sh","-c",$s]'
  run_ok oci run "c$RANDOM" --bundle "$B"
}
config_arg() { local tmp; tmp=$(mktemp "$B/.c.XXXXXX"); jq "$@" "$B/config.json" >"$tmp" && mv "$tmp" "$B/config.json"; }
config() { if [[ $2 == --arg ]]; then config_arg --arg "$3" "$4" "$5"; else local tmp; tmp=$(mktemp "$1/.c.XXXXXX"); jq "$2" "$1/config.json" >"$tmp" && mv "$tmp" "$1/config.json"; fi; }

# process: args, env, cwd, user, additionalGids, umask, rlimits, capabilities, NNP, oomScoreAdj
reset_config
config "$B" '.process.env += ["GREETING=hello world"] | .process.cwd="/newdir/sub" | .process.user={uid:1000,gid:1000,additionalGids:[10,20],umask:23}
  | .process.rlimits=[{type:"RLIMIT_NOFILE",soft:512,hard:1024}] | .process.noNewPrivileges=true | .process.oomScoreAdj=500
  | .process.capabilities={bounding:["CAP_NET_RAW","CAP_CHOWN"],effective:["CAP_NET_RAW"],permitted:["CAP_NET_RAW"],inheritable:["CAP_NET_RAW"],ambient:["CAP_NET_RAW"]}'
inside 'echo "env=$GREETING"; echo "cwd=$(pwd)"; echo "id=$(id -u):$(id -g)"; echo "groups=$(id -G)"; touch /tmp/f; echo "mode=$(stat -c %a /tmp/f)"; echo "nofile=$(ulimit -Sn)/$(ulimit -Hn)"; grep -E "^(Cap|NoNewPrivs)" /proc/self/status; echo "oom=$(cat /proc/self/oom_score_adj)"'
assert_contains "$OUT" "env=hello world"
assert_contains "$OUT" "cwd=/newdir/sub" "missing cwd created"
assert_contains "$OUT" "id=1000:1000"
assert_contains "$OUT" "groups=1000 10 20"
assert_contains "$OUT" "mode=640" "umask 027"
assert_contains "$OUT" "nofile=512/1024"
assert_contains "$OUT" "CapEff:	0000000000002000" "CAP_NET_RAW effective"
assert_contains "$OUT" "CapBnd:	0000000000002001" "bounding NET_RAW+CHOWN"
assert_contains "$OUT" "CapAmb:	0000000000002000"
assert_contains "$OUT" "NoNewPrivs:	1"
assert_contains "$OUT" "oom=500"
pass "process fields"

# An rlimit above what this host lets us raise: a clear error naming the limit.
reset_config
config "$B" '.process.rlimits=[{type:"RLIMIT_NOFILE",soft:1048576,hard:1048576}] | .process.args=["true"]'
hard=$(ulimit -Hn)
if (( hard < 1048576 )); then
  run_expect_fail oci run rl1 --bundle "$B"
  assert_contains "$ERR" "setrlimit RLIMIT_NOFILE"
  assert_contains "$ERR" "exceeds the hard limit $hard"
  pass "rlimit above the hard limit refused with a clear error"
fi

# root.readonly, hostname, domainname, default capabilities
reset_config
config "$B" '.root.readonly=true | .hostname="box1" | .domainname="example.test"'
inside 'touch /x 2>&1; echo "host=$(hostname) dom=$(cat /proc/sys/kernel/domainname)"; grep CapEff /proc/self/status'
assert_contains "$OUT" "Read-only file system"
assert_contains "$OUT" "host=box1 dom=example.test"
assert_contains "$OUT" "CapEff:	00000000200004" "runc spec's default caps (AUDIT_WRITE, KILL, NET_BIND_SERVICE)"
pass "readonly root, hostname, domainname"

# An absolute process.args[0] missing from the rootfs, or not executable: `create` fails
# (status 127 / 126 as Docker reports them) and leaves no container behind.
reset_config
config "$B" '.process.args=["/no/such/program"]'
run_expect_fail oci create ab1 --bundle "$B"
assert_contains "$ERR" 'exec: "/no/such/program": stat /no/such/program: no such file or directory'
run_expect_fail oci state ab1
config "$B" '.process.args=["/etc/passwd"]'
run_expect_fail oci create ab2 --bundle "$B"
assert_contains "$ERR" 'exec: "/etc/passwd": permission denied'
run_expect_fail oci state ab2
pass "process.args[0] checked at create"

# A capability this host cannot grant (not in our own bounding set, e.g. CAP_SYS_RESOURCE on
# a VM without it): `create` fails naming the step, and no container is left.
bnd=$((16#$(awk '/^CapBnd:/ {print $2}' /proc/self/status)))
missing=""
for pair in 24:CAP_SYS_RESOURCE 25:CAP_SYS_TIME 16:CAP_SYS_MODULE 17:CAP_SYS_RAWIO 22:CAP_SYS_BOOT 37:CAP_AUDIT_READ; do
  (( (bnd >> ${pair%%:*}) & 1 )) || { missing=${pair#*:}; break; }
done
if [[ -z $missing ]]; then
  echo "skip - every capability is in this host's bounding set: nothing to refuse"
else
  reset_config
  config "$B" --arg c "$missing" '.process.capabilities={bounding:[$c],effective:[$c],permitted:[$c]} | .process.args=["true"]'
  run_expect_fail oci create cap1 --bundle "$B"
  assert_contains "$ERR" "capabilit"
  run_expect_fail oci state cap1
  pass "a capability the host cannot grant ($missing) fails create"
fi

# process.apparmorProfile: applied where AppArmor is enabled (the container's
# /proc/self/attr/current names the profile; an unknown one fails create), a warning and
# an unconfined run elsewhere.
reset_config
if [[ $(cat /sys/module/apparmor/parameters/enabled 2>/dev/null) == Y ]] && command -v aa-status >/dev/null; then
  profile=$(aa-status --json 2>/dev/null | jq -r '.profiles | to_entries[] | select(.value == "enforce") | .key' | head -1)
  if [[ -n $profile ]]; then
    config "$B" --arg p "$profile" '.process.apparmorProfile=$p'
    inside 'cat /proc/self/attr/current'
    assert_contains "$OUT" "$profile"
    config "$B" '.process.apparmorProfile="minirun-no-such-profile" | .process.args=["true"]'
    run_expect_fail oci create aa1 --bundle "$B"
    assert_contains "$ERR" 'apparmor profile "minirun-no-such-profile" is not loaded'
    pass "apparmorProfile applied ($profile), an unknown one refused"
  else
    echo "skip - AppArmor is enabled but has no enforcing profile to apply"
  fi
else
  echo "skip - AppArmor is not enabled on this host (/sys/module/apparmor): the profile cannot be applied here"
  config "$B" '.process.apparmorProfile="docker-default"'
  inside 'true'
  assert_contains "$ERR" "apparmor profile docker-default ignored: AppArmor is not enabled on this host"
  pass "apparmorProfile on a host without AppArmor: a warning, the container runs"
fi

# linux.rootfsPropagation: the container's root gets what was asked (after pivot_root:
# the kernel refuses to pivot onto a shared mount or to bind from an unbindable one),
# and the host's mount table is left as it was.
host_mounts_before=$(wc -l </proc/self/mountinfo)
for prop in shared unbindable private; do
  reset_config
  config "$B" --arg p "$prop" '.linux.rootfsPropagation=$p'
  inside 'awk '"'"'$5=="/" {print "root:", $0}'"'"' /proc/self/mountinfo'
  line=$(grep '^root:' <<<"$OUT" | tail -1)
  case $prop in
    shared) assert_contains "$line" " shared:" "rootfsPropagation shared";;
    unbindable) assert_contains "$line" " unbindable " "rootfsPropagation unbindable";;
    private) [[ $line != *shared:* && $line != *master:* && $line != *unbindable* ]] || fail "private root shows propagation: $line";;
  esac
done
[[ $(wc -l </proc/self/mountinfo) == "$host_mounts_before" ]] || fail "the host's mount table changed"
pass "rootfsPropagation shared, unbindable, private"

# mounts: ro bind, rbind, tmpfs with options, missing destinations created, proc error reported
host=$(mktemp_dir)
echo "from the host" >"$host/file"
reset_config
config "$B" --arg h "$host" '.mounts += [{destination:"/data/ro",type:"bind",source:$h,options:["rbind","ro","nosuid"]},
  {destination:"/data/rw",type:"bind",source:$h,options:["bind"]},
  {destination:"/scratch",type:"tmpfs",source:"tmpfs",options:["size=1m","mode=1777","noexec"]},
  {destination:"/etc/host-file",type:"bind",source:($h+"/file"),options:["bind","ro"]}]'
inside 'cat /data/ro/file; touch /data/ro/x 2>&1; touch /data/rw/y && echo rw-ok; cat /etc/host-file; grep " /scratch " /proc/self/mountinfo; stat -c %a /scratch'
assert_contains "$OUT" "from the host"
assert_contains "$OUT" "Read-only file system"
assert_contains "$OUT" "rw-ok"
assert_file "$host/y" "write through the rw bind"
assert_contains "$OUT" "noexec"
assert_contains "$OUT" "1777"
assert_not_contains "$(grep -c /data /proc/self/mountinfo)" "1" "container mounts leaked to the host"
pass "bind (ro, rw, file), tmpfs options"

reset_config
config "$B" '.mounts += [{destination:"/proc2",type:"proc",source:"proc",options:["bogus_option=1"]}] | .process.args=["true"]'
run_expect_fail oci run m1 --bundle "$B"
assert_contains "$ERR" "mount proc on /proc2: invalid argument" "child errors reach the caller with errno and step"
pass "an error in the child names the step and errno"

# A symlink in the rootfs pointing out of it cannot redirect a mount to the host.
reset_config
outside=$(mktemp_dir)
ln -s "$outside" "$B/rootfs/evil"
config "$B" '.mounts += [{destination:"/evil/sub",type:"tmpfs",source:"tmpfs",options:[]}]'
inside 'grep -c " /evil/sub " /proc/self/mountinfo || true'
assert_no_file "$outside/sub" "mount destination escaped the rootfs"
rm "$B/rootfs/evil"
pass "mount destinations resolved inside the rootfs (symlink to the host)"

# masked and readonly paths, sysctl, devices
reset_config
config "$B" '.linux.maskedPaths=["/proc/timer_list","/proc/acpi","/proc/kcore"] | .linux.readonlyPaths=["/proc/sys"]
  | .linux.sysctl={"net.ipv4.ip_forward":"1","kernel.msgmax":"12345"}
  | .linux.devices=[{path:"/dev/mynull",type:"c",major:1,minor:3,fileMode:432,uid:0,gid:0}]'
inside 'echo "timer=[$(head -c 10 /proc/timer_list)]"; ls /proc/acpi | wc -l; (echo 1 > /proc/sys/kernel/msgmax) 2>&1; echo "fwd=$(cat /proc/sys/net/ipv4/ip_forward) msgmax=$(cat /proc/sys/kernel/msgmax)"; ls -l /dev/mynull; echo x > /dev/mynull && echo dev-ok'
assert_contains "$OUT" "timer=[]"
assert_contains "$OUT" "Read-only file system"
assert_contains "$OUT" "fwd=1 msgmax=12345"
assert_contains "$OUT" "crw-rw----"
assert_contains "$OUT" "dev-ok"
pass "masked paths, read-only paths, sysctl, devices"

# cgroup resources, seen from inside through the cgroup mount
reset_config
config "$B" '.linux.resources.memory={limit:67108864} | .linux.resources.pids={limit:42} | .linux.resources.cpu={quota:50000,period:100000,shares:512}'
inside 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.shares 2>/dev/null || cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max /sys/fs/cgroup/cpu.max'
assert_contains "$OUT" "67108864"
assert_contains "$OUT" "42"
assert_contains "$OUT" "50000"
pass "cgroup limits (memory, pids, cpu)"

# seccomp: a denial with a chosen errno, and an argument filter
reset_config
config "$B" '.linux.seccomp={defaultAction:"SCMP_ACT_ALLOW",architectures:["SCMP_ARCH_X86_64"],syscalls:[
  {names:["mkdir","mkdirat"],action:"SCMP_ACT_ERRNO",errnoRet:1},
  {names:["unshare"],action:"SCMP_ACT_ERRNO",errnoRet:13}]}'
inside 'mkdir /tmp/d 2>&1; unshare -U true 2>&1; echo after'
assert_contains "$OUT" "Operation not permitted"
assert_contains "$OUT" "Permission denied"
assert_contains "$OUT" "after"
pass "seccomp denials"

# namespaces: join a network namespace by path; a user namespace with mappings
ns=minirun-test-$$
ip netns add "$ns"
on_exit "ip netns delete $ns"
ip -n "$ns" link add dummy7 type veth peer name dummy8
reset_config
config "$B" --arg p "/var/run/netns/$ns" '(.linux.namespaces[] | select(.type=="network")) .path = $p'
inside 'ls /sys/class/net'
assert_contains "$OUT" "dummy7"
pass "joined network namespace by path"

# No mount namespace in config.json: the container shares the runtime's (the spec's
# inherit, as crun does). Run in a private mount namespace of the test's own, so nothing
# reaches the host: the container's mount ns is the runtime's, its /proc and /dev land
# under its rootfs there, and delete takes them down again.
reset_config
config "$B" '.linux.namespaces |= map(select(.type != "mount")) | .process.args=["sleep","30"]'
run_ok unshare -m --propagation private bash -c '
  set -e
  "$0" --root "$1" create nomnt --bundle "$2"
  pid=$("$0" --root "$1" state nomnt | jq -r .pid)
  [[ "$(readlink /proc/$pid/ns/mnt)" == "$(readlink /proc/self/ns/mnt)" ]] || { echo "own mount namespace"; exit 1; }
  echo proc=$(grep -c " $2/rootfs/proc " /proc/self/mountinfo)
  "$0" --root "$1" delete -f nomnt
  echo left=$(grep -c " $2/rootfs/" /proc/self/mountinfo || true)' "$OCI" "$OCI_ROOT" "$B"
assert_contains "$OUT" "proc=1" "the container's /proc is mounted in the shared namespace"
assert_contains "$OUT" "left=0" "delete takes the container's mounts down"
reset_config
config "$B" '.linux.namespaces |= map(select(.type != "mount")) | .root.readonly=true'
run_expect_fail oci run nomnt-ro --bundle "$B"
assert_contains "$ERR" "root.readonly needs a mount namespace"
pass "no mount namespace: the runtime's is shared, its mounts go with delete"

reset_config
config "$B" '.linux.namespaces += [{type:"user"}] | .linux.uidMappings=[{containerID:0,hostID:100000,size:65536}] | .linux.gidMappings=[{containerID:0,hostID:100000,size:65536}]
  | .mounts |= map(select(.destination != "/sys" and .destination != "/sys/fs/cgroup"))'
chown -R 100000:100000 "$B/rootfs"
chmod 0711 "$TEST_TMPDIR" "$(dirname "$B")" "$B"  # the mapped root must reach its rootfs
inside 'cat /proc/self/uid_map; id -u'
chown -R 0:0 "$B/rootfs"
assert_contains "$OUT" "100000"
pass "user namespace with uid/gid mappings"

# linux.resources.network: net_cls.classid and net_prio.ifpriomap on a v1 net_cls,net_prio
# hierarchy this test mounts in a private mount namespace (the host's tree is untouched).
reset_config
config "$B" '.linux.cgroupsPath="/minirun-netcls-nc1" | .linux.resources.network={classID:1048577,priorities:[{name:"lo",priority:7}]} | .process.args=["sleep","30"]'
netcls=$(mktemp_dir)
out=$(unshare -m --propagation private bash -c '
  mount -t cgroup -o net_cls,net_prio minirun-netcls "$1" || exit 77
  "$2" --root "$3" create nc1 --bundle "$4" || exit 1
  dir="$1/minirun-netcls-nc1"
  echo "classid=$(cat "$dir/net_cls.classid")"
  echo "prio=$(grep "^lo " "$dir/net_prio.ifpriomap")"
  "$2" --root "$3" delete -f nc1' _ "$netcls" "$OCI" "$OCI_ROOT" "$B" 2>&1) && rc=0 || rc=$?
if ((rc == 77)); then
  echo "skip - net_cls,net_prio cannot be mounted as cgroup v1 here"
else
  ((rc == 0)) || fail "net_cls/net_prio container: $out"
  assert_contains "$out" "classid=1048577"
  assert_contains "$out" "prio=lo 7"
  pass "linux.resources.network: net_cls.classid and net_prio.ifpriomap"
fi
# Without those controllers (this host's own tree), the config still runs, with a warning.
config "$B" 'del(.linux.cgroupsPath)'
inside 'true'
assert_contains "$ERR" "no net_cls controller here"

# hooks receive the state on stdin; a failing hook fails create
hooks=$(mktemp_dir)
for h in prestart createRuntime poststart poststop; do
  printf '#!/bin/sh\ncat > %s/%s.json\n' "$hooks" "$h" >"$hooks/$h.sh"
  chmod +x "$hooks/$h.sh"
done
reset_config
config "$B" --arg d "$hooks" '.hooks={prestart:[{path:($d+"/prestart.sh")}],createRuntime:[{path:($d+"/createRuntime.sh")}],poststart:[{path:($d+"/poststart.sh")}],poststop:[{path:($d+"/poststop.sh")}]} | .process.args=["true"]'
run_ok oci run hk1 --bundle "$B"
for h in prestart createRuntime poststart poststop; do
  [[ $(jq -r .id "$hooks/$h.json") == hk1 ]] || fail "$h hook did not get the state"
done
[[ $(jq -r .status "$hooks/poststop.json") == stopped ]] || fail "poststop state"
[[ $(jq -r .status "$hooks/poststart.json") == running ]] || fail "poststart state"
[[ $(jq -r .status "$hooks/createRuntime.json") == creating ]] || fail "createRuntime state"
[[ $(jq -r .status "$hooks/prestart.json") == created ]] || fail "prestart state (crun's and runtime-tools' \"created\")"
[[ $(jq -r .pid "$hooks/createRuntime.json") -gt 0 ]] || fail "createRuntime state has no pid"
config "$B" '.hooks={createRuntime:[{path:"/bin/false"}]}'
run_expect_fail oci run hk2 --bundle "$B"
assert_contains "$ERR" "createRuntime hook /bin/false: exit status 1"
config "$B" '.hooks={prestart:[{path:"/bin/sleep",args:["sleep","5"],timeout:1}]}'
run_expect_fail oci run hk3 --bundle "$B"
assert_contains "$ERR" "timed out after 1s"
pass "hooks: state on stdin, failures and timeouts"

# createContainer runs before pivot_root (host paths), startContainer after it (paths in
# the rootfs), with the status each phase has: "creating", then "created".
printf '#!/bin/sh\ncat > /start-hook.json\n' >"$B/rootfs/start-hook.sh"
chmod +x "$B/rootfs/start-hook.sh"
rm -f "$B/rootfs/start-hook.json"
reset_config
config "$B" --arg d "$hooks" '.hooks={createContainer:[{path:($d+"/prestart.sh")}],startContainer:[{path:"/start-hook.sh"}]} | .process.args=["true"]'
rm -f "$hooks/prestart.json"
run_ok oci run hk5 --bundle "$B"
[[ $(jq -r .status "$hooks/prestart.json") == creating ]] || fail "createContainer state: $(cat "$hooks/prestart.json")"
[[ $(jq -r .status "$B/rootfs/start-hook.json") == created ]] || fail "startContainer state: $(cat "$B/rootfs/start-hook.json" 2>&1)"
[[ $(jq -r .id "$B/rootfs/start-hook.json") == hk5 ]] || fail "startContainer state id"
rm -f "$B/rootfs/start-hook.sh" "$B/rootfs/start-hook.json"
pass "hooks: createContainer and startContainer with the status of their phase"

# A failing poststart or poststop hook is a warning: the hooks after it still run, and
# the container's lifecycle goes on (runtime spec, "Lifecycle" 8 and 12).
rm -f "$hooks"/*.json
reset_config
config "$B" --arg d "$hooks" '.hooks={poststart:[{path:"/bin/false"},{path:($d+"/poststart.sh")}],poststop:[{path:"/bin/false"},{path:($d+"/poststop.sh")}]} | .process.args=["true"]'
run_ok oci run hk4 --bundle "$B"
[[ -s $hooks/poststart.json && -s $hooks/poststop.json ]] || fail "a hook after a failing poststart/poststop hook did not run"
assert_contains "$ERR" "poststart hook /bin/false: exit status 1"
assert_contains "$ERR" "poststop hook /bin/false: exit status 1"
pass "hooks: a failing poststart/poststop hook warns and the rest run"
