#include "minirun/runtime/mounts.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <sstream>

#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/common/log.hpp"

namespace minirun::runtime {

namespace {

using fs::UniqueFd;

struct OptionEffect {
    bool clear;
    unsigned long flag;
};

const std::map<std::string, OptionEffect>& flag_options() {
    static const std::map<std::string, OptionEffect> m{
        {"ro", {false, MS_RDONLY}},         {"rw", {true, MS_RDONLY}},
        {"nosuid", {false, MS_NOSUID}},     {"suid", {true, MS_NOSUID}},
        {"nodev", {false, MS_NODEV}},       {"dev", {true, MS_NODEV}},
        {"noexec", {false, MS_NOEXEC}},     {"exec", {true, MS_NOEXEC}},
        {"sync", {false, MS_SYNCHRONOUS}},  {"async", {true, MS_SYNCHRONOUS}},
        {"dirsync", {false, MS_DIRSYNC}},   {"remount", {false, MS_REMOUNT}},
        {"mand", {false, MS_MANDLOCK}},     {"nomand", {true, MS_MANDLOCK}},
        {"atime", {true, MS_NOATIME}},      {"noatime", {false, MS_NOATIME}},
        {"diratime", {true, MS_NODIRATIME}}, {"nodiratime", {false, MS_NODIRATIME}},
        {"relatime", {false, MS_RELATIME}}, {"norelatime", {true, MS_RELATIME}},
        {"strictatime", {false, MS_STRICTATIME}}, {"nostrictatime", {true, MS_STRICTATIME}},
        {"silent", {false, MS_SILENT}},     {"loud", {true, MS_SILENT}},
        {"defaults", {false, 0}},
    };
    return m;
}

std::string proc_fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

std::vector<std::string> components(const std::string& path) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i < path.size()) {
        size_t j = path.find('/', i);
        if (j == std::string::npos) j = path.size();
        std::string c = path.substr(i, j - i);
        if (!c.empty() && c != ".") out.push_back(c);
        i = j + 1;
    }
    return out;
}

void do_mount(Kernel& k, const std::string& source, int target_fd, const std::string& dest, const char* type,
              unsigned long flags, const std::string& data) {
    std::string target = proc_fd_path(target_fd);
    if (k.mount(source.empty() ? nullptr : source.c_str(), target.c_str(), type, flags,
                data.empty() ? nullptr : data.c_str()) != 0)
        throw_errno("mount " + (source.empty() ? std::string(type ? type : "none") : source) + " on " + dest);
}

bool source_is_dir(const Mount& m) {
    struct stat st {};
    if (::stat(m.source.c_str(), &st) != 0) return true;  // let the mount report it
    return S_ISDIR(st.st_mode);
}

void mount_bind(Kernel& k, const Mount& m, const MountFlags& f, int root_fd) {
    UniqueFd target(open_in_root(root_fd, m.destination, true, !source_is_dir(m)));
    std::string t = proc_fd_path(target.get());
    unsigned long flags = MS_BIND | (f.recursive ? MS_REC : 0);
    if (k.mount(m.source.c_str(), t.c_str(), nullptr, flags, nullptr) != 0)
        throw_errno("mount " + m.source + " on " + m.destination);
    // Reopen: the fd still points at the covered directory, not the new mount.
    target.reset(open_in_root(root_fd, m.destination, false, false));
    if (!target) throw_errno("open " + m.destination + " after mounting");
    t = proc_fd_path(target.get());
    unsigned long extra = f.flags & ~(MS_REMOUNT | MS_BIND | MS_REC);
    if (extra) {
        unsigned long keep = locked_flags(t) & ~f.clear;
        if (k.mount(nullptr, t.c_str(), nullptr, MS_REMOUNT | MS_BIND | extra | keep, nullptr) != 0)
            throw_errno("remount " + m.destination + " with its options");
    }
    if (f.propagation && k.mount(nullptr, t.c_str(), nullptr, f.propagation, nullptr) != 0)
        throw_errno("set propagation of " + m.destination);
}

