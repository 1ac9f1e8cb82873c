// cgroups: pure parsing/conversions everywhere; real create/apply/freeze/kill/destroy
// as root on the host (v1, v2 or hybrid), under /minirun-test/<unique>.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/runtime/cgroups.hpp"

using namespace minirun;
using namespace minirun::runtime;
namespace stdfs = std::filesystem;

namespace {

constexpr const char* kTestRoot = "/minirun-test";

// Removes the test cgroup (killing leftovers) and the shared parent, even when a
// CHECK failed or an exception escaped.
struct TestCgroup {
    std::string path = std::string(kTestRoot) + "/" + fs::unique_suffix();
    ~TestCgroup() {
        try {
            Cgroup::open(path, "").destroy(true);
        } catch (const std::exception&) {
        }
        auto mounts = parse_cgroup_mounts(fs::read_file("/proc/self/mountinfo"));
        for (auto& m : mounts.v1) ::rmdir((m.mount_point + kTestRoot).c_str());  // fails harmlessly if shared
        if (mounts.v2) ::rmdir((mounts.v2->mount_point + kTestRoot).c_str());
    }
};

// A child that just sleeps; exec keeps doctest's state out of the child.
struct Sleeper {
    pid_t pid = -1;
    Sleeper() {
        pid = ::fork();
        if (pid == 0) {
            ::execl("/bin/sleep", "sleep", "60", static_cast<char*>(nullptr));
            ::_exit(127);
        }
        REQUIRE(pid > 0);
    }
    int wait() {
        int status = 0;
        ::waitpid(pid, &status, 0);
        pid = -1;
        return status;
    }
    ~Sleeper() {
        if (pid > 0) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
        }
    }
};

bool is_root() { return ::geteuid() == 0; }

std::string read_trim(const std::string& dir, const std::string& file) {
    return cgroupfs::trim(cgroupfs::read(dir, file).value_or("<missing>"));
}

bool contains(const std::vector<pid_t>& v, pid_t p) { return std::find(v.begin(), v.end(), p) != v.end(); }

// Waits for the pids to drain after a kill (signals are delivered asynchronously).
bool wait_empty(const Cgroup& cg) {
    for (int i = 0; i < 200 && !cg.pids().empty(); ++i) ::usleep(10000);
    return cg.pids().empty();
}

}  // namespace

TEST_CASE("cgroup: layout detection from mountinfo text") {
    const std::string v2 = "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n";
    const std::string v1 =
        "25 23 0:22 / /sys/fs/cgroup ro - tmpfs tmpfs ro,mode=755\n"
        "26 25 0:23 / /sys/fs/cgroup/systemd rw shared:9 - cgroup cgroup rw,xattr,name=systemd\n"
        "27 25 0:24 / /sys/fs/cgroup/cpu,cpuacct rw shared:10 - cgroup cgroup rw,cpu,cpuacct\n"
        "28 25 0:25 / /sys/fs/cgroup/memory rw shared:11 - cgroup cgroup rw,memory\n"
        "29 25 0:25 / /mnt/memory\\040copy rw - cgroup cgroup rw,memory\n";  // bind mount: dropped
    const std::string unified = "31 25 0:27 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n";

    auto m1 = parse_cgroup_mounts(v1);
    CHECK(layout_of(m1) == CgroupLayout::v1);
    REQUIRE(m1.v1.size() == 3);
    CHECK(m1.v1[1].mount_point == "/sys/fs/cgroup/cpu,cpuacct");
    CHECK(m1.v1[1].controllers == std::vector<std::string>{"cpu", "cpuacct"});
    CHECK(m1.v1[0].controllers == std::vector<std::string>{"name=systemd"});

    CHECK(layout_of(parse_cgroup_mounts(v2)) == CgroupLayout::v2);
    auto hybrid = parse_cgroup_mounts(v1 + unified);
    CHECK(layout_of(hybrid) == CgroupLayout::hybrid);
    CHECK(hybrid.v2->mount_point == "/sys/fs/cgroup/unified");
    // A lone named hierarchy next to cgroup2 is still a v2 host.
    const std::string named = "26 25 0:23 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd\n";
    CHECK(layout_of(parse_cgroup_mounts(v2 + named)) == CgroupLayout::v2);
    CHECK(parse_cgroup_mounts("40 1 0:9 / /a\\040b rw - cgroup2 none rw\n").v2->mount_point == "/a b");
    CHECK_THROWS_AS(layout_of(parse_cgroup_mounts("1 0 0:1 / / rw - ext4 /dev/sda rw\n")), Error);
}

