// The container start path's kernel calls, in order, through the Kernel seam: a recording
// fake stands in for mount, pivot_root, chdir and mknod, so the sequence is checked
// without root. The rootfs is a real directory: destinations are still resolved in it
// with openat2, and the fake names each mount target by the path its fd points at.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "minirun/common/error.hpp"
#include "minirun/common/strings.hpp"
#include "minirun/runtime/kernel.hpp"
#include "minirun/runtime/mounts.hpp"
#include "minirun/runtime/spec.hpp"

using namespace minirun;
using namespace minirun::runtime;
namespace stdfs = std::filesystem;

namespace {

std::string flag_names(unsigned long flags) {
    static const std::pair<unsigned long, const char*> names[] = {
        {MS_RDONLY, "RDONLY"}, {MS_NOSUID, "NOSUID"}, {MS_NODEV, "NODEV"}, {MS_NOEXEC, "NOEXEC"},
        {MS_REMOUNT, "REMOUNT"}, {MS_BIND, "BIND"}, {MS_MOVE, "MOVE"}, {MS_REC, "REC"},
        {MS_UNBINDABLE, "UNBINDABLE"}, {MS_PRIVATE, "PRIVATE"}, {MS_SLAVE, "SLAVE"}, {MS_SHARED, "SHARED"},
        {MS_STRICTATIME, "STRICTATIME"}, {MS_RELATIME, "RELATIME"}, {MS_NOATIME, "NOATIME"}};
    std::string out;
    for (auto& [bit, name] : names)
        if (flags & bit) out += (out.empty() ? "" : "|") + std::string(name);
    return out.empty() ? "0" : out;
}

// Records every call; names paths as the test reads them (ROOTFS/…, /proc/self/fd/N
// resolved). A call named in fail_on fails with fail_errno instead.
class RecordingKernel final : public Kernel {
public:
    explicit RecordingKernel(std::string rootfs) : rootfs_(std::move(rootfs)) {}
    std::vector<std::string> calls;
    std::string fail_on;
    int fail_errno = 0;

