#include "minirun/engine/spec_builder.hpp"

#include <sys/prctl.h>

#include <algorithm>
#include <cmath>

#include "minirun/common/error.hpp"
#include "minirun/runtime/cgroups.hpp"
#include "minirun/runtime/process_setup.hpp"
#include "minirun/runtime/seccomp.hpp"

namespace minirun::engine {

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

std::vector<runtime::Mount> default_mounts(const RunSettings& s) {
    std::vector<std::string> sys_opts{"nosuid", "noexec", "nodev"};
    std::vector<std::string> cgroup_opts{"nosuid", "noexec", "nodev", "relatime"};
    if (!s.privileged) {
        sys_opts.push_back("ro");
        cgroup_opts.push_back("ro");
    }
    return {
        {"/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}},
        {"/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}},
        {"/dev/pts", "devpts", "devpts", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
        {"/sys", "sysfs", "sysfs", sys_opts},
        {"/sys/fs/cgroup", "cgroup", "cgroup", cgroup_opts},
        {"/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}},
        {"/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=" + std::to_string(s.shm_bytes.value_or(67108864))}},
    };
}

runtime::Resources resources(const RunSettings& s) {
    runtime::Resources r;
    // Deny every device but the runtime's defaults, or allow all (--privileged).
    r.devices.push_back({s.privileged, "", std::nullopt, std::nullopt, "rwm"});
    r.devices.insert(r.devices.end(), s.device_rules.begin(), s.device_rules.end());
    if (s.memory || s.memory_reservation) {
        runtime::MemoryResources& m = r.memory.emplace();
        m.limit = s.memory;
        // Docker: --memory without --memory-swap allows as much swap again; -1 unlimited
        if (s.memory) m.swap = s.memory_swap ? *s.memory_swap : *s.memory * 2;
        m.reservation = s.memory_reservation;
    }
    if (s.cpus || s.cpu_shares || !s.cpuset_cpus.empty() || !s.cpuset_mems.empty()) {
        runtime::CpuResources& c = r.cpu.emplace();
        if (s.cpus) {
            constexpr uint64_t period = 100000;
            c.quota = static_cast<int64_t>(std::llround(*s.cpus * static_cast<double>(period)));
            c.period = period;
        }
        c.shares = s.cpu_shares;
        c.cpus = s.cpuset_cpus;
        c.mems = s.cpuset_mems;
    }
    r.pids_limit = s.pids_limit;
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

runtime::Spec run_spec(const RunSettings& s) {
    runtime::Spec spec;
    spec.hooks = s.hooks;
    runtime::Process& p = spec.process.emplace();
    auto caps = effective_capabilities(s);
    p.terminal = s.tty;
    if (s.tty && s.tty_rows && s.tty_cols) p.console_size = runtime::ConsoleSize{s.tty_rows, s.tty_cols};
    p.user.uid = s.user.uid;
    p.user.gid = s.user.gid;
    p.user.additional_gids = s.user.additional_gids;
    p.args = s.args;
    p.env = s.env;
    p.cwd = s.cwd.empty() ? "/" : s.cwd;
    p.capabilities = runtime::Capabilities{caps, caps, {}, caps, {}};
    p.rlimits = s.rlimits;
    p.no_new_privileges = s.no_new_privileges;
    p.oom_score_adj = s.oom_score_adj;

    spec.root_path = "rootfs";
    spec.root_readonly = s.read_only;
    spec.hostname = s.hostname;
    spec.mounts = default_mounts(s);
    spec.mounts.insert(spec.mounts.end(), s.mounts.begin(), s.mounts.end());
    spec.annotations = s.annotations;

    runtime::Linux& l = spec.linux;
    l.namespaces = {{"pid", ""}, {"ipc", ""}, {"uts", ""}, {"mount", ""}};
    if (!s.host_network) l.namespaces.push_back({"network", s.netns_path});
    if (runtime::detect_cgroup_layout() == runtime::CgroupLayout::v2) l.namespaces.push_back({"cgroup", ""});
    l.resources = resources(s);
    l.cgroups_path = s.cgroups_path;
    l.sysctl = s.sysctl;
    l.devices = s.devices;
    if (!s.privileged) {
        l.masked_paths = {"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                          "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
                          "/sys/firmware", "/sys/devices/virtual/powercap"};
        l.readonly_paths = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
        if (!s.seccomp_profile.empty())
            l.seccomp = runtime::seccomp_from_profile(s.seccomp_profile, s.seccomp_profile_source, caps);
        else if (!s.seccomp_unconfined)
            l.seccomp = runtime::docker_default_seccomp(caps);
    }
    return spec;
}

std::string build_config_json(const RunSettings& s) { return runtime::write_spec(run_spec(s)); }

}  // namespace minirun::engine
