// Usage statistics and OOM detection; a missing controller or file reads as 0 so
// `minirun events --stats` works on any layout.
#include "minirun/runtime/cgroups.hpp"

namespace minirun::runtime {

namespace {

// v1 reports "unlimited" as LONG_MAX rounded down to a page; show it as v2's "max".
uint64_t limit_value(std::optional<uint64_t> v) {
    if (!v) return 0;
    return *v >= 0x7FFFFFFFFFFFF000ull ? UINT64_MAX : *v;
}

}  // namespace

Cgroup::Stats Cgroup::stats() const {
    Stats s;
    const std::string mem = dir_for("memory");
    const bool mem_v1 = !mem.empty() && mem != v2_dir_;
    s.memory_usage = cgroupfs::read_u64(mem, mem_v1 ? "memory.usage_in_bytes" : "memory.current").value_or(0);
    s.memory_limit = limit_value(cgroupfs::read_u64(mem, mem_v1 ? "memory.limit_in_bytes" : "memory.max"));
    // memory.peak needs kernel 5.19 on v2.
    s.memory_max_usage = cgroupfs::read_u64(mem, mem_v1 ? "memory.max_usage_in_bytes" : "memory.peak").value_or(0);

    // cpu.stat exists in every cgroup2 dir, so it covers a missing v1 cpuacct.
    if (auto acct = dir_for("cpuacct"); !acct.empty()) {
        s.cpu_usage_ns = cgroupfs::read_u64(acct, "cpuacct.usage").value_or(0);
    } else if (auto usec = cgroupfs::read_keyed(v2_dir_, "cpu.stat", "usage_usec")) {
        s.cpu_usage_ns = *usec * 1000;
    }

    const std::string pids = dir_for("pids");
    s.pids_current = cgroupfs::read_u64(pids, "pids.current").value_or(0);
    s.pids_limit = cgroupfs::read_u64(pids, "pids.max").value_or(0);

    s.oom_kill_count = cgroupfs::read_keyed(mem, mem_v1 ? "memory.oom_control" : "memory.events", "oom_kill").value_or(0);
    s.oom_killed = s.oom_kill_count > 0;
    return s;
}

bool Cgroup::oom_killed() const {
    const std::string mem = dir_for("memory");
    const bool mem_v1 = !mem.empty() && mem != v2_dir_;
    return cgroupfs::read_keyed(mem, mem_v1 ? "memory.oom_control" : "memory.events", "oom_kill").value_or(0) > 0;
}

}  // namespace minirun::runtime