void mount_cgroup(Kernel& k, const RootfsPlan& plan, const Mount& m, const MountFlags& f, int root_fd) {
    unsigned long flags = f.flags & ~MS_RDONLY;
    bool ro = f.flags & MS_RDONLY;
    if (plan.cgroup_v1_dirs.empty()) {
        // cgroup v2: the container's own cgroup is its root when it has a cgroup namespace.
        bool cgroupns = plan.spec->has_namespace("cgroup");
        UniqueFd target(open_in_root(root_fd, m.destination, true, false));
        if (cgroupns) {
            do_mount(k, "cgroup2", target.get(), m.destination, "cgroup2", flags | (ro ? MS_RDONLY : 0), "");
        } else {
            Mount b{m.destination, "bind", plan.cgroup_v2_dir, {}};
            MountFlags bf = f;
            bf.recursive = true;
            mount_bind(k, b, bf, root_fd);
        }
        return;
    }
    // v1 / hybrid: a tmpfs with one bind of the container's directory per hierarchy.
    UniqueFd target(open_in_root(root_fd, m.destination, true, false));
    do_mount(k, "tmpfs", target.get(), m.destination, "tmpfs", flags, "mode=755");
    for (auto& [name, dir] : plan.cgroup_v1_dirs) {
        Mount b{m.destination + "/" + name, "bind", dir, {}};
        MountFlags bf;
        bf.flags = flags | (ro ? MS_RDONLY : 0);
        bf.recursive = false;
        mount_bind(k, b, bf, root_fd);
    }
    if (ro) {
        UniqueFd again(open_in_root(root_fd, m.destination, false, false));
        std::string t = proc_fd_path(again.get());
        if (k.mount(nullptr, t.c_str(), nullptr, MS_REMOUNT | MS_RDONLY | flags, nullptr) != 0)
            throw_errno("remount " + m.destination + " read-only");
    }
}

void mount_one(Kernel& k, const RootfsPlan& plan, const Mount& m, int root_fd) {
    MountFlags f = parse_mount_options(m.options);
    if (m.type == "bind" || f.bind) return mount_bind(k, m, f, root_fd);
    if (m.type == "cgroup") return mount_cgroup(k, plan, m, f, root_fd);
    UniqueFd target(open_in_root(root_fd, m.destination, true, false));
    std::string data = f.data;
    do_mount(k, m.source.empty() ? m.type : m.source, target.get(), m.destination, m.type.c_str(), f.flags, data);
    if (f.propagation) {
        UniqueFd again(open_in_root(root_fd, m.destination, false, false));
        if (k.mount(nullptr, proc_fd_path(again.get()).c_str(), nullptr, f.propagation, nullptr) != 0)
            throw_errno("set propagation of " + m.destination);
    }
}

struct DefaultDevice {
    const char* path;
    unsigned major, minor;
};
constexpr DefaultDevice kDefaultDevices[] = {
    {"/dev/null", 1, 3}, {"/dev/zero", 1, 5}, {"/dev/full", 1, 7},
    {"/dev/random", 1, 8}, {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0},
};

void create_device(Kernel& k, const Device& d, bool bind, int root_fd) {
    if (bind) {
        Mount m{d.path, "bind", d.path, {}};
        MountFlags f;
        f.flags = 0;
        mount_bind(k, m, f, root_fd);
        return;
    }
    std::string parent = d.path.substr(0, d.path.rfind('/'));
    UniqueFd dir(open_in_root(root_fd, parent.empty() ? "/" : parent, true, false));
    UniqueFd dirfd(minirun::fs::open_in_root(root_fd, parent.empty() ? "/" : parent, O_DIRECTORY | O_RDONLY));
    if (!dirfd) throw_errno("open " + parent);
    std::string name = d.path.substr(d.path.rfind('/') + 1);
    mode_t type = d.type == "b" ? S_IFBLK : d.type == "p" ? S_IFIFO : S_IFCHR;
    ::unlinkat(dirfd.get(), name.c_str(), 0);
    if (k.mknodat(dirfd.get(), name.c_str(), type | (d.file_mode ? *d.file_mode & 07777 : 0666),
                  makedev(static_cast<unsigned>(d.major), static_cast<unsigned>(d.minor))) != 0)
        throw_errno("create device " + d.path);
    if (d.uid || d.gid) {
        if (::fchownat(dirfd.get(), name.c_str(), d.uid.value_or(0), d.gid.value_or(0), AT_SYMLINK_NOFOLLOW) != 0)
            throw_errno("chown device " + d.path);
    }
    // mknod applies the umask; set the mode the config asked for.
    if (::fchmodat(dirfd.get(), name.c_str(), d.file_mode ? *d.file_mode & 07777 : 0666, 0) != 0)
        throw_errno("chmod device " + d.path);
}

