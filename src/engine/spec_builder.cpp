#include "minirun/engine/spec_builder.hpp"

#include <sys/prctl.h>

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "minirun/common/error.hpp"
#include "minirun/runtime/cgroups.hpp"
#include "minirun/runtime/process_setup.hpp"
#include "minirun/runtime/seccomp.hpp"

namespace minirun::engine {

using json = nlohmann::json;

const std::vector<std::string>& docker_default_capabilities() {
    static const std::vector<std::string> caps{
        "CAP_CHOWN",  "CAP_DAC_OVERRIDE", "CAP_FSETID",     "CAP_FOWNER",     "CAP_MKNOD",
        "CAP_NET_RAW", "CAP_SETGID",      "CAP_SETUID",     "CAP_SETFCAP",    "CAP_SETPCAP",
        "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"};
    return caps;
}

namespace {

std::string cap_name(std::string c) {
    for (auto& ch : c) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    if (c != "ALL" && c.rfind("CAP_", 0) != 0) c = "CAP_" + c;
    return c;
}

json mount_json(const runtime::Mount& m) {
    json j{{"destination", m.destination}, {"type", m.type}, {"source", m.source}};
    if (!m.options.empty()) j["options"] = m.options;
    return j;
}

json seccomp_json(const runtime::Seccomp& s) {
    json syscalls = json::array();
    for (auto& sc : s.syscalls) {
        json r{{"names", sc.names}, {"action", sc.action}};
        if (sc.errno_ret) r["errnoRet"] = *sc.errno_ret;
        if (!sc.args.empty()) {
            json args = json::array();
            for (auto& a : sc.args) args.push_back({{"index", a.index}, {"value", a.value}, {"valueTwo", a.value_two}, {"op", a.op}});
            r["args"] = args;
        }
        syscalls.push_back(r);
    }
    json j{{"defaultAction", s.default_action}, {"architectures", s.architectures}, {"syscalls", syscalls}};
    if (s.default_errno_ret) j["defaultErrnoRet"] = *s.default_errno_ret;
    return j;
}

json default_mounts(const RunSettings& s) {
    json m = json::array();
    m.push_back({{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}, {"options", {"nosuid", "noexec", "nodev"}}});
    m.push_back({{"destination", "/dev"}, {"type", "tmpfs"}, {"source", "tmpfs"}, {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}});
    m.push_back({{"destination", "/dev/pts"}, {"type", "devpts"}, {"source", "devpts"},
                 {"options", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}}});
    m.push_back({{"destination", "/sys"}, {"type", "sysfs"}, {"source", "sysfs"},
                 {"options", s.privileged ? json{"nosuid", "noexec", "nodev"} : json{"nosuid", "noexec", "nodev", "ro"}}});
    m.push_back({{"destination", "/sys/fs/cgroup"}, {"type", "cgroup"}, {"source", "cgroup"},
                 {"options", s.privileged ? json{"nosuid", "noexec", "nodev", "relatime"}
                                          : json{"nosuid", "noexec", "nodev", "relatime", "ro"}}});
    m.push_back({{"destination", "/dev/mqueue"}, {"type", "mqueue"}, {"source", "mqueue"}, {"options", {"nosuid", "noexec", "nodev"}}});
    m.push_back({{"destination", "/dev/shm"}, {"type", "tmpfs"}, {"source", "shm"},
                 {"options", {"nosuid", "noexec", "nodev", "mode=1777", "size=67108864"}}});
    return m;
}

json resources(const RunSettings& s) {
    json r{{"devices", s.privileged ? json::array({{{"allow", true}, {"access", "rwm"}}})
                                    : json::array({{{"allow", false}, {"access", "rwm"}}})}};
    if (s.memory) r["memory"] = {{"limit", *s.memory}, {"swap", *s.memory * 2}};
    if (s.cpus) {
        int64_t period = 100000;
        r["cpu"] = {{"quota", static_cast<int64_t>(std::llround(*s.cpus * static_cast<double>(period)))}, {"period", period}};
    }
    if (s.pids_limit) r["pids"] = {{"limit", *s.pids_limit}};
    return r;
}

// --privileged and ALL mean what this host can grant: its bounding set (a CI runner or a
// nested container lacks some), not every capability the kernel knows, as Docker does.
std::vector<std::string> grantable_capabilities() {
    std::vector<std::string> out;
    for (auto& n : runtime::known_capabilities()) {
        auto num = runtime::capability_numbers({n});
        if (!num.empty() && ::prctl(PR_CAPBSET_READ, num[0], 0, 0, 0) == 1) out.push_back(n);
    }
    return out;
}

}  // namespace