TEST_CASE("cgroup: host layout matches this machine's mountinfo") {
    auto mounts = parse_cgroup_mounts(fs::read_file("/proc/self/mountinfo"));
    CgroupLayout layout = detect_cgroup_layout();
    MESSAGE("cgroup layout: " << std::string(to_string(layout)));
    CHECK(layout == layout_of(mounts));
    if (layout != CgroupLayout::v1) CHECK(mounts.v2.has_value());
}

TEST_CASE("cgroup: v1 → v2 value conversions") {
    CHECK(cpu_shares_to_weight(2) == 1);
    CHECK(cpu_shares_to_weight(1024) == 39);
    CHECK(cpu_shares_to_weight(262144) == 10000);
    CHECK(cpu_shares_to_weight(1) == 1);            // clamped
    CHECK(cpu_shares_to_weight(1u << 30) == 10000);  // clamped
    CHECK(blkio_weight_to_io_weight(10) == 1);
    CHECK(blkio_weight_to_io_weight(1000) == 10000);
    CHECK(blkio_weight_to_io_weight(500) == 1 + (490 * 9999) / 990);

    CHECK(v2_swap_max(std::nullopt, std::nullopt) == std::nullopt);
    CHECK(v2_swap_max(std::nullopt, int64_t{-1}) == "max");
    CHECK(v2_swap_max(int64_t{-1}, int64_t{100}) == "max");
    CHECK(v2_swap_max(int64_t{300}, int64_t{100}) == "200");
    CHECK(v2_swap_max(int64_t{100}, int64_t{100}) == "0");
    CHECK_THROWS_AS(v2_swap_max(int64_t{50}, int64_t{100}), Error);
    CHECK_THROWS_AS(v2_swap_max(int64_t{50}, std::nullopt), Error);
}

TEST_CASE("cgroup: cgroupsPath normalisation") {
    CHECK(normalize_cgroup_path("", "abc") == "/minirun/abc");
    CHECK(normalize_cgroup_path("/minirun/abc", "x") == "/minirun/abc");
    CHECK(normalize_cgroup_path("minirun//abc/", "x") == "/minirun/abc");
    CHECK(normalize_cgroup_path("system.slice:minirun:abc", "x") == "/system.slice/minirun-abc.scope");
    CHECK(normalize_cgroup_path("machine-app.slice:pfx:abc", "x") == "/machine.slice/machine-app.slice/pfx-abc.scope");
    CHECK(normalize_cgroup_path(":minirun:abc", "x") == "/system.slice/minirun-abc.scope");
    CHECK(normalize_cgroup_path("-.slice::abc", "x") == "/abc.scope");
    CHECK_THROWS_AS(normalize_cgroup_path("/a/../../etc", "x"), Error);
    CHECK_THROWS_AS(normalize_cgroup_path("/", "x"), Error);
    CHECK_THROWS_AS(normalize_cgroup_path("", ""), Error);
    CHECK_THROWS_AS(normalize_cgroup_path("bad:abc", "x"), Error);
    CHECK_THROWS_AS(normalize_cgroup_path("a--b.slice:p:n", "x"), Error);
}