void create_devices(Kernel& k, const RootfsPlan& plan, int root_fd) {
    std::vector<std::string> seen;
    for (auto& d : plan.spec->linux.devices) {
        create_device(k, d, plan.user_namespace, root_fd);
        seen.push_back(d.path);
    }
    for (auto& dd : kDefaultDevices) {
        if (std::find(seen.begin(), seen.end(), dd.path) != seen.end()) continue;
        Device d{dd.path, "c", dd.major, dd.minor, 0666, 0, 0};
        create_device(k, d, plan.user_namespace, root_fd);
    }
    UniqueFd dev(minirun::fs::open_in_root(root_fd, "/dev", O_DIRECTORY | O_RDONLY));
    if (!dev) throw_errno("open /dev");
    const std::pair<const char*, const char*> links[] = {
        {"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
        {"/proc/self/fd/2", "stderr"}, {"/proc/kcore", "core"}, {"pts/ptmx", "ptmx"}};
    for (auto& [target, name] : links) {
        if (std::string(name) == "core") {
            struct stat st {};
            if (::stat("/proc/kcore", &st) != 0) continue;
        }
        if (std::string(name) == "ptmx") ::unlinkat(dev.get(), name, 0);
        if (::symlinkat(target, dev.get(), name) != 0 && errno != EEXIST) throw_errno(std::string("symlink /dev/") + name);
    }
}

bool dev_is_mounted(const Spec& s) {
    for (auto& m : s.mounts)
        if (m.destination == "/dev") return true;
    return false;
}

}  // namespace

