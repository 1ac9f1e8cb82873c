#pragma once
// Control groups for containers: v1, v2 and the hybrid layout (v1 controllers plus a
// cgroup2 hierarchy, usually at /sys/fs/cgroup/unified), detected at run time from
// /proc/self/mountinfo. We drive cgroupfs directly; systemd is never contacted.
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "minirun/common/strings.hpp"
#include "minirun/runtime/spec.hpp"

namespace minirun::runtime {

enum class CgroupLayout { v1, v2, hybrid };

// One mounted cgroup hierarchy as seen in mountinfo.
struct CgroupMount {
    std::string mount_point;               // "/sys/fs/cgroup/memory"
    std::vector<std::string> controllers;  // v1: "cpu", "cpuacct", "name=systemd"; v2: empty
};

struct CgroupMounts {
    std::vector<CgroupMount> v1;     // one entry per hierarchy (duplicate mounts dropped)
    std::optional<CgroupMount> v2;   // the cgroup2 mount we use, if any
};

// Pure parsing so tests can feed synthetic mountinfo text.
CgroupMounts parse_cgroup_mounts(std::string_view mountinfo);
// Throws minirun::Error when no cgroup filesystem is mounted at all.
CgroupLayout layout_of(const CgroupMounts& mounts);
CgroupMounts read_cgroup_mounts();  // from /proc/self/mountinfo
CgroupLayout detect_cgroup_layout();
const char* to_string(CgroupLayout layout);

// OCI linux.cgroupsPath → absolute path inside every hierarchy ("/minirun/ID").
// "" → "/minirun/<id>"; "a/b" → "/a/b"; "slice:prefix:name" (systemd form) →
// "/<expanded slice>/<prefix>-<name>.scope". Refuses "..", the root and bad slices.
std::string normalize_cgroup_path(const std::string& path, const std::string& id);

// Conversions shared with runc/crun, pure for testing.
uint64_t cpu_shares_to_weight(uint64_t shares);      // v1 cpu.shares → v2 cpu.weight
uint64_t blkio_weight_to_io_weight(uint64_t weight);  // v1 blkio.weight → v2 io.weight
// OCI memory.swap is memory+swap; v2 memory.swap.max is swap alone. Returns the
// value to write ("max" for unlimited), or nullopt when nothing should be written.
std::optional<std::string> v2_swap_max(std::optional<int64_t> swap, std::optional<int64_t> limit);

// Attaches a BPF_PROG_TYPE_CGROUP_DEVICE program implementing `rules` (v1 semantics:
// last matching rule wins; a type-"a" rule resets the default) to a cgroup2 dir,
// replacing programs we attached earlier. Used for v2 device control.
void apply_device_bpf(const std::string& v2_dir, const std::vector<DeviceRule>& rules);

// Small cgroupfs file helpers (cgroupfs files are written with one write() and are
// never renamed into place, so fs::write_file_atomic does not apply).
namespace cgroupfs {
// Throws Error("cgroup: write \"value\" to <dir>/<file>: <reason>").
void write(const std::string& dir, const std::string& file, const std::string& value);
bool exists(const std::string& dir, const std::string& file);
std::optional<std::string> read(const std::string& dir, const std::string& file);  // nullopt if unreadable
using minirun::trim;  // common/strings.hpp
// A number file; "max" reads as UINT64_MAX.
std::optional<uint64_t> read_u64(const std::string& dir, const std::string& file);
// The value of `key` in a "key value" per-line file (memory.events, cpu.stat, …).
std::optional<uint64_t> read_keyed(const std::string& dir, const std::string& file, const std::string& key);
}  // namespace cgroupfs

// Moving a process into a cgroup takes a global kernel lock whose first writer after an
// idle spell waits a whole RCU grace period (7–17 ms here), the largest single cost of
// starting a container; writers arriving meanwhile share that wait. A primer makes a
// no-op migration on a helper thread, so the wait starts at once and overlaps the rest
// of start-up. The helper holds cgroup_mutex while it waits, which cgroup mkdir needs
// too: prime before other work, not just before mkdir. Best effort; the destructor joins.
class CgroupMigrationPrimer {
public:
    CgroupMigrationPrimer();
    ~CgroupMigrationPrimer();
    CgroupMigrationPrimer(const CgroupMigrationPrimer&) = delete;
    CgroupMigrationPrimer& operator=(const CgroupMigrationPrimer&) = delete;

private:
    struct Thread;
    std::unique_ptr<Thread> thread_;
};

class Cgroup {
public:
    // mkdir in every relevant hierarchy (an existing cgroup is reused, as runc does).
    static Cgroup create(const std::string& path, const std::string& id);
    // An existing cgroup (state/kill/delete/update); throws if it is missing everywhere.
    static Cgroup open(const std::string& path, const std::string& id);
    // The same against already parsed mounts (tests point these at a fake tree).
    static Cgroup create(const CgroupMounts& mounts, const std::string& path, const std::string& id);
    static Cgroup open(const CgroupMounts& mounts, const std::string& path, const std::string& id);

    // Writes limits. Unsupported fields throw an Error naming the file; blockIO
    // weight and memsw/swap (kernel lacks the file) only warn.
    void apply(const Resources& r);
    void add_process(pid_t pid);       // cgroup.procs in each hierarchy
    std::vector<pid_t> pids() const;   // every process, sub-cgroups included, sorted

    void freeze();                     // returns once the cgroup is FROZEN (or throws)
    void thaw();
    bool frozen() const;

    // Signals every process. The cgroup is frozen meanwhile so forks cannot escape;
    // SIGKILL uses v2 cgroup.kill when the kernel has it.
    void kill_all(int sig);
    // rmdir everywhere (sub-cgroups first), retrying briefly while processes drain.
    // With kill_remaining, SIGKILL whatever is left first. Missing dirs are fine.
    void destroy(bool kill_remaining = false);

    struct Stats {
        uint64_t memory_usage = 0, memory_limit = 0, memory_max_usage = 0;  // limit: UINT64_MAX = none
        uint64_t cpu_usage_ns = 0;
        uint64_t pids_current = 0, pids_limit = 0;  // UINT64_MAX = none
        bool oom_killed = false;
        uint64_t oom_kill_count = 0;
    };
    Stats stats() const;    // missing controllers/files read as 0
    bool oom_killed() const;  // oom_kill > 0 in memory.events (v2) / memory.oom_control (v1, ≥4.13)

    CgroupLayout layout() const { return layout_; }
    const std::string& path() const { return path_; }  // "/minirun/ID", the container's cgroupns root
    std::string v2_path() const { return v2_dir_; }    // cgroup2 dir, empty in pure v1
    // Directory holding `controller` ("memory", "hugetlb", …), empty when unavailable.
    std::string dir_for(const std::string& controller) const;
    // controller → absolute dir (v1 named hierarchies as "name=systemd"; the cgroup2 dir
    // as "unified" plus one entry per v2 controller). For state.json and debugging.
    std::map<std::string, std::string> paths() const;

private:
    static Cgroup resolve(const CgroupMounts& mounts, const std::string& path, const std::string& id);
    std::vector<std::string> all_dirs() const;  // distinct dirs: v1 hierarchies then v2
    void freeze_v1(const std::string& dir);
    void freeze_v2();

    CgroupLayout layout_ = CgroupLayout::v2;
    std::string path_;
    std::map<std::string, std::string> v1_dirs_;  // controller → dir
    std::string v2_dir_;
    std::vector<std::string> v2_controllers_;     // available in the cgroup2 hierarchy
};

}  // namespace minirun::runtime