TEST_CASE("cgroup: create, apply limits, read back, destroy") {
    if (!is_root()) {
        MESSAGE("skipped: needs root");
        return;
    }
    TestCgroup t;
    Cgroup cg = Cgroup::create(t.path, "");
    CHECK(cg.path() == t.path);
    auto paths = cg.paths();
    REQUIRE_FALSE(paths.empty());
    for (auto& [ctrl, dir] : paths) CHECK_MESSAGE(stdfs::is_directory(dir), ctrl << " " << dir);
    if (cg.layout() != CgroupLayout::v1) CHECK(stdfs::is_directory(cg.v2_path()));

    std::string cpuset = cg.dir_for("cpuset");
    bool cpuset_v1 = !cpuset.empty() && cpuset != cg.v2_path();
    if (cpuset_v1) {  // inherited down every level, else no process could join
        CHECK_FALSE(read_trim(cpuset, "cpuset.cpus").empty());
        CHECK_FALSE(read_trim(stdfs::path(cpuset).parent_path(), "cpuset.mems").empty());
    }

    Resources r;
    r.memory = MemoryResources{};
    r.memory->limit = 64 << 20;
    r.memory->reservation = 32 << 20;
    r.cpu = CpuResources{};
    r.cpu->shares = 512;
    r.cpu->quota = 50000;
    r.cpu->period = 100000;
    r.cpu->cpus = "0";
    r.cpu->mems = "0";
    r.pids_limit = 100;
    r.block_io = BlockIoResources{};
    r.block_io->weight = 500;
    bool huge = stdfs::exists("/sys/kernel/mm/hugepages/hugepages-2048kB") && !cg.dir_for("hugetlb").empty();
    if (huge) r.hugepage_limits.push_back({"2MB", 4u << 20});
    bool devices_v1 = !cg.dir_for("devices").empty();
    if (devices_v1) {
        r.devices.push_back({false, "", std::nullopt, std::nullopt, "rwm"});
        r.devices.push_back({true, "c", 1, 3, "rwm"});
        r.devices.push_back({true, "c", 1, 5, "r"});
    }
    cg.apply(r);

    std::string mem = cg.dir_for("memory"), cpu = cg.dir_for("cpu"), pids = cg.dir_for("pids");
    if (mem != cg.v2_path()) {
        CHECK(read_trim(mem, "memory.limit_in_bytes") == std::to_string(64 << 20));
        CHECK(read_trim(mem, "memory.soft_limit_in_bytes") == std::to_string(32 << 20));
    } else {
        CHECK(read_trim(mem, "memory.max") == std::to_string(64 << 20));
        CHECK(read_trim(mem, "memory.low") == std::to_string(32 << 20));
    }
    if (cpu != cg.v2_path()) {
        CHECK(read_trim(cpu, "cpu.shares") == "512");
        CHECK(read_trim(cpu, "cpu.cfs_quota_us") == "50000");
        CHECK(read_trim(cpu, "cpu.cfs_period_us") == "100000");
    } else {
        CHECK(read_trim(cpu, "cpu.weight") == std::to_string(cpu_shares_to_weight(512)));
        CHECK(read_trim(cpu, "cpu.max") == "50000 100000");
    }
    CHECK(read_trim(cpuset, "cpuset.cpus") == "0");
    CHECK(read_trim(cpuset, "cpuset.mems") == "0");
    CHECK(read_trim(pids, "pids.max") == "100");
    if (huge) {
        std::string h = cg.dir_for("hugetlb");
        std::string file = h == cg.v2_path() ? "hugetlb.2MB.max" : "hugetlb.2MB.limit_in_bytes";
        CHECK(read_trim(h, file) == std::to_string(4u << 20));
    }
    if (devices_v1) CHECK(read_trim(cg.dir_for("devices"), "devices.list") == "c 1:3 rwm\nc 1:5 r");
    std::string blkio = cg.dir_for("blkio");
    if (cgroupfs::exists(blkio, "blkio.bfq.weight")) CHECK(read_trim(blkio, "blkio.bfq.weight").find("500") != std::string::npos);

    // Lowering memory must write the limit before memsw (and raising the reverse).
    if (mem != cg.v2_path() && cgroupfs::exists(mem, "memory.memsw.limit_in_bytes")) {
        Resources m;
        m.memory = MemoryResources{};
        m.memory->limit = 64 << 20;
        m.memory->swap = 128 << 20;
        cg.apply(m);
        m.memory->limit = 16 << 20;
        m.memory->swap = 24 << 20;
        cg.apply(m);
        CHECK(read_trim(mem, "memory.memsw.limit_in_bytes") == std::to_string(24 << 20));
        m.memory->limit = 96 << 20;
        m.memory->swap = 200 << 20;
        cg.apply(m);
        CHECK(read_trim(mem, "memory.limit_in_bytes") == std::to_string(96 << 20));
        CHECK(read_trim(mem, "memory.memsw.limit_in_bytes") == std::to_string(200 << 20));
    }

    Resources unlimited;
    unlimited.pids_limit = -1;
    cg.apply(unlimited);
    CHECK(read_trim(pids, "pids.max") == "max");

    auto s = cg.stats();
    CHECK(s.pids_limit == UINT64_MAX);
    CHECK(s.oom_kill_count == 0);
    CHECK_FALSE(cg.oom_killed());

    cg.destroy();
    for (auto& [ctrl, dir] : paths) CHECK_MESSAGE(!stdfs::exists(dir), ctrl << " " << dir);
    CHECK_NOTHROW(cg.destroy());  // idempotent
    CHECK_THROWS_AS(Cgroup::open(t.path, ""), Error);
}