unsigned long locked_flags(const std::string& target) {
    struct statvfs sv {};
    if (::statvfs(target.c_str(), &sv) != 0) return 0;
    unsigned long f = 0;
    if (sv.f_flag & ST_NOSUID) f |= MS_NOSUID;
    if (sv.f_flag & ST_NODEV) f |= MS_NODEV;
    if (sv.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
    if (sv.f_flag & ST_RDONLY) f |= MS_RDONLY;
    return f;
}

unsigned long parse_propagation(const std::string& v) {
    static const std::map<std::string, unsigned long> m{
        {"shared", MS_SHARED},       {"rshared", MS_SHARED | MS_REC},
        {"slave", MS_SLAVE},         {"rslave", MS_SLAVE | MS_REC},
        {"private", MS_PRIVATE},     {"rprivate", MS_PRIVATE | MS_REC},
        {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC}};
    auto it = m.find(v);
    if (it == m.end()) throw Error("invalid propagation \"" + v + "\"");
    return it->second;
}

MountFlags parse_mount_options(const std::vector<std::string>& options) {
    MountFlags f;
    for (auto& o : options) {
        if (o == "bind" || o == "rbind") {
            f.bind = true;
            f.recursive = f.recursive || o == "rbind";
            continue;
        }
        if (auto it = flag_options().find(o); it != flag_options().end()) {
            if (it->second.clear) {
                f.flags &= ~it->second.flag;
                f.clear |= it->second.flag;
            } else {
                f.flags |= it->second.flag;
            }
            continue;
        }
        try {
            f.propagation |= parse_propagation(o);
            continue;
        } catch (const Error&) {
        }
        if (o == "tmpcopyup" || o == "notmpcopyup" || o == "z" || o == "Z") continue;  // podman/selinux hints
        if (o == "idmap" || o == "ridmap") throw Error("mount option \"" + o + "\" is not supported");
        f.data += (f.data.empty() ? "" : ",") + o;
    }
    return f;
}

namespace {

// A dangling symlink on the way: continue along its target, still inside the root.
std::string through_symlink(int dir_fd, const std::string& name, const std::string& sofar,
                            const std::vector<std::string>& rest) {
    char buf[4096];
    ssize_t n = ::readlinkat(dir_fd, name.c_str(), buf, sizeof buf - 1);
    if (n < 0) return {};
    std::string target(buf, static_cast<size_t>(n));
    std::string path = target[0] == '/' ? target : sofar + "/" + target;
    for (auto& r : rest) path += "/" + r;
    return path;
}

int open_in_root_depth(int root_fd, const std::string& path, bool create, bool create_as_file, int depth) {
    int fd = minirun::fs::open_in_root(root_fd, path, O_PATH);
    if (fd >= 0 || errno != ENOENT || !create) {
        if (fd < 0) throw_errno("open " + path + " in the container root");
        return fd;
    }
    if (depth > 40) throw Error("open " + path + " in the container root: too many levels of symbolic links");
    // Walk and create what is missing; every step is resolved inside the root again.
    auto parts = components(path);
    UniqueFd cur(::dup(root_fd));
    std::string sofar;
    for (size_t i = 0; i < parts.size(); ++i) {
        bool last = i + 1 == parts.size();
        std::string next = sofar + "/" + parts[i];
        UniqueFd probe(minirun::fs::open_in_root(root_fd, next, O_PATH));
        if (!probe) {
            if (errno != ENOENT) throw_errno("open " + next + " in the container root");
            UniqueFd dir(minirun::fs::open_in_root(root_fd, sofar.empty() ? "/" : sofar, O_DIRECTORY | O_RDONLY));
            if (!dir) throw_errno("open " + (sofar.empty() ? "/" : sofar) + " in the container root");
            struct stat st {};
            if (::fstatat(dir.get(), parts[i].c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
                std::vector<std::string> rest(parts.begin() + static_cast<long>(i) + 1, parts.end());
                std::string redirected = through_symlink(dir.get(), parts[i], sofar, rest);
                if (redirected.empty()) throw_errno("read symlink " + next);
                return open_in_root_depth(root_fd, redirected, create, create_as_file, depth + 1);
            }
            if (last && create_as_file) {
                UniqueFd f(::openat(dir.get(), parts[i].c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644));
                if (!f && errno != EEXIST) throw_errno("create " + next);
            } else if (::mkdirat(dir.get(), parts[i].c_str(), 0755) != 0 && errno != EEXIST) {
                throw_errno("create directory " + next);
            }
            probe.reset(minirun::fs::open_in_root(root_fd, next, O_PATH));
            if (!probe) throw_errno("open " + next + " in the container root");
        }
        cur = std::move(probe);
        sofar = next;
    }
    return cur.release();
}

}  // namespace

int open_in_root(int root_fd, const std::string& path, bool create, bool create_as_file) {
    return open_in_root_depth(root_fd, path, create, create_as_file, 0);
}

namespace {

unsigned long requested_propagation(const Spec& s) {
    return s.linux.rootfs_propagation.empty() ? (MS_SLAVE | MS_REC) : parse_propagation(s.linux.rootfs_propagation);
}

}  // namespace

void prepare_rootfs(const RootfsPlan& plan, Kernel& k) {
    const Spec& s = *plan.spec;
    if (!plan.mount_namespace) {
        // The runtime's own namespace: its root's propagation is not ours to change, and the
        // rootfs needs no bind (chroot enters it).
        UniqueFd root(::open(plan.rootfs.c_str(), O_DIRECTORY | O_PATH | O_CLOEXEC));
        if (!root) throw_errno("open rootfs " + plan.rootfs);
        for (auto& m : s.mounts) mount_one(k, plan, m, root.get());
        if (!dev_is_mounted(s)) UniqueFd dev(open_in_root(root.get(), "/dev", true, false));
        create_devices(k, plan, root.get());
        return;
    }
    // Keep our mounts from reaching the host: everything private or slave while the root
    // is built. A shared or unbindable root is set after pivot_root (enter_rootfs): the
    // kernel refuses to pivot onto a shared mount or to bind from an unbindable one.
    unsigned long prop = requested_propagation(s);
    unsigned long building = (prop & MS_PRIVATE) ? (MS_PRIVATE | MS_REC) : (MS_SLAVE | MS_REC);
    if (k.mount(nullptr, "/", nullptr, building, nullptr) != 0) throw_errno("set propagation of /");
    // The rootfs must be a mount point for pivot_root.
    if (k.mount(plan.rootfs.c_str(), plan.rootfs.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
        throw_errno("bind mount rootfs " + plan.rootfs);
    UniqueFd root(::open(plan.rootfs.c_str(), O_DIRECTORY | O_PATH | O_CLOEXEC));
    if (!root) throw_errno("open rootfs " + plan.rootfs);
    for (auto& m : s.mounts) mount_one(k, plan, m, root.get());
    if (!dev_is_mounted(s)) {
        // No /dev mount asked for: devices still go into the image's /dev.
        UniqueFd dev(open_in_root(root.get(), "/dev", true, false));
    }
    create_devices(k, plan, root.get());
}

void enter_rootfs(const RootfsPlan& plan, bool no_pivot, Kernel& k) {
    const std::string& rootfs = plan.rootfs;
    if (k.chdir(rootfs.c_str()) != 0) throw_errno("chdir " + rootfs);
    if (!plan.mount_namespace) {
        // Nothing to move or pivot in a namespace we share; rootfsPropagation would change
        // the runtime's mounts, so it is not applied.
        if (k.chroot(".") != 0) throw_errno("chroot");
        if (k.chdir("/") != 0) throw_errno("chdir /");
        return;
    }
    if (no_pivot) {
        if (k.mount(rootfs.c_str(), "/", nullptr, MS_MOVE, nullptr) != 0) throw_errno("move rootfs to /");
        if (k.chroot(".") != 0) throw_errno("chroot");
        if (k.chdir("/") != 0) throw_errno("chdir /");
    } else {
        // pivot_root(".", "."): the old root ends up on top of the new one, then goes.
        UniqueFd old_root(::open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC));
        UniqueFd new_root(::open(".", O_DIRECTORY | O_RDONLY | O_CLOEXEC));
        if (k.pivot_root(".", ".") != 0) throw_errno("pivot_root");
        if (k.fchdir(old_root.get()) != 0) throw_errno("fchdir old root");
        if (k.mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) != 0) throw_errno("make old root slave");
        if (k.umount2(".", MNT_DETACH) != 0) throw_errno("unmount old root");
        if (k.fchdir(new_root.get()) != 0) throw_errno("fchdir new root");
        if (k.chdir("/") != 0) throw_errno("chdir /");
    }
    // The propagation config.json asked for, now that the root is in place.
    if (!plan.spec->linux.rootfs_propagation.empty() &&
        k.mount(nullptr, "/", nullptr, requested_propagation(*plan.spec), nullptr) != 0)
        throw_errno("set rootfs propagation " + plan.spec->linux.rootfs_propagation);
}

namespace {

bool is_real_dev_null(int fd) {
    struct stat st {};
    return ::fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 3;
}

void mask_path(Kernel& k, const std::string& path) {
    UniqueFd target(minirun::fs::open_in_root(AT_FDCWD, path, O_PATH | O_NOFOLLOW));
    if (!target) {
        if (errno == ENOENT) return;
        throw_errno("open masked path " + path);
    }
    struct stat st {};
    if (::fstat(target.get(), &st) != 0) throw_errno("stat " + path);
    if (S_ISDIR(st.st_mode)) {
        if (k.mount("tmpfs", proc_fd_path(target.get()).c_str(), "tmpfs", MS_RDONLY, "size=0k") != 0)
            throw_errno("mask " + path);
        return;
    }
    UniqueFd null(::open("/dev/null", O_PATH | O_CLOEXEC | O_NOFOLLOW));
    // The container could have planted something else there: mount only the real device.
    if (!null || !is_real_dev_null(null.get())) throw Error("mask " + path + ": /dev/null is not the null device");
    if (k.mount(proc_fd_path(null.get()).c_str(), proc_fd_path(target.get()).c_str(), nullptr, MS_BIND, nullptr) != 0)
        throw_errno("mask " + path);
}

void readonly_path(Kernel& k, const std::string& path) {
    UniqueFd target(minirun::fs::open_in_root(AT_FDCWD, path, O_PATH | O_NOFOLLOW));
    if (!target) {
        if (errno == ENOENT) return;
        throw_errno("open read-only path " + path);
    }
    std::string t = proc_fd_path(target.get());
    if (k.mount(t.c_str(), t.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) throw_errno("bind " + path);
    UniqueFd again(minirun::fs::open_in_root(AT_FDCWD, path, O_PATH | O_NOFOLLOW));
    std::string t2 = proc_fd_path(again.get());
    if (k.mount(nullptr, t2.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_REC | locked_flags(t2), nullptr) != 0)
        throw_errno("make " + path + " read-only");
}

}  // namespace

void finish_rootfs(const Spec& spec, Kernel& k) {
    for (auto& p : spec.linux.readonly_paths) readonly_path(k, p);
    for (auto& p : spec.linux.masked_paths) mask_path(k, p);
    if (spec.root_readonly) {
        if (k.mount(nullptr, "/", nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | locked_flags("/"), nullptr) != 0)
            throw_errno("remount / read-only");
    }
}

std::vector<std::string> mounts_under(const std::string& rootfs, const std::string& mountinfo_text) {
    std::string root = rootfs;
    while (root.size() > 1 && root.back() == '/') root.pop_back();
    std::vector<std::string> found;
    std::istringstream in(mountinfo_text);
    for (std::string line; std::getline(in, line);) {
        // id parent major:minor root mount-point ...; the mount point escapes space, tab,
        // newline and backslash as \ooo.
        std::istringstream fields(line);
        std::string id, parent, dev, mroot, point;
        if (!(fields >> id >> parent >> dev >> mroot >> point)) continue;
        std::string path;
        for (size_t i = 0; i < point.size(); ++i) {
            if (point[i] == '\\' && i + 3 < point.size()) {
                path += static_cast<char>(std::stoi(point.substr(i + 1, 3), nullptr, 8));
                i += 3;
            } else {
                path += point[i];
            }
        }
        // Strictly under: the rootfs itself may be a mount its owner made before create.
        if (path.size() > root.size() && path.compare(0, root.size(), root) == 0 && path[root.size()] == '/')
            found.push_back(path);
    }
    // Later mounts sit on earlier ones: take them down in reverse order.
    std::reverse(found.begin(), found.end());
    return found;
}

}  // namespace minirun::runtime
