// config.json parsing (OCI runtime-spec 1.0–1.1): real documents from runc and podman,
// the default spec round trip, bare process/resources files, and the validation errors.
#include <doctest/doctest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <algorithm>
#include <string>

#include "minirun/common/error.hpp"
#include "minirun/runtime/spec.hpp"

using namespace minirun;
using namespace minirun::runtime;
using json = nlohmann::json;

namespace {

// `runc spec` (runc 1.1.5) verbatim output.
const char* const kRuncSpec = R"json({
	"ociVersion": "1.0.2-dev",
	"process": {
		"terminal": true,
		"user": {"uid": 0, "gid": 0},
		"args": ["sh"],
		"env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
		"cwd": "/",
		"capabilities": {
			"bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
			"effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
			"permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
			"ambient": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
		},
		"rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
		"noNewPrivileges": true
	},
	"root": {"path": "rootfs", "readonly": true},
	"hostname": "runc",
	"mounts": [
		{"destination": "/proc", "type": "proc", "source": "proc"},
		{"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
		{"destination": "/dev/pts", "type": "devpts", "source": "devpts",
		 "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
		{"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
		{"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
		{"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
		{"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
	],
	"linux": {
		"resources": {"devices": [{"allow": false, "access": "rwm"}]},
		"namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}],
		"maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
		                "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
		"readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
	}
})json";

// `runc spec --rootless` run by uid/gid 1000 (only linux and the changed mounts differ).
const char* const kRuncRootlessSpec = R"json({
	"ociVersion": "1.0.2-dev",
	"process": {"terminal": true, "user": {"uid": 0, "gid": 0}, "args": ["sh"], "cwd": "/", "noNewPrivileges": true,
	            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"]},
	"root": {"path": "rootfs", "readonly": true},
	"hostname": "runc",
	"mounts": [
		{"destination": "/proc", "type": "proc", "source": "proc"},
		{"destination": "/dev/pts", "type": "devpts", "source": "devpts",
		 "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
		{"destination": "/sys", "type": "none", "source": "/sys", "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]}
	],
	"linux": {
		"uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
		"gidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
		"namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "user"}],
		"maskedPaths": ["/proc/acpi", "/proc/kcore"],
		"readonlyPaths": ["/proc/sys"]
	}
})json";

// What podman 4 wrote for `podman create --memory 256m --pids-limit 100 --cpus 1.5
// --device /dev/null:/dev/xnull --cap-add SYS_ADMIN --ulimit nofile=2048:4096
// --sysctl net.ipv4.ip_forward=1 -e FOO=bar --hostname box IMAGE /busybox sh`
// (long ids and the 400-name seccomp allow list shortened).
const char* const kPodmanSpec = R"json({
"ociVersion":"1.0.2-dev",
"process":{
  "user":{"uid":0,"gid":0,"umask":18},
  "args":["/busybox","sh"],
  "env":["FOO=bar","PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","TERM=xterm","container=podman","HOSTNAME=box"],
  "cwd":"/",
  "capabilities":{
    "bounding":["CAP_CHOWN","CAP_DAC_OVERRIDE","CAP_FOWNER","CAP_FSETID","CAP_KILL","CAP_NET_BIND_SERVICE","CAP_SETFCAP","CAP_SETGID","CAP_SETPCAP","CAP_SETUID","CAP_SYS_ADMIN","CAP_SYS_CHROOT"],
    "effective":["CAP_CHOWN","CAP_DAC_OVERRIDE","CAP_FOWNER","CAP_FSETID","CAP_KILL","CAP_NET_BIND_SERVICE","CAP_SETFCAP","CAP_SETGID","CAP_SETPCAP","CAP_SETUID","CAP_SYS_ADMIN","CAP_SYS_CHROOT"],
    "permitted":["CAP_CHOWN","CAP_DAC_OVERRIDE","CAP_FOWNER","CAP_FSETID","CAP_KILL","CAP_NET_BIND_SERVICE","CAP_SETFCAP","CAP_SETGID","CAP_SETPCAP","CAP_SETUID","CAP_SYS_ADMIN","CAP_SYS_CHROOT"]},
  "rlimits":[{"type":"RLIMIT_NOFILE","hard":4096,"soft":2048},{"type":"RLIMIT_NPROC","hard":1048576,"soft":1048576}]
},
"root":{"path":"/var/lib/containers/storage/overlay/721c94b9fae8/merged"},
"hostname":"box",
"mounts":[
  {"destination":"/proc","type":"proc","source":"proc","options":["nosuid","noexec","nodev"]},
  {"destination":"/dev","type":"tmpfs","source":"tmpfs","options":["nosuid","noexec","strictatime","mode=755","size=65536k"]},
  {"destination":"/sys","type":"sysfs","source":"sysfs","options":["nosuid","noexec","nodev","ro"]},
  {"destination":"/dev/pts","type":"devpts","source":"devpts","options":["nosuid","noexec","newinstance","ptmxmode=0666","mode=0620","gid=5"]},
  {"destination":"/dev/mqueue","type":"mqueue","source":"mqueue","options":["nosuid","noexec","nodev"]},
  {"destination":"/dev/shm","type":"bind","source":"/var/lib/containers/c/a5c0/userdata/shm","options":["bind","rprivate","nosuid","noexec","nodev"]},
  {"destination":"/run/.containerenv","type":"bind","source":"/run/containers/c/a5c0/userdata/.containerenv","options":["bind","rprivate"]},
  {"destination":"/etc/hostname","type":"bind","source":"/run/containers/c/a5c0/userdata/hostname","options":["bind","rprivate"]},
  {"destination":"/etc/resolv.conf","type":"bind","source":"/run/containers/c/a5c0/userdata/resolv.conf","options":["bind","rprivate"]},
  {"destination":"/etc/hosts","type":"bind","source":"/run/containers/c/a5c0/userdata/hosts","options":["bind","rprivate"]},
  {"destination":"/sys/fs/cgroup","type":"cgroup","source":"cgroup","options":["rprivate","nosuid","noexec","nodev","relatime","ro"]}],
"annotations":{
  "io.container.manager":"libpod",
  "io.kubernetes.cri-o.Created":"2026-11-22T03:03:01.810831624Z",
  "io.kubernetes.cri-o.TTY":"false",
  "io.podman.annotations.autoremove":"FALSE",
  "org.opencontainers.image.stopSignal":"15"
},
"linux":{
  "sysctl":{"net.ipv4.ip_forward":"1","net.ipv4.ping_group_range":"0 0"},
  "resources":{
    "devices":[{"allow":false,"access":"rwm"},{"allow":true,"type":"c","major":1,"minor":3,"access":"rwm"}],
    "memory":{"limit":268435456,"swap":536870912},
    "cpu":{"quota":150000,"period":100000},
    "pids":{"limit":100}},
  "cgroupsPath":"/libpod_parent/libpod-a5c0",
  "namespaces":[{"type":"pid"},{"type":"network","path":"/run/netns/netns-9790c175"},{"type":"ipc"},{"type":"uts"},{"type":"mount"}],
  "devices":[{"path":"/dev/xnull","type":"c","major":1,"minor":3,"fileMode":8630,"uid":0,"gid":0}],
  "seccomp":{
    "defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":38,
    "architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32"],
    "syscalls":[
      {"names":["bdflush","kexec_file_load","kexec_load","userfaultfd","vmsplice"],"action":"SCMP_ACT_ERRNO","errnoRet":1},
      {"names":["read","write","openat","execve"],"action":"SCMP_ACT_ALLOW"},
      {"names":["socket"],"action":"SCMP_ACT_ERRNO","errnoRet":22,
       "args":[{"index":0,"value":16,"op":"SCMP_CMP_EQ"},{"index":2,"value":9,"op":"SCMP_CMP_EQ"}]},
      {"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":4294967295,"op":"SCMP_CMP_EQ"}]}]},
  "maskedPaths":["/proc/acpi","/proc/kcore","/proc/keys","/proc/latency_stats","/proc/timer_list","/proc/timer_stats",
                 "/proc/sched_debug","/proc/scsi","/sys/firmware","/sys/fs/selinux","/sys/dev/block"],
  "readonlyPaths":["/proc/asound","/proc/bus","/proc/fs","/proc/irq","/proc/sys","/proc/sysrq-trigger"]
}
})json";

// Every other field the structs carry, in one document.
const char* const kEverythingElse = R"json({
  "ociVersion": "1.1.0",
  "process": {
    "terminal": true, "consoleSize": {"height": 40, "width": 120},
    "user": {"uid": 1000, "gid": 1000, "umask": 18, "additionalGids": [10, 4294967294]},
    "args": ["/bin/app", "--flag"], "cwd": "/srv",
    "capabilities": {"inheritable": ["CAP_CHOWN"], "ambient": []},
    "oomScoreAdj": -500, "apparmorProfile": "docker-default", "selinuxLabel": "system_u:system_r:container_t:s0"
  },
  "root": {"path": "/abs/rootfs", "readonly": false},
  "hostname": "h", "domainname": "example.org",
  "mounts": [{"destination": "/data", "source": "/srv/data", "options": ["rbind", "ro"]}],
  "hooks": {
    "prestart": [{"path": "/usr/bin/legacy"}],
    "createRuntime": [{"path": "/usr/bin/netns-setup", "args": ["netns-setup", "create"], "env": ["A=1"], "timeout": 5}],
    "createContainer": [{"path": "/hooks/cc"}],
    "startContainer": [{"path": "/hooks/sc"}],
    "poststart": [{"path": "/hooks/ps", "timeout": 1}],
    "poststop": [{"path": "/hooks/stop1"}, {"path": "/hooks/stop2"}]
  },
  "linux": {
    "namespaces": [{"type": "user"}, {"type": "cgroup"}, {"type": "time"}, {"type": "mount", "path": "/proc/1/ns/mnt"}],
    "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
    "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
    "devices": [{"path": "/dev/fifo", "type": "p"}, {"path": "/dev/sda", "type": "b", "major": 8, "minor": 0}],
    "resources": {
      "devices": [{"allow": true, "type": "b", "major": 8, "access": "r"}, {"allow": true, "type": "c", "major": -1, "minor": -1, "access": "m"}],
      "memory": {"limit": -1, "reservation": 1048576, "swap": -1, "kernel": -1, "kernelTCP": 0, "swappiness": 60, "disableOOMKiller": true},
      "cpu": {"shares": 1024, "quota": -1, "period": 100000, "realtimeRuntime": 950000, "realtimePeriod": 1000000,
              "cpus": "0-3", "mems": "0", "idle": 1},
      "pids": {"limit": -1},
      "blockIO": {"weight": 500, "leafWeight": 300},
      "hugepageLimits": [{"pageSize": "2MB", "limit": 209715200}],
      "unified": {"memory.high": "1073741824", "io.weight": "default 100"}
    },
    "seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_LOG"], "listenerPath": "/run/seccomp.sock",
                "syscalls": [{"names": ["clone"], "action": "SCMP_ACT_NOTIFY",
                              "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]}]},
    "rootfsPropagation": "rslave",
    "mountLabel": "system_u:object_r:container_file_t:s0"
  }
})json";