TEST_CASE("cgroup: unsupported or invalid settings name the file") {
    if (!is_root()) {
        MESSAGE("skipped: needs root");
        return;
    }
    TestCgroup t;
    Cgroup cg = Cgroup::create(t.path, "");
    Resources r;
    r.hugepage_limits.push_back({"3MB", 1});
    CHECK_THROWS_WITH_AS(cg.apply(r), doctest::Contains("hugetlb.3MB"), Error);
    r.hugepage_limits = {{"../2MB", 1}};
    CHECK_THROWS_WITH_AS(cg.apply(r), doctest::Contains("invalid hugepage size"), Error);

    Resources u;
    u.unified["../cgroup.procs"] = "1";
    if (cg.v2_path().empty()) {
        CHECK_THROWS_WITH_AS(cg.apply(u), doctest::Contains("unified"), Error);
        return;
    }
    CHECK_THROWS_WITH_AS(cg.apply(u), doctest::Contains("invalid unified key"), Error);
    u.unified = {{"no.such.file", "1"}};
    CHECK_THROWS_WITH_AS(cg.apply(u), doctest::Contains("no.such.file"), Error);
    u.unified = {{"cgroup.max.depth", "5"}};
    cg.apply(u);
    CHECK(read_trim(cg.v2_path(), "cgroup.max.depth") == "5");
}

