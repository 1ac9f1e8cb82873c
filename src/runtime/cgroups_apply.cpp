// Writing OCI linux.resources into cgroupfs, with runc's v1 and v2 conversions.
// Each controller goes to whichever hierarchy holds it, so the hybrid layout needs
// no special case (e.g. hugetlb in the cgroup2 tree next to v1 memory).
#include <algorithm>
#include <cctype>

#include "minirun/common/error.hpp"
#include "minirun/common/log.hpp"
#include "minirun/runtime/cgroups.hpp"

namespace minirun::runtime {

namespace {

// A controller's directory and whether it is a cgroup2 one.
struct Target {
    std::string dir;
    bool v2 = false;
};

Target locate(const Cgroup& cg, const std::string& controller, const std::string& file) {
    std::string dir = cg.dir_for(controller);
    if (dir.empty())
        throw Error("cgroup: cannot set " + file + ": the " + controller + " controller is not available on this host");
    return {dir, dir == cg.v2_path()};
}

// Checks existence first so the error says why the file is missing.
void set(const Target& t, const std::string& file, const std::string& value) {
    if (!cgroupfs::exists(t.dir, file)) {
        std::string why = t.v2 ? "not supported by the kernel or controller not enabled in the parent's "
                                 "cgroup.subtree_control"
                               : "not supported by the kernel";
        throw Error("cgroup: cannot set " + file + ": " + t.dir + "/" + file + " does not exist (" + why + ")");
    }
    cgroupfs::write(t.dir, file, value);
}

std::string limit_str(int64_t v, const Target& t) { return v < 0 && t.v2 ? "max" : std::to_string(v); }

// --- memory -----------------------------------------------------------------

// memsw must stay >= the memory limit at every step, so the order depends on
// whether the limit goes up or down (runc's setMemoryAndSwap). 0 means unset.
void memory_limits_v1(const Target& t, int64_t limit, int64_t swap) {
    const char* memsw = "memory.memsw.limit_in_bytes";
    bool have_memsw = cgroupfs::exists(t.dir, memsw);
    if (limit == -1 && swap == 0 && have_memsw) swap = -1;
    if (swap != 0 && !have_memsw) {
        log::warn("cgroup: " + t.dir + "/" + memsw + " does not exist (no swap accounting); memory.swap ignored");
        swap = 0;
    }
    if (limit != 0 && swap != 0) {
        auto cur = cgroupfs::read_u64(t.dir, "memory.limit_in_bytes").value_or(0);
        if (swap == -1 || cur < static_cast<uint64_t>(swap)) {
            set(t, memsw, std::to_string(swap));
            set(t, "memory.limit_in_bytes", std::to_string(limit));
            return;
        }
    }
    if (limit != 0) set(t, "memory.limit_in_bytes", std::to_string(limit));
    if (swap != 0) set(t, memsw, std::to_string(swap));
}

void memory_v1(const Target& t, const MemoryResources& m) {
    if (m.reservation) set(t, "memory.soft_limit_in_bytes", std::to_string(*m.reservation));
    memory_limits_v1(t, m.limit.value_or(0), m.swap.value_or(0));  // 0 = unset, as runc
    if (m.kernel) log::warn("cgroup: memory.kernel is deprecated and ignored (as runc does)");
    if (m.kernel_tcp) set(t, "memory.kmem.tcp.limit_in_bytes", std::to_string(*m.kernel_tcp));
    if (m.swappiness) {
        if (*m.swappiness > 100) throw Error("cgroup: memory.swappiness must be 0..100");
        set(t, "memory.swappiness", std::to_string(*m.swappiness));
    }
    if (m.disable_oom_killer.value_or(false)) set(t, "memory.oom_control", "1");
}

void memory_v2(const Target& t, const MemoryResources& m) {
    auto limit = m.limit == 0 ? std::nullopt : m.limit;
    auto swap_max = v2_swap_max(m.swap, limit);  // validates before anything is written
    if (m.reservation) set(t, "memory.low", limit_str(*m.reservation, t));
    if (limit) set(t, "memory.max", limit_str(*limit, t));
    if (swap_max) {
        if (cgroupfs::exists(t.dir, "memory.swap.max"))
            set(t, "memory.swap.max", *swap_max);
        else
            log::warn("cgroup: " + t.dir + "/memory.swap.max does not exist (no swap accounting); memory.swap ignored");
    }
    // runc accepts these on v2 and ignores them; so do we, but say so.
    if (m.kernel || m.kernel_tcp) log::warn("cgroup: memory.kernel/kernelTCP have no cgroup v2 equivalent; ignored");
    if (m.swappiness) log::warn("cgroup: memory.swappiness has no cgroup v2 equivalent; ignored");
    if (m.disable_oom_killer.value_or(false))
        log::warn("cgroup: memory.disableOOMKiller has no cgroup v2 equivalent; ignored");
}

// --- cpu ----------------------------------------------------------------------

void cpu_v1(const Target& t, const CpuResources& c) {
    if (c.shares.value_or(0) != 0) set(t, "cpu.shares", std::to_string(*c.shares));
    if (c.period.value_or(0) != 0) {
        try {
            set(t, "cpu.cfs_period_us", std::to_string(*c.period));
        } catch (const Error&) {
            // The kernel rejects a period that makes the current quota invalid; set quota first.
            if (c.quota.value_or(0) == 0) throw;
            set(t, "cpu.cfs_quota_us", std::to_string(*c.quota));
            set(t, "cpu.cfs_period_us", std::to_string(*c.period));
        }
    }
    if (c.quota.value_or(0) != 0) set(t, "cpu.cfs_quota_us", std::to_string(*c.quota));
    if (c.realtime_period.value_or(0) != 0) set(t, "cpu.rt_period_us", std::to_string(*c.realtime_period));
    if (c.realtime_runtime.value_or(0) != 0) set(t, "cpu.rt_runtime_us", std::to_string(*c.realtime_runtime));
    if (c.idle) set(t, "cpu.idle", std::to_string(*c.idle));
}

void cpu_v2(const Target& t, const CpuResources& c) {
    if (c.shares.value_or(0) != 0) set(t, "cpu.weight", std::to_string(cpu_shares_to_weight(*c.shares)));
    if (c.quota.value_or(0) != 0 || c.period.value_or(0) != 0) {
        std::string max = c.quota.value_or(0) > 0 ? std::to_string(*c.quota) : "max";
        if (c.period.value_or(0) != 0) max += " " + std::to_string(*c.period);
        set(t, "cpu.max", max);
    }
    if (c.realtime_period.value_or(0) != 0 || c.realtime_runtime.value_or(0) != 0)
        throw Error("cgroup: cannot set cpu.realtimeRuntime/realtimePeriod: cgroup v2 has no cpu.rt_* files");
    if (c.idle) set(t, "cpu.idle", std::to_string(*c.idle));
}

void cpuset(const Cgroup& cg, const CpuResources& c) {
    if (!c.cpus.empty()) set(locate(cg, "cpuset", "cpuset.cpus"), "cpuset.cpus", c.cpus);
    if (!c.mems.empty()) set(locate(cg, "cpuset", "cpuset.mems"), "cpuset.mems", c.mems);
}

// --- block I/O (optional: kernels differ in which weight file they offer) -----

void block_io(const Cgroup& cg, const BlockIoResources& b) {
    std::string dir = cg.dir_for("blkio");
    if (dir.empty()) dir = cg.dir_for("io");
    if (dir.empty()) {
        if (b.weight || b.leaf_weight) log::warn("cgroup: no blkio/io controller; blockIO weights ignored");
        return;
    }
    Target t{dir, dir == cg.v2_path()};
    if (b.weight.value_or(0) != 0) {
        std::string w = std::to_string(*b.weight);
        if (!t.v2 && cgroupfs::exists(dir, "blkio.weight"))
            set(t, "blkio.weight", w);
        else if (!t.v2 && cgroupfs::exists(dir, "blkio.bfq.weight"))
            set(t, "blkio.bfq.weight", w);
        else if (t.v2 && cgroupfs::exists(dir, "io.bfq.weight"))
            set(t, "io.bfq.weight", w);  // same 1..1000 scale as blkio
        else if (t.v2 && cgroupfs::exists(dir, "io.weight"))
            set(t, "io.weight", std::to_string(blkio_weight_to_io_weight(*b.weight)));
        else
            log::warn("cgroup: " + dir + " has no blkio/io weight file; blockIO.weight ignored");
    }
    if (b.leaf_weight.value_or(0) != 0) {
        if (!t.v2 && cgroupfs::exists(dir, "blkio.leaf_weight"))
            set(t, "blkio.leaf_weight", std::to_string(*b.leaf_weight));
        else
            log::warn("cgroup: blkio.leaf_weight is not supported here; blockIO.leafWeight ignored");
    }
}

// --- hugetlb ------------------------------------------------------------------

void hugetlb(const Cgroup& cg, const HugepageLimit& h) {
    bool sane = !h.page_size.empty() &&
                std::all_of(h.page_size.begin(), h.page_size.end(), [](unsigned char c) { return std::isalnum(c); });
    if (!sane) throw Error("cgroup: invalid hugepage size \"" + h.page_size + "\"");
    std::string prefix = "hugetlb." + h.page_size;
    Target t = locate(cg, "hugetlb", prefix + ".limit_in_bytes");
    std::string limit_file = prefix + (t.v2 ? ".max" : ".limit_in_bytes");
    std::string rsvd_file = prefix + (t.v2 ? ".rsvd.max" : ".rsvd.limit_in_bytes");
    set(t, limit_file, std::to_string(h.limit));
    // Reservation accounting (kernel 5.7+) is set alongside, as runc does.
    if (cgroupfs::exists(t.dir, rsvd_file)) set(t, rsvd_file, std::to_string(h.limit));
}

// --- devices ------------------------------------------------------------------

std::string v1_device_rule(const DeviceRule& r) {
    std::string type = r.type.empty() ? "a" : r.type;
    std::string access = r.access.empty() ? "rwm" : r.access;
    if (type != "a" && type != "b" && type != "c") throw Error("cgroup: invalid device rule type \"" + r.type + "\"");
    if (access.find_first_not_of("rwm") != std::string::npos)
        throw Error("cgroup: invalid device rule access \"" + r.access + "\"");
    auto num = [](const std::optional<int64_t>& v) { return v && *v >= 0 ? std::to_string(*v) : std::string("*"); };
    return type + " " + num(r.major) + ":" + num(r.minor) + " " + access;
}

void devices(const Cgroup& cg, const std::vector<DeviceRule>& rules) {
    std::string dir = cg.dir_for("devices");
    if (!dir.empty()) {
        // v1 applies each line immediately, in spec order (later rules win).
        for (auto& r : rules) set({dir, false}, r.allow ? "devices.allow" : "devices.deny", v1_device_rule(r));
    } else if (!cg.v2_path().empty()) {
        apply_device_bpf(cg.v2_path(), rules);
    } else {
        throw Error("cgroup: cannot set devices.allow: no devices controller and no cgroup v2 hierarchy");
    }
}

// --- network (v1 net_cls / net_prio) ----------------------------------------------

void network(const Cgroup& cg, const NetworkResources& n) {
    if (n.class_id) {
        std::string dir = cg.dir_for("net_cls");
        if (dir.empty()) log::warn("cgroup: no net_cls controller here (cgroup v1 only); network.classID ignored");
        else set({dir, false}, "net_cls.classid", std::to_string(*n.class_id));
    }
    if (!n.priorities.empty()) {
        std::string dir = cg.dir_for("net_prio");
        if (dir.empty()) {
            log::warn("cgroup: no net_prio controller here (cgroup v1 only); network.priorities ignored");
            return;
        }
        // The kernel takes one "interface priority" pair per write.
        for (auto& p : n.priorities) set({dir, false}, "net_prio.ifpriomap", p.name + " " + std::to_string(p.priority));
    }
}

// --- unified --------------------------------------------------------------------

void unified(const Cgroup& cg, const std::map<std::string, std::string>& kv) {
    if (cg.v2_path().empty())
        throw Error("cgroup: linux.resources.unified needs a cgroup v2 hierarchy (host is cgroup v1 only)");
    for (auto& [key, value] : kv) {
        // Keys are file names in this cgroup only.
        if (key.empty() || key.find('/') != std::string::npos || key == "." || key == "..")
            throw Error("cgroup: invalid unified key \"" + key + "\"");
        set({cg.v2_path(), true}, key, value);
    }
}

}  // namespace

void Cgroup::apply(const Resources& r) {
    if (r.cpu) cpuset(*this, *r.cpu);
    if (r.memory) {
        Target t = locate(*this, "memory", "memory.limit_in_bytes/memory.max");
        t.v2 ? memory_v2(t, *r.memory) : memory_v1(t, *r.memory);
    }
    if (r.cpu && (r.cpu->shares || r.cpu->quota || r.cpu->period || r.cpu->realtime_period ||
                  r.cpu->realtime_runtime || r.cpu->idle)) {
        Target t = locate(*this, "cpu", "cpu.shares/cpu.weight");
        t.v2 ? cpu_v2(t, *r.cpu) : cpu_v1(t, *r.cpu);
    }
    if (r.pids_limit) {
        std::string max = *r.pids_limit <= 0 ? "max" : std::to_string(*r.pids_limit);
        set(locate(*this, "pids", "pids.max"), "pids.max", max);
    }
    if (r.block_io) block_io(*this, *r.block_io);
    for (auto& h : r.hugepage_limits) hugetlb(*this, h);
    if (!r.devices.empty()) devices(*this, r.devices);
    if (r.network) network(*this, *r.network);
    if (!r.unified.empty()) unified(*this, r.unified);  // last, so raw values win
}

}  // namespace minirun::runtime