// A minimal valid document with `patch` merged in (null removes a key).
std::string with(const char* patch) {
    json doc = json::parse(R"({"ociVersion":"1.0.2","root":{"path":"rootfs"},
        "process":{"args":["sh"],"cwd":"/"},"linux":{"namespaces":[{"type":"pid"}]}})");
    doc.merge_patch(json::parse(patch));
    return doc.dump();
}

}  // namespace

TEST_CASE("spec: runc spec output") {
    // As read, and read back after write_spec: the writer keeps every field the parser knows.
    std::string text = kRuncSpec;
    SUBCASE("as read") {}
    SUBCASE("after write_spec") { text = write_spec(parse_spec(kRuncSpec)); }
    Spec s = parse_spec(text);
    CHECK(s.oci_version == "1.0.2-dev");
    CHECK(s.root_path == "rootfs");
    CHECK(s.root_readonly);
    CHECK(s.hostname == "runc");
    REQUIRE(s.process);
    const Process& p = *s.process;
    CHECK(p.terminal);
    CHECK(p.user.uid == 0);
    CHECK_FALSE(p.user.umask);
    CHECK(p.args == std::vector<std::string>{"sh"});
    CHECK(p.env.size() == 2);
    CHECK(p.cwd == "/");
    REQUIRE(p.capabilities);
    CHECK(p.capabilities->bounding == std::vector<std::string>{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"});
    CHECK(p.capabilities->ambient.size() == 3);
    CHECK(p.capabilities->inheritable.empty());
    REQUIRE(p.rlimits.size() == 1);
    CHECK(p.rlimits[0].type == "RLIMIT_NOFILE");
    CHECK(p.rlimits[0].soft == 1024);
    CHECK(p.rlimits[0].hard == 1024);
    CHECK(p.no_new_privileges);
    CHECK_FALSE(p.oom_score_adj);

    REQUIRE(s.mounts.size() == 7);
    CHECK(s.mounts[0].destination == "/proc");
    CHECK(s.mounts[0].options.empty());
    CHECK(s.mounts[2].type == "devpts");
    CHECK(s.mounts[2].options.back() == "gid=5");
    CHECK(s.mounts[6].destination == "/sys/fs/cgroup");

    CHECK(s.has_namespace("pid"));
    CHECK(s.has_namespace("network"));
    CHECK_FALSE(s.has_namespace("user"));
    REQUIRE(s.find_namespace("mount"));
    CHECK(s.find_namespace("mount")->path.empty());
    CHECK(s.find_namespace("cgroup") == nullptr);
    REQUIRE(s.linux.resources);
    REQUIRE(s.linux.resources->devices.size() == 1);
    CHECK_FALSE(s.linux.resources->devices[0].allow);
    CHECK(s.linux.resources->devices[0].type.empty());
    CHECK_FALSE(s.linux.resources->devices[0].major);
    CHECK(s.linux.resources->devices[0].access == "rwm");
    CHECK_FALSE(s.linux.resources->memory);
    CHECK(s.linux.masked_paths.size() == 10);
    CHECK(s.linux.readonly_paths.back() == "/proc/sysrq-trigger");
    CHECK_FALSE(s.linux.seccomp);
    CHECK(s.hooks.prestart.empty());
}

TEST_CASE("spec: runc spec --rootless output") {
    // As read, and read back after write_spec: the writer keeps every field the parser knows.
    std::string text = kRuncRootlessSpec;
    SUBCASE("as read") {}
    SUBCASE("after write_spec") { text = write_spec(parse_spec(kRuncRootlessSpec)); }
    Spec s = parse_spec(text);
    CHECK(s.has_namespace("user"));
    CHECK_FALSE(s.has_namespace("network"));
    REQUIRE(s.linux.uid_mappings.size() == 1);
    CHECK(s.linux.uid_mappings[0].container_id == 0);
    CHECK(s.linux.uid_mappings[0].host_id == 1000);
    CHECK(s.linux.uid_mappings[0].size == 1);
    REQUIRE(s.linux.gid_mappings.size() == 1);
    CHECK(s.linux.gid_mappings[0].host_id == 1000);
    CHECK_FALSE(s.linux.resources);
    CHECK(s.mounts[2].type == "none");
    CHECK(s.mounts[2].source == "/sys");
    CHECK(s.mounts[2].options.front() == "rbind");
    REQUIRE(s.process);
    CHECK_FALSE(s.process->capabilities);
}

TEST_CASE("spec: podman config with seccomp, devices and resources") {
    // As read, and read back after write_spec: the writer keeps every field the parser knows.
    std::string text = kPodmanSpec;
    SUBCASE("as read") {}
    SUBCASE("after write_spec") { text = write_spec(parse_spec(kPodmanSpec)); }
    Spec s = parse_spec(text);
    REQUIRE(s.process);
    CHECK(s.process->user.umask == mode_t{022});
    CHECK_FALSE(s.process->terminal);
    CHECK(s.process->args == std::vector<std::string>{"/busybox", "sh"});
    CHECK(s.process->capabilities->bounding.size() == 12);
    REQUIRE(s.process->rlimits.size() == 2);
    CHECK(s.process->rlimits[0].soft == 2048);
    CHECK(s.process->rlimits[0].hard == 4096);
    CHECK(s.process->rlimits[1].type == "RLIMIT_NPROC");
    CHECK_FALSE(s.root_readonly);
    CHECK(s.mounts.size() == 11);
    CHECK(s.mounts[5].type == "bind");
    CHECK(s.mounts[5].source == "/var/lib/containers/c/a5c0/userdata/shm");
    CHECK(s.annotations.at("io.container.manager") == "libpod");
    CHECK(s.annotations.size() == 5);

    const Linux& l = s.linux;
    CHECK(l.sysctl.at("net.ipv4.ip_forward") == "1");
    CHECK(l.cgroups_path == "/libpod_parent/libpod-a5c0");
    REQUIRE(s.find_namespace("network"));
    CHECK(s.find_namespace("network")->path == "/run/netns/netns-9790c175");

    REQUIRE(l.devices.size() == 1);
    CHECK(l.devices[0].path == "/dev/xnull");
    CHECK(l.devices[0].type == "c");
    CHECK(l.devices[0].major == 1);
    CHECK(l.devices[0].minor == 3);
    CHECK(l.devices[0].file_mode == mode_t{020666});
    CHECK(l.devices[0].uid == uid_t{0});

    REQUIRE(l.resources);
    const Resources& r = *l.resources;
    REQUIRE(r.devices.size() == 2);
    CHECK(r.devices[1].allow);
    CHECK(r.devices[1].type == "c");
    CHECK(r.devices[1].major == int64_t{1});
    CHECK(r.devices[1].minor == int64_t{3});
    REQUIRE(r.memory);
    CHECK(r.memory->limit == int64_t{268435456});
    CHECK(r.memory->swap == int64_t{536870912});
    CHECK_FALSE(r.memory->reservation);
    REQUIRE(r.cpu);
    CHECK(r.cpu->quota == int64_t{150000});
    CHECK(r.cpu->period == uint64_t{100000});
    CHECK_FALSE(r.cpu->shares);
    CHECK(r.pids_limit == int64_t{100});
    CHECK_FALSE(r.block_io);

    REQUIRE(l.seccomp);
    const Seccomp& sc = *l.seccomp;
    CHECK(sc.default_action == "SCMP_ACT_ERRNO");
    CHECK(sc.default_errno_ret == 38u);
    CHECK(sc.architectures.size() == 3);
    REQUIRE(sc.syscalls.size() == 4);
    CHECK(sc.syscalls[0].errno_ret == 1u);
    CHECK(sc.syscalls[1].names.size() == 4);
    CHECK_FALSE(sc.syscalls[1].errno_ret);
    REQUIRE(sc.syscalls[2].args.size() == 2);
    CHECK(sc.syscalls[2].args[1].index == 2);
    CHECK(sc.syscalls[2].args[1].value == 9);
    CHECK(sc.syscalls[2].args[1].op == "SCMP_CMP_EQ");
    CHECK(sc.syscalls[3].args[0].value == 4294967295u);
    CHECK(l.masked_paths.size() == 11);
    CHECK(l.readonly_paths.size() == 6);
}

TEST_CASE("spec: hooks, id mappings, cgroup v2 knobs and the remaining fields") {
    // As read, and read back after write_spec: the writer keeps every field the parser knows.
    std::string text = kEverythingElse;
    SUBCASE("as read") {}
    SUBCASE("after write_spec") { text = write_spec(parse_spec(kEverythingElse)); }
    Spec s = parse_spec(text);
    CHECK(s.oci_version == "1.1.0");
    CHECK(s.domainname == "example.org");
    const Process& p = *s.process;
    REQUIRE(p.console_size);
    CHECK(p.console_size->height == 40);
    CHECK(p.console_size->width == 120);
    CHECK(p.user.uid == 1000);
    CHECK(p.user.additional_gids == std::vector<gid_t>{10, 4294967294u});
    CHECK(p.cwd == "/srv");
    CHECK(p.capabilities->inheritable == std::vector<std::string>{"CAP_CHOWN"});
    CHECK(p.capabilities->bounding.empty());
    CHECK(p.oom_score_adj == -500);
    CHECK(p.apparmor_profile == "docker-default");
    CHECK(p.selinux_label == "system_u:system_r:container_t:s0");
    CHECK_FALSE(p.no_new_privileges);
    CHECK(p.env.empty());

    REQUIRE(s.mounts.size() == 1);
    CHECK(s.mounts[0].type.empty());
    CHECK(s.mounts[0].options == std::vector<std::string>{"rbind", "ro"});

    CHECK(s.hooks.prestart.size() == 1);
    REQUIRE(s.hooks.create_runtime.size() == 1);
    CHECK(s.hooks.create_runtime[0].path == "/usr/bin/netns-setup");
    CHECK(s.hooks.create_runtime[0].args == std::vector<std::string>{"netns-setup", "create"});
    CHECK(s.hooks.create_runtime[0].env == std::vector<std::string>{"A=1"});
    CHECK(s.hooks.create_runtime[0].timeout == 5);
    CHECK(s.hooks.create_container[0].path == "/hooks/cc");
    CHECK_FALSE(s.hooks.create_container[0].timeout);
    CHECK(s.hooks.start_container[0].path == "/hooks/sc");
    CHECK(s.hooks.poststart[0].timeout == 1);
    CHECK(s.hooks.poststop.size() == 2);

    const Linux& l = s.linux;
    CHECK(s.has_namespace("time"));
    CHECK(s.find_namespace("mount")->path == "/proc/1/ns/mnt");
    CHECK(l.uid_mappings[0].host_id == 100000);
    CHECK(l.gid_mappings[0].size == 65536);
    REQUIRE(l.devices.size() == 2);
    CHECK(l.devices[0].type == "p");
    CHECK_FALSE(l.devices[0].file_mode);
    CHECK(l.devices[1].major == 8);

    const Resources& r = *l.resources;
    CHECK(r.devices[0].major == int64_t{8});
    CHECK_FALSE(r.devices[0].minor);
    CHECK_FALSE(r.devices[1].major);  // -1 is the wildcard
    CHECK(r.memory->limit == int64_t{-1});
    CHECK(r.memory->reservation == int64_t{1048576});
    CHECK(r.memory->kernel == int64_t{-1});
    CHECK(r.memory->kernel_tcp == int64_t{0});
    CHECK(r.memory->swappiness == uint64_t{60});
    CHECK(r.memory->disable_oom_killer == true);
    CHECK(r.cpu->shares == uint64_t{1024});
    CHECK(r.cpu->quota == int64_t{-1});
    CHECK(r.cpu->realtime_runtime == int64_t{950000});
    CHECK(r.cpu->realtime_period == uint64_t{1000000});
    CHECK(r.cpu->cpus == "0-3");
    CHECK(r.cpu->mems == "0");
    CHECK(r.cpu->idle == int64_t{1});
    CHECK(r.pids_limit == int64_t{-1});
    REQUIRE(r.block_io);
    CHECK(r.block_io->weight == uint16_t{500});
    CHECK(r.block_io->leaf_weight == uint16_t{300});
    REQUIRE(r.hugepage_limits.size() == 1);
    CHECK(r.hugepage_limits[0].page_size == "2MB");
    CHECK(r.hugepage_limits[0].limit == 209715200u);
    CHECK(r.unified.at("io.weight") == "default 100");

    const Seccomp& sc = *l.seccomp;
    CHECK(sc.flags == std::vector<std::string>{"SECCOMP_FILTER_FLAG_LOG"});
    CHECK(sc.listener_path == "/run/seccomp.sock");
    CHECK_FALSE(sc.default_errno_ret);
    CHECK(sc.syscalls[0].args[0].op == "SCMP_CMP_MASKED_EQ");
    CHECK(sc.syscalls[0].args[0].value == 2114060288u);
    CHECK(l.rootfs_propagation == "rslave");
    CHECK(l.mount_label == "system_u:object_r:container_file_t:s0");
}

TEST_CASE("spec: optional parts may be absent") {
    Spec s = parse_spec(R"({"root":{"path":"rootfs"}})");
    CHECK(s.oci_version.empty());
    CHECK_FALSE(s.process);
    CHECK(s.linux.namespaces.empty());
    CHECK_FALSE(s.linux.resources);
    // JSON null is "not set", as with Go's encoding/json
    Spec n = parse_spec(R"({"root":{"path":"rootfs"},"hostname":null,"linux":{"resources":null,"seccomp":null}})");
    CHECK(n.hostname.empty());
    CHECK_FALSE(n.linux.resources);
    // a missing cwd keeps "/"
    CHECK(parse_spec(with(R"({"process":{"cwd":null}})")).process->cwd == "/");
    // unknown fields are ignored
    CHECK_NOTHROW(parse_spec(with(R"({"vm":{"hypervisor":{}},"linux":{"intelRdt":{"closID":"x"}},"process":{"future":1}})")));
}

TEST_CASE("spec: write_spec is a fixed point of parse_spec") {
    for (const char* doc : {kRuncSpec, kRuncRootlessSpec, kPodmanSpec, kEverythingElse}) {
        std::string once = write_spec(parse_spec(doc));
        CHECK(write_spec(parse_spec(once)) == once);
    }
    // Unset optionals and empty lists are left out, as Go's omitempty does.
    Spec bare;
    bare.root_path = "rootfs";
    json j = json::parse(write_spec(bare));
    CHECK(j["ociVersion"] == kOciVersion);
    CHECK_FALSE(j.contains("process"));
    CHECK_FALSE(j.contains("hooks"));
    CHECK_FALSE(j.contains("annotations"));
    CHECK(j["linux"] == json::object());
    CHECK(j["root"] == json{{"path", "rootfs"}, {"readonly", false}});
}

TEST_CASE("spec: linux.resources.network (net_cls / net_prio)") {
    Spec s = parse_spec(with(R"({"linux":{"resources":{"network":{"classID":1048577,"priorities":[{"name":"eth0","priority":500},{"name":"lo","priority":1}]}}}})"));
    REQUIRE(s.linux.resources);
    REQUIRE(s.linux.resources->network);
    CHECK(*s.linux.resources->network->class_id == 1048577);
    REQUIRE(s.linux.resources->network->priorities.size() == 2);
    CHECK(s.linux.resources->network->priorities[0].name == "eth0");
    CHECK(s.linux.resources->network->priorities[1].priority == 1);
    std::string once = write_spec(s);
    CHECK(json::parse(once)["linux"]["resources"]["network"] ==
          json::parse(R"({"classID":1048577,"priorities":[{"name":"eth0","priority":500},{"name":"lo","priority":1}]})"));
    CHECK(write_spec(parse_spec(once)) == once);
    CHECK_THROWS_WITH_AS(parse_spec(with(R"({"linux":{"resources":{"network":{"priorities":[{"name":"a b","priority":1}]}}}})")),
                         "config.json: linux.resources.network.priorities[0].name: must be a network interface name", Error);
    CHECK_THROWS_AS(parse_spec(with(R"({"linux":{"resources":{"network":{"classID":-1}}}})")), Error);
}

TEST_CASE("spec: default spec round trip") {
    for (bool rootless : {false, true}) {
        CAPTURE(rootless);
        std::string text = default_spec_json(rootless);
        Spec s = parse_spec(text);
        CHECK(s.oci_version == "1.0.2-dev");
        CHECK(s.hostname == "minirun");
        CHECK(s.root_path == "rootfs");
        CHECK(s.root_readonly);
        REQUIRE(s.process);
        CHECK(s.process->terminal);
        CHECK(s.process->args == std::vector<std::string>{"sh"});
        CHECK(s.process->env == std::vector<std::string>{
                                    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"});
        CHECK(s.process->cwd == "/");
        CHECK(s.process->no_new_privileges);
        const std::vector<std::string> caps = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
        CHECK(s.process->capabilities->bounding == caps);
        CHECK(s.process->capabilities->effective == caps);
        CHECK(s.process->capabilities->permitted == caps);
        CHECK(s.process->capabilities->ambient.empty());
        REQUIRE(s.process->rlimits.size() == 1);
        CHECK(s.process->rlimits[0].hard == 1024);

        REQUIRE(s.mounts.size() == 7);
        const char* dests[] = {"/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup"};
        for (size_t i = 0; i < 7; ++i) CHECK(s.mounts[i].destination == dests[i]);
        CHECK(s.mounts[3].options == std::vector<std::string>{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"});
        const auto& devpts = s.mounts[2].options;
        CHECK((std::find(devpts.begin(), devpts.end(), "gid=5") != devpts.end()) == !rootless);

        for (const char* ns : {"pid", "ipc", "uts", "mount"}) CHECK(s.has_namespace(ns));
        CHECK(s.has_namespace("network") == !rootless);
        CHECK(s.has_namespace("user") == rootless);
        CHECK(s.linux.masked_paths.size() >= 10);
        CHECK(s.linux.readonly_paths.size() == 5);
        if (rootless) {
            CHECK(s.mounts[5].type == "none");
            CHECK(s.mounts[5].source == "/sys");
            CHECK(s.mounts[5].options.front() == "rbind");
            CHECK_FALSE(s.linux.resources);
            REQUIRE(s.linux.uid_mappings.size() == 1);
            CHECK(s.linux.uid_mappings[0].host_id == ::geteuid());
            CHECK(s.linux.uid_mappings[0].container_id == 0);
            CHECK(s.linux.uid_mappings[0].size == 1);
            REQUIRE(s.linux.gid_mappings.size() == 1);
            CHECK(s.linux.gid_mappings[0].host_id == ::getegid());
        } else {
            CHECK(s.mounts[5].type == "sysfs");
            REQUIRE(s.linux.resources);
            REQUIRE(s.linux.resources->devices.size() == 1);
            CHECK_FALSE(s.linux.resources->devices[0].allow);
            CHECK(s.linux.resources->devices[0].access == "rwm");
            CHECK(s.linux.uid_mappings.empty());
        }
        // Same shape as runc's: everything runc writes matches, field for field.
        if (!rootless) {
            json mine = json::parse(text), runc = json::parse(kRuncSpec);
            CHECK(mine["mounts"] == runc["mounts"]);
            CHECK(mine["root"] == runc["root"]);
            CHECK(mine["process"]["rlimits"] == runc["process"]["rlimits"]);
            CHECK(mine["linux"]["resources"] == runc["linux"]["resources"]);
            CHECK(mine["linux"]["readonlyPaths"] == runc["linux"]["readonlyPaths"]);
        }
    }
}

TEST_CASE("spec: bare process file for exec --process") {
    Process p = parse_process(R"({"terminal":false,"user":{"uid":33,"gid":33,"additionalGids":[4]},
        "args":["/bin/ps","aux"],"env":["PATH=/bin","EMPTY="],"cwd":"/var/www",
        "capabilities":{"bounding":["CAP_KILL"]},"noNewPrivileges":true,"oomScoreAdj":1000})");
    CHECK(p.user.uid == 33);
    CHECK(p.user.additional_gids == std::vector<gid_t>{4});
    CHECK(p.args.size() == 2);
    CHECK(p.env[1] == "EMPTY=");
    CHECK(p.cwd == "/var/www");
    CHECK(p.oom_score_adj == 1000);
    CHECK(p.no_new_privileges);

    CHECK_THROWS_WITH_AS(parse_process(R"({"args":[]})"), "process.json: args: must be a non-empty array of strings", Error);
    CHECK_THROWS_WITH_AS(parse_process(R"({"args":["sh"],"cwd":"tmp"})"), "process.json: cwd: must be an absolute path",
                         Error);
    CHECK_THROWS_WITH_AS(parse_process(R"({"args":["sh"],"user":{"uid":-1}})"),
                         "process.json: user.uid: must not be negative", Error);
    CHECK_THROWS_WITH_AS(parse_process("[1]"), "process.json: expected a JSON object", Error);
    CHECK_THROWS_WITH_AS(parse_process("{\"args\":"), doctest::Contains("process.json: invalid JSON at byte "), Error);
}

TEST_CASE("spec: bare resources file for update --resources") {
    Resources r = parse_resources(R"({"memory":{"limit":536870912,"swap":-1},"cpu":{"cpus":"1","shares":512},
        "pids":{"limit":50},"blockIO":{"weight":100},"unified":{"pids.max":"50"}})");
    CHECK(r.memory->limit == int64_t{536870912});
    CHECK(r.memory->swap == int64_t{-1});
    CHECK(r.cpu->cpus == "1");
    CHECK(r.cpu->shares == uint64_t{512});
    CHECK(r.pids_limit == int64_t{50});
    CHECK(r.block_io->weight == uint16_t{100});
    CHECK(r.unified.at("pids.max") == "50");
    CHECK(r.devices.empty());
    CHECK(parse_resources("{}").memory == std::nullopt);

    CHECK_THROWS_WITH_AS(parse_resources(R"({"memory":{"limit":"1g"}})"),
                         "resources.json: memory.limit: expected an integer", Error);
    CHECK_THROWS_WITH_AS(parse_resources(R"({"blockIO":{"weight":70000}})"),
                         "resources.json: blockIO.weight: out of range (maximum 65535)", Error);
    CHECK_THROWS_WITH_AS(parse_resources(R"({"unified":{"../../release_agent":"x"}})"),
                         "resources.json: unified: key \"../../release_agent\" must be a cgroup file name", Error);
}

TEST_CASE("spec: validation errors name the field") {
    struct Case {
        std::string doc;
        std::string message;
    };
    const Case cases[] = {
        {with(R"({"process":{"args":[]}})"), "config.json: process.args: must be a non-empty array of strings"},
        {with(R"({"ociVersion":"2.0.0"})"), "config.json: ociVersion: unsupported version \"2.0.0\" (this runtime implements 1.x)"},
        {with(R"({"ociVersion":"0.6.0"})"), "config.json: ociVersion: unsupported version \"0.6.0\" (this runtime implements 1.x)"},
        {with(R"({"process":{"args":null}})"), "config.json: process.args: must be a non-empty array of strings"},
        {with(R"({"process":{"args":["sh",1]}})"), "config.json: process.args: must be a non-empty array of strings"},
        {with(R"({"process":{"args":"sh"}})"), "config.json: process.args: must be a non-empty array of strings"},
        {with(R"({"process":{"args":["","x"]}})"), "config.json: process.args[0]: must not be empty"},
        {with(R"({"process":{"cwd":"relative/dir"}})"), "config.json: process.cwd: must be an absolute path"},
        {with(R"({"process":{"terminal":"yes"}})"), "config.json: process.terminal: expected a boolean"},
        {with(R"({"process":{"env":["PATH=/bin","NOEQUALS"]}})"),
         "config.json: process.env[1]: must be of the form NAME=VALUE"},
        {with(R"({"process":{"env":[42]}})"), "config.json: process.env[0]: expected a string"},
        {with(R"({"process":{"user":{"uid":4294967296}}})"),
         "config.json: process.user.uid: out of range (maximum 4294967295)"},
        {with(R"({"process":{"user":{"additionalGids":[1,-5]}}})"),
         "config.json: process.user.additionalGids[1]: must not be negative"},
        {with(R"({"process":{"rlimits":[{"type":"RLIMIT_BOGUS","hard":1,"soft":1}]}})"),
         "config.json: process.rlimits[0].type: unknown rlimit type \"RLIMIT_BOGUS\""},
        {with(R"({"process":{"rlimits":[{"type":"RLIMIT_NOFILE","hard":1,"soft":1},{"type":"RLIMIT_NOFILE","hard":2,"soft":2}]}})"),
         "config.json: process.rlimits[1].type: duplicate rlimit type \"RLIMIT_NOFILE\""},
        {with(R"({"process":{"rlimits":[{"type":"RLIMIT_NOFILE","hard":-1,"soft":1}]}})"),
         "config.json: process.rlimits[0].hard: must not be negative"},
        {with(R"({"process":{"rlimits":[{"type":"RLIMIT_CORE","hard":1,"soft":2}]}})"),
         "config.json: process.rlimits[0]: soft limit exceeds hard limit"},
        {with(R"({"process":{"oomScoreAdj":1001}})"), "config.json: process.oomScoreAdj: must be between -1000 and 1000"},
        {with(R"({"process":{"capabilities":{"bounding":"CAP_KILL"}}})"),
         "config.json: process.capabilities.bounding: expected an array"},
        {with(R"({"process":{"consoleSize":{"height":1.5}}})"), "config.json: process.consoleSize.height: expected an integer"},
        {with(R"({"process":{"user":{"umask":4096}}})"), "config.json: process.user.umask: must be at most 0777 (511)"},
        {with(R"({"process":"sh"})"), "config.json: process: expected an object"},
        {with(R"({"root":null})"), "config.json: root: missing"},
        {with(R"({"root":{"path":""}})"), "config.json: root.path: must be a non-empty string"},
        {with(R"({"root":{"path":"rootfs","readonly":1}})"), "config.json: root.readonly: expected a boolean"},
        {with(R"({"ociVersion":1})"), "config.json: ociVersion: expected a string"},
        {with(R"({"mounts":[{"type":"tmpfs","source":"tmpfs"}]})"), "config.json: mounts[0].destination: missing"},
        {with(R"({"mounts":[{"destination":"/a"},{"destination":"tmp"}]})"),
         "config.json: mounts[1].destination: must be an absolute path"},
        {with(R"({"mounts":[{"destination":"/a","options":"ro"}]})"), "config.json: mounts[0].options: expected an array"},
        {with(R"({"mounts":{"destination":"/a"}})"), "config.json: mounts: expected an array"},
        {with(R"({"mounts":["/a"]})"), "config.json: mounts[0]: expected an object"},
        {with(R"({"hooks":{"poststart":[{"path":"hook.sh"}]}})"),
         "config.json: hooks.poststart[0].path: must be an absolute path"},
        {with(R"({"hooks":{"createRuntime":[{"path":"/bin/true","timeout":0}]}})"),
         "config.json: hooks.createRuntime[0].timeout: must be greater than zero"},
        {with(R"({"annotations":{"a":1}})"), "config.json: annotations.a: expected a string"},
        {with(R"({"linux":{"namespaces":[{"type":"pid"},{"type":"net"}]}})"),
         "config.json: linux.namespaces[1].type: unknown namespace type \"net\""},
        {with(R"({"linux":{"namespaces":[{"type":"pid"},{"type":"pid"}]}})"),
         "config.json: linux.namespaces[1].type: duplicate namespace type \"pid\""},
        {with(R"({"linux":{"namespaces":[{"type":"network","path":"run/netns/x"}]}})"),
         "config.json: linux.namespaces[0].path: must be an absolute path"},
        {with(R"({"linux":{"uidMappings":[{"containerID":0,"hostID":1000,"size":-1}]}})"),
         "config.json: linux.uidMappings[0].size: must not be negative"},
        {with(R"({"linux":{"gidMappings":[{"containerID":0,"hostID":1000,"size":0}]}})"),
         "config.json: linux.gidMappings[0].size: must be greater than zero"},
        {with(R"({"linux":{"uidMappings":[{"containerID":0,"hostID":4294967295,"size":2}]}})"),
         "config.json: linux.uidMappings[0]: range exceeds the 32-bit id space"},
        {with(R"({"linux":{"resources":{"memory":{"limit":"512m"}}}})"),
         "config.json: linux.resources.memory.limit: expected an integer"},
        {with(R"({"linux":{"resources":{"memory":{"swap":-2}}}})"),
         "config.json: linux.resources.memory.swap: must be -1 (unlimited) or non-negative"},
        {with(R"({"linux":{"resources":{"memory":{"limit":9223372036854775808}}}})"),
         "config.json: linux.resources.memory.limit: out of range (maximum 9223372036854775807)"},
        {with(R"({"linux":{"resources":{"cpu":{"shares":-1}}}})"),
         "config.json: linux.resources.cpu.shares: must not be negative"},
        {with(R"({"linux":{"resources":{"hugepageLimits":[{"pageSize":"2MB","limit":-1}]}}})"),
         "config.json: linux.resources.hugepageLimits[0].limit: must not be negative"},
        {with(R"({"linux":{"resources":{"devices":[{"allow":true,"type":"x","access":"rwm"}]}}})"),
         "config.json: linux.resources.devices[0].type: must be one of a, b or c"},
        {with(R"({"linux":{"resources":{"devices":[{"allow":true,"access":"rwx"}]}}})"),
         "config.json: linux.resources.devices[0].access: must contain only r, w and m"},
        {with(R"({"linux":{"resources":{"devices":[{"allow":"yes"}]}}})"),
         "config.json: linux.resources.devices[0].allow: expected a boolean"},
        {with(R"({"linux":{"devices":[{"path":"/dev/x","type":"c","minor":1}]}})"),
         "config.json: linux.devices[0].major: required for a c device"},
        {with(R"({"linux":{"devices":[{"path":"dev/x","type":"c","major":1,"minor":1}]}})"),
         "config.json: linux.devices[0].path: must be an absolute path"},
        {with(R"({"linux":{"devices":[{"path":"/dev/x","type":"c","major":-1,"minor":1}]}})"),
         "config.json: linux.devices[0].major: must not be negative"},
        {with(R"({"linux":{"devices":[{"path":"/dev/x","type":"z"}]}})"),
         "config.json: linux.devices[0].type: must be one of c, b, u or p"},
        {with(R"({"linux":{"seccomp":{"architectures":[]}}})"), "config.json: linux.seccomp.defaultAction: missing"},
        {with(R"({"linux":{"seccomp":{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["x"],"action":"ALLOW"}]}}})"),
         "config.json: linux.seccomp.syscalls[0].action: unknown seccomp action \"ALLOW\""},
        {with(R"({"linux":{"seccomp":{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":[],"action":"SCMP_ACT_LOG"}]}}})"),
         "config.json: linux.seccomp.syscalls[0].names: must be a non-empty array of strings"},
        {with(R"({"linux":{"seccomp":{"defaultAction":"SCMP_ACT_KILL","syscalls":[{"names":["x"],"action":"SCMP_ACT_ALLOW",
              "args":[{"index":6,"value":0,"op":"SCMP_CMP_EQ"}]}]}}})"),
         "config.json: linux.seccomp.syscalls[0].args[0].index: must be between 0 and 5"},
        {with(R"({"linux":{"seccomp":{"defaultAction":"SCMP_ACT_KILL","syscalls":[{"names":["x"],"action":"SCMP_ACT_ALLOW",
              "args":[{"index":0,"value":0,"op":"=="}]}]}}})"),
         "config.json: linux.seccomp.syscalls[0].args[0].op: unknown seccomp operator \"==\""},
        {with(R"({"linux":{"sysctl":{"net.ipv4.ip_forward":1}}})"),
         "config.json: linux.sysctl.net.ipv4.ip_forward: expected a string"},
        {with(R"({"linux":{"sysctl":{"../../sysrq":"1"}}})"), "config.json: linux.sysctl: invalid sysctl name \"../../sysrq\""},
        {with(R"({"linux":{"rootfsPropagation":"everywhere"}})"),
         "config.json: linux.rootfsPropagation: unknown propagation \"everywhere\""},
        {with(R"({"linux":{"maskedPaths":["proc/kcore"]}})"), "config.json: linux.maskedPaths[0]: must be an absolute path"},
        {with(R"({"linux":{"readonlyPaths":[null]}})"), "config.json: linux.readonlyPaths[0]: expected a string"},
        {with(R"({"linux":{"cgroupsPath":["a"]}})"), "config.json: linux.cgroupsPath: expected a string"},
        {with(R"({"linux":[]})"), "config.json: linux: expected an object"},
        {with(R"({"hostname":"a\u0000b"})"), "config.json: hostname: must not contain NUL bytes"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.doc);
        CHECK_THROWS_WITH_AS(parse_spec(c.doc), c.message.c_str(), Error);
    }
}