TEST_CASE("cgroup: processes join, freeze, thaw and are killed") {
    if (!is_root()) {
        MESSAGE("skipped: needs root");
        return;
    }
    TestCgroup t;
    Cgroup cg = Cgroup::create(t.path, "");
    Sleeper a, b;
    cg.add_process(a.pid);
    cg.add_process(b.pid);
    auto pids = cg.pids();
    CHECK(contains(pids, a.pid));
    CHECK(contains(pids, b.pid));
    CHECK(cg.stats().pids_current >= (cg.dir_for("pids").empty() ? 0u : 2u));

    // A second handle, as `minirun pause` would get.
    Cgroup opened = Cgroup::open(t.path, "");
    CHECK(opened.paths() == cg.paths());
    opened.freeze();
    CHECK(cg.frozen());
    if (auto fz = cg.dir_for("freezer"); !fz.empty() && fz != cg.v2_path())
        CHECK(read_trim(fz, "freezer.state") == "FROZEN");
    else
        CHECK(cgroupfs::read_keyed(cg.v2_path(), "cgroup.events", "frozen") == 1u);
    opened.thaw();
    CHECK_FALSE(cg.frozen());

    // SIGTERM goes through freeze → signal → thaw; the cgroup must end up thawed.
    cg.kill_all(SIGTERM);
    for (Sleeper* s : {&a, &b}) {
        int st = s->wait();
        CHECK((WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM));
    }
    CHECK_FALSE(cg.frozen());

    // SIGKILL on a paused container must still land.
    Sleeper c;
    cg.add_process(c.pid);
    cg.freeze();
    cg.kill_all(SIGKILL);
    int st = c.wait();
    CHECK((WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL));
    CHECK(wait_empty(cg));

    auto paths = cg.paths();
    cg.destroy();
    for (auto& [ctrl, dir] : paths) CHECK_MESSAGE(!stdfs::exists(dir), ctrl << " " << dir);
}

TEST_CASE("cgroup: destroy kills what is left when asked") {
    if (!is_root()) {
        MESSAGE("skipped: needs root");
        return;
    }
    TestCgroup t;
    Cgroup cg = Cgroup::create(t.path, "");
    Sleeper s;
    cg.add_process(s.pid);
    // A sub-cgroup made inside the container must not block removal.
    for (auto& dir : {cg.v2_path(), cg.dir_for("pids")}) {
        if (!dir.empty()) ::mkdir((dir + "/inner").c_str(), 0755);
    }
    cg.destroy(true);
    int st = s.wait();
    CHECK((WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL));
    for (auto& [ctrl, dir] : cg.paths()) CHECK_MESSAGE(!stdfs::exists(dir), ctrl << " " << dir);
}

namespace {
// Forks a child that waits for `go`, then reports how opening /dev/null and
// /dev/zero went: bit 0 set = null failed, bit 1 set = zero succeeded. The child
// only calls async-signal-safe functions and _exit, so doctest state is untouched.
struct DeviceProbe {
    pid_t pid = -1;
    int go[2] = {-1, -1};
    DeviceProbe() {
        REQUIRE(::pipe(go) == 0);
        pid = ::fork();
        if (pid == 0) {
            char c;
            ::close(go[1]);
            if (::read(go[0], &c, 1) != 1) ::_exit(100);
            int code = 0;
            int fd = ::open("/dev/null", O_RDONLY);
            if (fd < 0) code |= 1;
            int z = ::open("/dev/zero", O_RDONLY);
            if (z >= 0) code |= 2;
            ::_exit(code);
        }
        ::close(go[0]);
        REQUIRE(pid > 0);
    }
    int run() {
        char c = 'x';
        REQUIRE(::write(go[1], &c, 1) == 1);
        int status = 0;
        ::waitpid(pid, &status, 0);
        pid = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    ~DeviceProbe() {
        if (go[1] >= 0) ::close(go[1]);
        if (pid > 0) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
        }
    }
};
}  // namespace