std::vector<std::string> effective_capabilities(const RunSettings& s) {
    if (s.privileged) return grantable_capabilities();
    std::vector<std::string> caps = docker_default_capabilities();
    for (auto& d : s.cap_drop) {
        std::string n = cap_name(d);
        if (n == "CAP_ALL" || n == "ALL") caps.clear();
        else std::erase(caps, n);
    }
    for (auto& a : s.cap_add) {
        std::string n = cap_name(a);
        if (n == "CAP_ALL" || n == "ALL") {
            caps = grantable_capabilities();
            continue;
        }
        auto known = runtime::known_capabilities();
        if (std::find(known.begin(), known.end(), n) == known.end()) throw Error("--cap-add: unknown capability " + a);
        if (std::find(caps.begin(), caps.end(), n) == caps.end()) caps.push_back(n);
    }
    return caps;
}

std::string build_config_json(const RunSettings& s) {
    auto caps = effective_capabilities(s);
    json process{{"terminal", s.tty},
                 {"user", {{"uid", s.user.uid}, {"gid", s.user.gid}}},
                 {"args", s.args},
                 {"env", s.env},
                 {"cwd", s.cwd.empty() ? "/" : s.cwd},
                 {"capabilities", {{"bounding", caps}, {"effective", caps}, {"permitted", caps}}},
                 {"noNewPrivileges", s.no_new_privileges}};
    if (s.tty && s.tty_rows && s.tty_cols) process["consoleSize"] = {{"height", s.tty_rows}, {"width", s.tty_cols}};
    if (!s.user.additional_gids.empty()) process["user"]["additionalGids"] = s.user.additional_gids;
    if (!s.rlimits.empty()) {
        json rl = json::array();
        for (auto& r : s.rlimits) rl.push_back({{"type", r.type}, {"soft", r.soft}, {"hard", r.hard}});
        process["rlimits"] = rl;
    }
    json namespaces = json::array({{{"type", "pid"}}, {{"type", "ipc"}}, {{"type", "uts"}}, {{"type", "mount"}}});
    if (!s.host_network) {
        json ns{{"type", "network"}};
        if (!s.netns_path.empty()) ns["path"] = s.netns_path;
        namespaces.push_back(ns);
    }
    if (runtime::detect_cgroup_layout() == runtime::CgroupLayout::v2) namespaces.push_back({{"type", "cgroup"}});
    json mounts = default_mounts(s);
    for (auto& m : s.mounts) mounts.push_back(mount_json(m));
    json linux_{{"namespaces", namespaces}, {"resources", resources(s)}, {"cgroupsPath", s.cgroups_path}};
    if (!s.privileged) {
        linux_["maskedPaths"] = {"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                                 "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
                                 "/sys/firmware", "/sys/devices/virtual/powercap"};
        linux_["readonlyPaths"] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
        if (!s.seccomp_unconfined) linux_["seccomp"] = seccomp_json(runtime::docker_default_seccomp(caps));
    }
    json config{{"ociVersion", "1.1.0"},
                {"process", process},
                {"root", {{"path", "rootfs"}, {"readonly", s.read_only}}},
                {"hostname", s.hostname},
                {"mounts", mounts},
                {"annotations", s.annotations},
                {"linux", linux_}};
    return config.dump(2);
}

}  // namespace minirun::engine