TEST_CASE("spec: malformed and hostile documents") {
    CHECK_THROWS_WITH_AS(parse_spec(""), "config.json: invalid JSON at byte 1", Error);
    CHECK_THROWS_WITH_AS(parse_spec(R"({"root": })"), "config.json: invalid JSON at byte 10", Error);
    CHECK_THROWS_WITH_AS(parse_spec(R"({"root":{"path":"rootfs"}} trailing)"), "config.json: invalid JSON at byte 30",
                         Error);
    CHECK_THROWS_WITH_AS(parse_spec("[]"), "config.json: expected a JSON object", Error);
    CHECK_THROWS_WITH_AS(parse_spec("\"config\""), "config.json: expected a JSON object", Error);

    std::string huge = R"({"root":{"path":"rootfs"},"annotations":{"a":")" + std::string(16u << 20, 'x') + "\"}}";
    CHECK_THROWS_WITH_AS(parse_spec(huge), doctest::Contains("config.json: too large ("), Error);

    std::string deep = std::string(100000, '[') + std::string(100000, ']');
    std::string doc = R"({"root":{"path":"rootfs"},"annotations":)" + deep + "}";
    CHECK_THROWS_WITH_AS(parse_spec(doc), "config.json: nested more than 64 levels deep", Error);
    // Go and runc refuse fractional numbers for integer fields; so do we
    CHECK_THROWS_WITH_AS(parse_spec(with(R"({"linux":{"resources":{"pids":{"limit":1e3}}}})")),
                         "config.json: linux.resources.pids.limit: expected an integer", Error);
    CHECK_THROWS_WITH_AS(parse_spec(with(R"({"process":{"user":{"uid":1e30}}})")),
                         "config.json: process.user.uid: expected an integer", Error);
}