TEST_CASE("cgroup: v2 device rules via a BPF program") {
    if (!is_root()) {
        MESSAGE("skipped: needs root");
        return;
    }
    TestCgroup t;
    Cgroup cg = Cgroup::create(t.path, "");
    if (cg.v2_path().empty()) {
        MESSAGE("skipped: no cgroup2 hierarchy");
        return;
    }
    std::vector<DeviceRule> rules = {{false, "a", std::nullopt, std::nullopt, "rwm"}, {true, "c", 1, 3, "rw"}};
    apply_device_bpf(cg.v2_path(), rules);
    {
        DeviceProbe p;
        cg.add_process(p.pid);
        CHECK(p.run() == 0);  // /dev/null allowed, /dev/zero denied
    }
    // Re-applying replaces the program instead of stacking a second one.
    apply_device_bpf(cg.v2_path(), {{true, "a", std::nullopt, std::nullopt, "rwm"}});
    {
        DeviceProbe p;
        cg.add_process(p.pid);
        CHECK(p.run() == 2);  // both open now
    }
    // Access subsets: read-only /dev/zero rule still denies nothing we ask here.
    apply_device_bpf(cg.v2_path(), {{false, "", std::nullopt, std::nullopt, "rwm"},
                                    {true, "c", 1, std::nullopt, "r"}});
    {
        DeviceProbe p;
        cg.add_process(p.pid);
        CHECK(p.run() == 2);  // c 1:* r covers O_RDONLY of both
    }
    CHECK_THROWS_AS(apply_device_bpf(cg.v2_path(), {{true, "x", 1, 3, "rwm"}}), Error);
}

namespace {
// A plain directory standing in for cgroupfs: the files a kernel would create are
// made up front (empty), so apply() can be checked for pure v1/v2 on any host.
struct FakeTree {
    stdfs::path root = stdfs::temp_directory_path() / ("minirun-fakecg-" + fs::unique_suffix());
    FakeTree() { stdfs::create_directories(root); }
    ~FakeTree() { stdfs::remove_all(root); }
    std::string dir(const std::string& rel) const {
        stdfs::create_directories(root / rel);
        return (root / rel).string();
    }
    void touch(const std::string& rel, const std::vector<std::string>& files, const std::string& content = "") const {
        std::string d = dir(rel);
        for (auto& f : files) fs::write_file_atomic(d + "/" + f, content);
    }
    std::string get(const std::string& rel) const { return cgroupfs::trim(fs::read_file(root / rel)); }
};
}  // namespace

TEST_CASE("cgroup: pure v2 conversions against a fake tree") {
    FakeTree t;
    t.touch("", {"cgroup.subtree_control"});
    t.touch("", {"cgroup.controllers"}, "cpuset cpu io memory hugetlb pids\n");
    t.touch("mr", {"cgroup.subtree_control"});
    t.touch("mr", {"cgroup.controllers"}, "cpuset cpu io memory hugetlb pids\n");
    t.touch("mr/c1", {"memory.max", "memory.low", "memory.swap.max", "cpu.weight", "cpu.max", "cpuset.cpus",
                      "cpuset.mems", "pids.max", "io.weight", "hugetlb.2MB.max", "cgroup.procs", "memory.events"});
    CgroupMounts mounts;
    mounts.v2 = CgroupMount{t.root.string(), {}};
    Cgroup cg = Cgroup::create(mounts, "mr/c1", "");
    CHECK(cg.layout() == CgroupLayout::v2);
    CHECK(cg.v2_path() == (t.root / "mr/c1").string());
    CHECK(cg.dir_for("memory") == cg.v2_path());
    CHECK(cg.dir_for("freezer").empty());
    CHECK(t.get("cgroup.subtree_control").find('+') == 0);  // delegation was attempted at the root

    Resources r;
    r.memory = MemoryResources{};
    r.memory->limit = 100;
    r.memory->swap = 300;
    r.memory->reservation = -1;
    r.cpu = CpuResources{};
    r.cpu->shares = 1024;
    r.cpu->quota = -1;
    r.cpu->period = 50000;
    r.cpu->cpus = "1";
    r.pids_limit = 0;
    r.block_io = BlockIoResources{};
    r.block_io->weight = 1000;
    r.hugepage_limits.push_back({"2MB", 2097152});
    r.unified["memory.high"] = "12345";  // not pre-created: must fail naming the file
    CHECK_THROWS_WITH_AS(cg.apply(r), doctest::Contains("memory.high"), Error);
    CHECK(t.get("mr/c1/memory.max") == "100");
    CHECK(t.get("mr/c1/memory.swap.max") == "200");
    CHECK(t.get("mr/c1/memory.low") == "max");
    CHECK(t.get("mr/c1/cpu.weight") == "39");
    CHECK(t.get("mr/c1/cpu.max") == "max 50000");
    CHECK(t.get("mr/c1/cpuset.cpus") == "1");
    CHECK(t.get("mr/c1/pids.max") == "max");
    CHECK(t.get("mr/c1/io.weight") == "10000");
    CHECK(t.get("mr/c1/hugetlb.2MB.max") == "2097152");

    Resources rt;
    rt.cpu = CpuResources{};
    rt.cpu->realtime_runtime = 1000;
    CHECK_THROWS_WITH_AS(cg.apply(rt), doctest::Contains("cpu.rt"), Error);
    Resources bad_swap;
    bad_swap.memory = MemoryResources{};
    bad_swap.memory->swap = 10;
    CHECK_THROWS_AS(cg.apply(bad_swap), Error);

    fs::write_file_atomic(cg.v2_path() + "/memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 2\n");
    CHECK(cg.oom_killed());
    CHECK(cg.stats().oom_kill_count == 2);
    CHECK(cg.stats().memory_limit == 100);
}