    int mount(const char* source, const char* target, const char* type, unsigned long flags,
              const char* data) override {
        return record("mount", (source ? name(source) : "-") + " " + name(target) + " " + (type ? type : "-") + " " +
                                   flag_names(flags) + (data ? std::string(" ") + data : ""));
    }
    int umount2(const char* target, int flags) override {
        return record("umount2", name(target) + (flags & MNT_DETACH ? " DETACH" : ""));
    }
    int pivot_root(const char* new_root, const char* put_old) override {
        return record("pivot_root", std::string(new_root) + " " + put_old);
    }
    int chroot(const char* path) override { return record("chroot", name(path)); }
    int chdir(const char* path) override { return record("chdir", name(path)); }
    int fchdir(int fd) override { return record("fchdir", name(fd_path(fd).c_str())); }
    int mknodat(int dir_fd, const char* n, mode_t mode, dev_t dev) override {
        std::string path = name(fd_path(dir_fd).c_str()) + "/" + n;
        char kind = S_ISCHR(mode) ? 'c' : S_ISBLK(mode) ? 'b' : 'p';
        char perm[8];
        std::snprintf(perm, sizeof perm, "%04o", mode & 07777);
        int rc = record("mknod", path + " " + kind + " " + std::to_string(major(dev)) + ":" +
                                     std::to_string(minor(dev)) + " " + perm);
        // A plain file stands in for the node, so the chmod after it has something to set.
        if (rc == 0) ::close(::openat(dir_fd, n, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
        return rc;
    }
    int unshare(int flags) override { return record("unshare", std::to_string(flags)); }
    int sethostname(const char* n, size_t len) override { return record("sethostname", std::string(n, len)); }
    int setdomainname(const char* n, size_t len) override { return record("setdomainname", std::string(n, len)); }

private:
    std::string rootfs_;

    static std::string fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }
    std::string name(const char* path) const {
        std::string p = path;
        if (p.rfind("/proc/self/fd/", 0) == 0) {
            char buf[4096];
            ssize_t n = ::readlink(p.c_str(), buf, sizeof buf - 1);
            if (n > 0) p.assign(buf, static_cast<size_t>(n));
        }
        if (p.rfind(rootfs_, 0) == 0) p = "ROOTFS" + p.substr(rootfs_.size());
        return p;
    }
    int record(const char* call, const std::string& args) {
        calls.push_back(std::string(call) + " " + args);
        if (fail_on == call) {
            errno = fail_errno;
            return -1;
        }
        return 0;
    }
};

struct Fixture {
    stdfs::path dir, rootfs, hosts;
    Fixture() {
        char tmpl[] = "/tmp/minirun-start-path-XXXXXX";
        REQUIRE(::mkdtemp(tmpl));
        dir = tmpl;
        rootfs = dir / "rootfs";
        stdfs::create_directories(rootfs / "etc");
        stdfs::create_directories(rootfs / "proc/sys");
        std::ofstream(rootfs / "proc/keys") << "";
        hosts = dir / "hosts";
        std::ofstream(hosts) << "127.0.0.1 localhost\n";
    }
    ~Fixture() {
        std::error_code ec;
        stdfs::remove_all(dir, ec);
    }
    Spec spec(const std::string& propagation = "") const {
        Spec s;
        s.mounts = {{"/proc", "proc", "proc", {}},
                    {"/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}},
                    {"/etc/hosts", "bind", hosts.string(), {"rbind", "ro"}}};
        s.linux.rootfs_propagation = propagation;
        return s;
    }
};

std::vector<std::string> until(const std::vector<std::string>& calls, const std::string& prefix) {
    std::vector<std::string> out;
    for (auto& c : calls) {
        if (c.rfind(prefix, 0) == 0) break;
        out.push_back(c);
    }
    return out;
}

}  // namespace

TEST_CASE("start path: the rootfs is built, entered and finished in the runtime's order") {
    Fixture fx;
    Spec spec = fx.spec();
    spec.linux.readonly_paths = {"/proc/sys"};
    spec.linux.masked_paths = {"/proc/keys", "/proc/kcore"};  // kcore is absent here: skipped
    spec.root_readonly = true;
    RootfsPlan plan{fx.rootfs.string(), &spec, false, "", {}};
    RecordingKernel k(fx.rootfs.string());

    prepare_rootfs(plan, k);
    unsigned long hosts_locked = locked_flags((fx.rootfs / "etc/hosts").string());
    std::vector<std::string> want = {
        "mount - / - REC|SLAVE",
        "mount ROOTFS ROOTFS - BIND|REC",
        "mount proc ROOTFS/proc proc 0",
        "mount tmpfs ROOTFS/dev tmpfs NOSUID|STRICTATIME mode=755,size=65536k",
        "mount " + fx.hosts.string() + " ROOTFS/etc/hosts - BIND|REC",
        "mount - ROOTFS/etc/hosts - " + flag_names(MS_RDONLY | MS_REMOUNT | MS_BIND | hosts_locked),
        "mknod ROOTFS/dev/null c 1:3 0666",
        "mknod ROOTFS/dev/zero c 1:5 0666",
        "mknod ROOTFS/dev/full c 1:7 0666",
        "mknod ROOTFS/dev/random c 1:8 0666",
        "mknod ROOTFS/dev/urandom c 1:9 0666",
        "mknod ROOTFS/dev/tty c 5:0 0666",
    };
    CHECK(k.calls == want);
    // The /dev links are plain files in the rootfs, made without privilege.
    CHECK(stdfs::read_symlink(fx.rootfs / "dev/fd") == "/proc/self/fd");
    CHECK(stdfs::read_symlink(fx.rootfs / "dev/ptmx") == "pts/ptmx");

    k.calls.clear();
    enter_rootfs(plan, false, k);
    CHECK(k.calls == std::vector<std::string>{"chdir ROOTFS", "pivot_root . .", "fchdir /", "mount - . - REC|SLAVE",
                                              "umount2 . DETACH", "fchdir " + stdfs::current_path().string(),
                                              "chdir /"});

    // finish_rootfs resolves against the current directory, which pivot_root made the
    // container's root: here the test enters the rootfs directory itself.
    k.calls.clear();
    std::string cwd = stdfs::current_path();
    REQUIRE(::chdir(fx.rootfs.c_str()) == 0);
    finish_rootfs(spec, k);
    REQUIRE(::chdir(cwd.c_str()) == 0);
    unsigned long sys_locked = locked_flags((fx.rootfs / "proc/sys").string());
    CHECK(k.calls == std::vector<std::string>{
                         "mount ROOTFS/proc/sys ROOTFS/proc/sys - BIND|REC",
                         "mount - ROOTFS/proc/sys - " + flag_names(MS_RDONLY | MS_REMOUNT | MS_BIND | MS_REC | sys_locked),
                         "mount /dev/null ROOTFS/proc/keys - BIND",
                         "mount - / - " + flag_names(MS_RDONLY | MS_REMOUNT | MS_BIND | locked_flags("/")),
                     });
}

TEST_CASE("start path: a shared or unbindable root is set after pivot_root, never before") {
    for (const char* prop : {"shared", "rshared", "unbindable", "runbindable"}) {
        CAPTURE(prop);
        Fixture fx;
        Spec spec = fx.spec(prop);
        RootfsPlan plan{fx.rootfs.string(), &spec, false, "", {}};
        RecordingKernel k(fx.rootfs.string());
        prepare_rootfs(plan, k);
        enter_rootfs(plan, false, k);
        // While the root is built the host's mounts are slaves: nothing reaches back, and
        // the kernel accepts both the rootfs bind and pivot_root.
        auto before = until(k.calls, "pivot_root");
        REQUIRE(before.size() < k.calls.size());
        CHECK(before.front() == "mount - / - REC|SLAVE");
        for (auto& c : before) CHECK_MESSAGE(c.find("SHARED") == std::string::npos, c);
        for (auto& c : before) CHECK_MESSAGE(c.find("UNBINDABLE") == std::string::npos, c);
        unsigned long want = parse_propagation(prop);
        CHECK(k.calls.back() == "mount - / - " + flag_names(want));
    }
}

TEST_CASE("start path: private propagation, chroot without pivot, devices bound in a user namespace") {
    Fixture fx;
    Spec spec = fx.spec("rprivate");
    spec.mounts.resize(1);  // /proc only: /dev stays the image's own directory
    RootfsPlan plan{fx.rootfs.string(), &spec, true, "", {}};
    RecordingKernel k(fx.rootfs.string());
    prepare_rootfs(plan, k);
    CHECK(k.calls.at(0) == "mount - / - REC|PRIVATE");
    // In a user namespace mknod is refused: each default device is the host's, bound.
    CHECK(std::count(k.calls.begin(), k.calls.end(), "mount /dev/null ROOTFS/dev/null - BIND") == 1);
    CHECK(std::count_if(k.calls.begin(), k.calls.end(), [](auto& c) { return c.rfind("mknod", 0) == 0; }) == 0);
    CHECK(stdfs::is_regular_file(fx.rootfs / "dev/null"));  // the bind target, made in the rootfs

    k.calls.clear();
    enter_rootfs(plan, true, k);
    CHECK(k.calls == std::vector<std::string>{"chdir ROOTFS", "mount ROOTFS / - MOVE", "chroot .", "chdir /",
                                              "mount - / - REC|PRIVATE"});
}

TEST_CASE("start path: a bind remount keeps the flags its mount has locked") {
    // The oracle: each mount's own options as /proc/self/mountinfo writes them (the last
    // entry for a mount point is the one on top).
    std::ifstream in("/proc/self/mountinfo");
    std::map<std::string, unsigned long> want;
    for (std::string line; std::getline(in, line);) {
        std::istringstream fields(line);
        std::string id, parent, dev, root, point, options;
        fields >> id >> parent >> dev >> root >> point >> options;
        if (point.find('\\') != std::string::npos) continue;  // escaped characters: skip
        unsigned long f = 0;
        for (auto& o : minirun::split(options, ',')) {
            if (o == "ro") f |= MS_RDONLY;
            if (o == "nosuid") f |= MS_NOSUID;
            if (o == "nodev") f |= MS_NODEV;
            if (o == "noexec") f |= MS_NOEXEC;
        }
        want[point] = f;
    }
    REQUIRE(want.count("/"));
    size_t with_flags = 0;
    for (auto& [point, flags] : want) {
        struct stat st {};
        if (::stat(point.c_str(), &st) != 0) continue;
        CHECK_MESSAGE(locked_flags(point) == flags, point);
        with_flags += flags != 0;
    }
    MESSAGE(with_flags << " of " << want.size() << " mounts have locked flags");
    CHECK(locked_flags("/no/such/path") == 0);
}

TEST_CASE("start path: a failing step names itself and keeps its errno") {
    Fixture fx;
    Spec spec = fx.spec();
    RootfsPlan plan{fx.rootfs.string(), &spec, false, "", {}};
    RecordingKernel k(fx.rootfs.string());
    k.fail_on = "pivot_root";
    k.fail_errno = EINVAL;
    try {
        enter_rootfs(plan, false, k);
        FAIL("enter_rootfs did not throw");
    } catch (const Error& e) {
        CHECK(std::string(e.what()) == "pivot_root: invalid argument");
        CHECK(e.sys_errno() == EINVAL);
        CHECK(e.kind() == ErrorKind::InvalidArgument);
    }
    CHECK(k.calls.back() == "pivot_root . .");  // nothing after the failed step

    k.calls.clear();
    k.fail_on = "mknod";
    k.fail_errno = EPERM;
    try {
        prepare_rootfs(plan, k);
        FAIL("prepare_rootfs did not throw");
    } catch (const Error& e) {
        CHECK(std::string(e.what()) == "create device /dev/null: operation not permitted");
        CHECK(e.sys_errno() == EPERM);
    }
}

TEST_CASE("start path: without a mount namespace the runtime's root is left alone and the rootfs is entered by chroot") {
    Fixture fx;
    Spec spec = fx.spec("rshared");
    RootfsPlan plan{fx.rootfs.string(), &spec, false, "", {}};
    plan.mount_namespace = false;
    RecordingKernel k(fx.rootfs.string());
    prepare_rootfs(plan, k);
    // No propagation change of the shared "/", no rootfs bind: the config's mounts first.
    CHECK(k.calls.at(0) == "mount proc ROOTFS/proc proc 0");
    for (auto& c : k.calls) CHECK_MESSAGE(c.find(" / ") == std::string::npos, c);
    for (auto& c : k.calls) CHECK_MESSAGE(c != "mount ROOTFS ROOTFS - BIND|REC", c);

    k.calls.clear();
    enter_rootfs(plan, false, k);
    // Neither pivot_root nor MS_MOVE in a namespace we share; rootfsPropagation not applied.
    CHECK(k.calls == std::vector<std::string>{"chdir ROOTFS", "chroot .", "chdir /"});
}

TEST_CASE("start path: what a container without its own mount namespace left is found deepest first") {
    std::string info =
        "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n"
        "39 22 0:4 / /srv/b/rootfs rw - overlay overlay rw\n"
        "40 22 0:5 / /srv/b/rootfs/proc rw - proc proc rw\n"
        "41 22 0:6 / /srv/b/rootfs/dev rw - tmpfs tmpfs rw\n"
        "42 41 0:7 / /srv/b/rootfs/dev/pts rw - devpts devpts rw\n"
        "43 22 0:8 / /srv/b/rootfs-other/x rw - tmpfs tmpfs rw\n"
        "44 22 0:9 / /srv/b/rootfs/with\\040space rw - tmpfs tmpfs rw\n";
    CHECK(mounts_under("/srv/b/rootfs/", info) ==
          std::vector<std::string>{"/srv/b/rootfs/with space", "/srv/b/rootfs/dev/pts", "/srv/b/rootfs/dev",
                                   "/srv/b/rootfs/proc"});
    CHECK(mounts_under("/nowhere", info).empty());
}