TEST_CASE("cgroup: pure v1 fake tree: co-mounts and cpuset inheritance") {
    FakeTree t;
    t.touch("cpuset", {"cpuset.cpus"}, "0-3\n");
    t.touch("cpuset", {"cpuset.mems"}, "0\n");
    t.touch("cpuset/mr", {"cpuset.cpus", "cpuset.mems"});
    t.touch("cpuset/mr/c1", {"cpuset.cpus", "cpuset.mems"});
    t.touch("cpu,cpuacct/mr/c1", {"cpu.shares", "cpu.cfs_quota_us", "cpu.cfs_period_us", "cgroup.procs"});
    t.touch("pids/mr/c1", {"pids.max", "cgroup.procs"});
    CgroupMounts mounts;
    mounts.v1.push_back({(t.root / "cpuset").string(), {"cpuset"}});
    mounts.v1.push_back({(t.root / "cpu,cpuacct").string(), {"cpu", "cpuacct"}});
    mounts.v1.push_back({(t.root / "pids").string(), {"pids"}});
    Cgroup cg = Cgroup::create(mounts, "/mr/c1", "");
    CHECK(cg.layout() == CgroupLayout::v1);
    CHECK(cg.v2_path().empty());
    CHECK(cg.dir_for("cpu") == cg.dir_for("cpuacct"));
    CHECK(t.get("cpuset/mr/cpuset.cpus") == "0-3");  // every level, not just the leaf
    CHECK(t.get("cpuset/mr/c1/cpuset.cpus") == "0-3");
    CHECK(t.get("cpuset/mr/c1/cpuset.mems") == "0");

    Resources r;
    r.cpu = CpuResources{};
    r.cpu->shares = 256;
    r.cpu->quota = -1;
    r.pids_limit = 7;
    cg.apply(r);
    CHECK(t.get("cpu,cpuacct/mr/c1/cpu.shares") == "256");
    CHECK(t.get("cpu,cpuacct/mr/c1/cpu.cfs_quota_us") == "-1");
    CHECK(t.get("pids/mr/c1/pids.max") == "7");

    Resources mem;
    mem.memory = MemoryResources{};
    mem.memory->limit = 1;
    CHECK_THROWS_WITH_AS(cg.apply(mem), doctest::Contains("memory controller is not available"), Error);
    Resources u;
    u.unified["memory.max"] = "1";
    CHECK_THROWS_WITH_AS(cg.apply(u), doctest::Contains("cgroup v2"), Error);
    Resources huge;
    huge.hugepage_limits.push_back({"2MB", 1});
    CHECK_THROWS_WITH_AS(cg.apply(huge), doctest::Contains("hugetlb.2MB"), Error);
}
