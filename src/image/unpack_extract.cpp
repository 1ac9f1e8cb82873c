#include "unpack_extract.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <set>

#include "minirun/common/error.hpp"
#include "minirun/common/log.hpp"

namespace minirun::image::detail {

namespace {

constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kWhiteoutMetaPrefix = ".wh..wh.";
constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";
constexpr std::string_view kOverlayXattrPrefix = "trusted.overlay.";

const char* entry_pathname(archive_entry* ae) {
    const char* p = archive_entry_pathname(ae);
    return p ? p : archive_entry_pathname_utf8(ae);
}

const char* entry_symlink(archive_entry* ae) {
    const char* p = archive_entry_symlink(ae);
    return p ? p : archive_entry_symlink_utf8(ae);
}

const char* entry_hardlink(archive_entry* ae) {
    const char* p = archive_entry_hardlink(ae);
    return p ? p : archive_entry_hardlink_utf8(ae);
}

mode_t entry_perm(archive_entry* ae) { return archive_entry_perm(ae) & 07777; }

// atime falls back to mtime; a missing mtime leaves the current time.
void entry_times(archive_entry* ae, timespec out[2]) {
    timespec mtime{0, UTIME_OMIT};
    if (archive_entry_mtime_is_set(ae)) mtime = {archive_entry_mtime(ae), archive_entry_mtime_nsec(ae)};
    out[0] = archive_entry_atime_is_set(ae) ? timespec{archive_entry_atime(ae), archive_entry_atime_nsec(ae)} : mtime;
    out[1] = mtime;
}

void pwrite_all(int fd, const void* data, size_t size, off_t offset) {
    auto* p = static_cast<const char*>(data);
    while (size > 0) {
        ssize_t n = ::pwrite(fd, p, size, offset);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("write");
        }
        p += n;
        size -= static_cast<size_t>(n);
        offset += n;
    }
}

// Streams the entry's data blocks to fd; sparse holes become seeks, a trailing hole a truncate.
void write_data(archive* a, int fd, int64_t size) {
    const void* buf = nullptr;
    size_t len = 0;
    la_int64_t offset = 0;
    int64_t end = 0;
    for (;;) {
        int r = archive_read_data_block(a, &buf, &len, &offset);
        if (r == ARCHIVE_EOF) break;
        if (r < ARCHIVE_WARN) {
            const char* msg = archive_error_string(a);
            throw Error(msg ? msg : "truncated archive");
        }
        pwrite_all(fd, buf, len, static_cast<off_t>(offset));
        end = offset + static_cast<int64_t>(len);
    }
    if (end < size && ::ftruncate(fd, static_cast<off_t>(size)) != 0) throw_errno("truncate");
}

// A path that reaches `name` in `dir_fd` without following it, for the l*xattr calls.
std::string proc_path(int dir_fd, const std::string& name) {
    return "/proc/self/fd/" + std::to_string(dir_fd) + "/" + name;
}

const std::string& last(const Components& path) {
    if (path.empty()) throw Error("only a directory can replace the layer root");
    return path.back();
}

}  // namespace

Extractor::Extractor(int root_fd, const UnpackOptions& opts) : root_(root_fd), opts_(opts) {}

void Extractor::extract(archive* a, archive_entry* ae) {
    const char* raw = entry_pathname(ae);
    if (!raw) throw Error("entry without a path");
    auto path = clean_path(raw);
    if (!path) throw Error("path escapes the layer root");
    if (opts_.overlay_whiteouts && !path->empty() && path->back().starts_with(kWhiteoutPrefix)) {
        return whiteout(*path);
    }
    if (const char* target = entry_hardlink(ae)) return hardlink(*path, target);
    switch (archive_entry_filetype(ae)) {
        case AE_IFREG: return regular(a, ae, *path);
        case AE_IFDIR: return directory(ae, *path);
        case AE_IFLNK: return symlink(ae, *path);
        case AE_IFCHR:
        case AE_IFBLK:
        case AE_IFIFO: return special(ae, *path);
        default:
            warn_once(warned_types_, "layer " + opts_.layer_name + ": skipping entries of unsupported types (first: \"" +
                                         std::string(raw) + "\")");
    }
}

void Extractor::regular(archive* a, archive_entry* ae, const Components& path) {
    const std::string& name = last(path);
    int dir = parent_fd(path);
    clear(dir, name);
    fs::UniqueFd fd(::openat(dir, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd) throw_errno("create file");
    write_data(a, fd.get(), archive_entry_size(ae));
    // chown drops setuid bits and file capabilities, so it goes before chmod and xattrs.
    if (opts_.preserve_owners && ::fchown(fd.get(), archive_entry_uid(ae), archive_entry_gid(ae)) != 0) {
        throw_errno("chown");
    }
    if (::fchmod(fd.get(), entry_perm(ae)) != 0) throw_errno("chmod");
    set_xattrs(ae, fd.get(), dir, name);
    timespec times[2];
    entry_times(ae, times);
    if (::futimens(fd.get(), times) != 0) throw_errno("set times");
}

void Extractor::directory(archive_entry* ae, const Components& path) {
    fs::UniqueFd fd;
    if (path.empty()) {
        fd.reset(::openat(root_, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    } else {
        int dir = parent_fd(path);
        const std::string& name = path.back();
        struct stat st {};
        if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode)) clear(dir, name);
        // Private until finish() sets the real mode; an existing directory is merged into.
        if (::mkdirat(dir, name.c_str(), 0700) != 0 && errno != EEXIST) throw_errno("create directory");
        fd.reset(::openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    }
    if (!fd) throw_errno("open directory");
    if (opts_.preserve_owners && ::fchown(fd.get(), archive_entry_uid(ae), archive_entry_gid(ae)) != 0) {
        throw_errno("chown");
    }
    set_xattrs(ae, fd.get(), -1, "");
    DirFixup f{path, entry_perm(ae), {}};
    entry_times(ae, f.times);
    fixups_.push_back(std::move(f));
}

void Extractor::symlink(archive_entry* ae, const Components& path) {
    const std::string& name = last(path);
    const char* target = entry_symlink(ae);
    if (!target) throw Error("symlink without a target");
    int dir = parent_fd(path);
    clear(dir, name);
    // The target is stored verbatim; it is only ever resolved inside the root.
    if (::symlinkat(target, dir, name.c_str()) != 0) throw_errno("create symlink");
    set_owner_at(dir, name, ae);
    set_xattrs(ae, -1, dir, name);
    timespec times[2];
    entry_times(ae, times);
    if (::utimensat(dir, name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) throw_errno("set times");
}

// Device nodes and fifos.
void Extractor::special(archive_entry* ae, const Components& path) {
    mode_t type = archive_entry_filetype(ae);
    if (type != AE_IFIFO && !opts_.allow_devices) {
        return warn_once(warned_devices_, "layer " + opts_.layer_name + ": skipping device nodes (first: \"" +
                                              std::string(entry_pathname(ae)) + "\")");
    }
    const std::string& name = last(path);
    int dir = parent_fd(path);
    clear(dir, name);
    if (::mknodat(dir, name.c_str(), type | entry_perm(ae), archive_entry_rdev(ae)) != 0) throw_errno("mknod");
    set_owner_at(dir, name, ae);
    // mknod applied the umask; the node was just made, so following it is following nothing.
    if (::fchmodat(dir, name.c_str(), entry_perm(ae), 0) != 0) throw_errno("chmod");
    set_xattrs(ae, -1, dir, name);
    timespec times[2];
    entry_times(ae, times);
    if (::utimensat(dir, name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) throw_errno("set times");
}

void Extractor::hardlink(const Components& path, const char* target_name) {
    auto target = clean_path(target_name);
    if (!target) throw Error("hardlink target escapes the layer root");
    if (target->empty()) throw Error("hardlink to the layer root");
    const std::string& name = last(path);
    if (*target == path) return;  // a link to itself: nothing to do
    // The target's directory is resolved inside the root too, so a symlink cannot lead out.
    int tfd = open_dir_in_root(root_, join(*target, target->size() - 1), O_PATH);
    if (tfd < 0) throw_errno("hardlink target " + join(*target, target->size()), -tfd);
    fs::UniqueFd tdir(tfd);
    struct stat tst {};
    if (::fstatat(tdir.get(), target->back().c_str(), &tst, AT_SYMLINK_NOFOLLOW) != 0) {
        throw_errno("hardlink target " + join(*target, target->size()));
    }
    if (S_ISDIR(tst.st_mode)) throw Error("hardlink target is a directory");
    int dir = parent_fd(path);
    struct stat st {};
    if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_ino == tst.st_ino &&
        st.st_dev == tst.st_dev) {
        return;  // already that file (reached through a symlink)
    }
    clear(dir, name);
    // Flags 0: a symlink target is linked itself, never followed.
    if (::linkat(tdir.get(), target->back().c_str(), dir, name.c_str(), 0) != 0) throw_errno("create hardlink");
}

void Extractor::whiteout(const Components& path) {
    const std::string& base = path.back();
    if (base == kOpaqueMarker) return opaque(path);
    if (base.starts_with(kWhiteoutMetaPrefix)) {
        log::debug("layer " + opts_.layer_name + ": skipping aufs metadata " + join(path, path.size()));
        return;
    }
    std::string victim = base.substr(kWhiteoutPrefix.size());
    if (victim.empty() || victim == "." || victim == "..") throw Error("invalid whiteout name");
    int dir = parent_fd(path);
    clear(dir, victim);
    // overlayfs reads a 0:0 character device as "deleted in this layer".
    if (::mknodat(dir, victim.c_str(), S_IFCHR, makedev(0, 0)) != 0) throw_errno("create whiteout");
}

void Extractor::opaque(const Components& path) {
    fs::UniqueFd fd(::openat(parent_fd(path), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) throw_errno("open directory");
    if (::fsetxattr(fd.get(), "trusted.overlay.opaque", "y", 1, 0) != 0) throw_errno("mark directory opaque");
}

// The O_PATH fd of the directory holding path's last component, created where missing.
int Extractor::parent_fd(const Components& path) {
    if (path.empty()) throw Error("the layer root has no parent");
    std::string rel = join(path, path.size() - 1);
    if (!cached_fd_ || cache_stale_ || rel != cached_rel_) {
        cached_fd_.reset();
        cached_fd_ = make_dirs(path, path.size() - 1);
        cached_rel_ = std::move(rel);
        cache_stale_ = false;
    }
    return cached_fd_.get();
}

// Opens the first `count` components as a directory inside the root, creating missing
// ones with mode 0755 (what Docker does for directories a layer leaves out).
fs::UniqueFd Extractor::make_dirs(const Components& path, size_t count) {
    int fd = open_dir_in_root(root_, join(path, count), O_PATH);
    if (fd >= 0) return fs::UniqueFd(fd);
    if (fd != -ENOENT) throw_errno("open directory " + join(path, count), -fd);
    fs::UniqueFd cur(open_dir_in_root(root_, "", O_PATH));
    for (size_t i = 0; i < count; ++i) {
        // Each prefix is resolved from the root again: a symlink in it may point anywhere inside.
        int next = open_dir_in_root(root_, join(path, i + 1), O_PATH);
        const char* comp = path[i].c_str();
        if (next == -ENOENT) {
            if (::mkdirat(cur.get(), comp, 0755) != 0 || ::fchmodat(cur.get(), comp, 0755, 0) != 0) {
                throw_errno("create directory " + join(path, i + 1));
            }
            next = ::openat(cur.get(), comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (next < 0) next = -errno;
        }
        if (next < 0) throw_errno("open directory " + join(path, i + 1), -next);
        cur.reset(next);
    }
    return cur;
}

// Makes room for a new `name`: whatever is there goes, a directory with its contents.
void Extractor::clear(int dir_fd, const std::string& name) {
    struct stat st {};
    if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) return;
        throw_errno("stat existing " + name);
    }
    // A removed directory may be what the cached parent fd points into; reopen it next time
    // (dir_fd itself stays open for the caller).
    if (S_ISDIR(st.st_mode)) cache_stale_ = true;
    remove_path(dir_fd, name);
}

void Extractor::set_owner_at(int dir_fd, const std::string& name, archive_entry* ae) {
    if (!opts_.preserve_owners) return;
    if (::fchownat(dir_fd, name.c_str(), archive_entry_uid(ae), archive_entry_gid(ae), AT_SYMLINK_NOFOLLOW) != 0) {
        throw_errno("chown");
    }
}

// On `fd` when there is one, else on `name` in `dir_fd` without following it.
// Like Docker, a filesystem or kernel refusing an attribute only warns.
void Extractor::set_xattrs(archive_entry* ae, int fd, int dir_fd, const std::string& name) {
    if (archive_entry_xattr_reset(ae) == 0) return;
    const char* key = nullptr;
    const void* value = nullptr;
    size_t size = 0;
    while (archive_entry_xattr_next(ae, &key, &value, &size) == ARCHIVE_OK) {
        // overlayfs state comes only from whiteout entries, never from a layer's attributes.
        if (std::string_view(key).starts_with(kOverlayXattrPrefix)) {
            warn_once(warned_overlay_xattrs_, "layer " + opts_.layer_name + ": ignoring attribute " + key);
            continue;
        }
        int r = fd >= 0 ? ::fsetxattr(fd, key, value, size, 0)
                        : ::lsetxattr(proc_path(dir_fd, name).c_str(), key, value, size, 0);
        if (r == 0) continue;
        if (errno != ENOTSUP && errno != EPERM) throw_errno(std::string("set attribute ") + key);
        warn_once(warned_xattrs_, "layer " + opts_.layer_name + ": " +
                                      errno_message(std::string("cannot set attribute ") + key, errno));
    }
}

void Extractor::finish() {
    // Latest entries first, so a directory listed twice keeps its last metadata, and
    // children are done before a parent's mode can lock them away.
    std::set<Components> done;
    for (auto it = fixups_.rbegin(); it != fixups_.rend(); ++it) {
        if (!done.insert(it->path).second) continue;
        try {
            fix_dir(*it);
        } catch (const Error& e) {
            throw Error("layer " + opts_.layer_name + ": entry \"" + join(it->path, it->path.size()) + "/\": " + e.what());
        }
    }
}

void Extractor::fix_dir(const DirFixup& f) {
    int dir = root_;
    fs::UniqueFd parent;
    const char* name = ".";
    if (!f.path.empty()) {
        int fd = open_dir_in_root(root_, join(f.path, f.path.size() - 1), O_PATH);
        if (fd < 0) return;  // replaced or removed by a later entry
        parent.reset(fd);
        dir = fd;
        name = f.path.back().c_str();
    }
    struct stat st {};
    if (::fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode)) return;
    if (::fchmodat(dir, name, f.mode, 0) != 0) throw_errno("chmod");
    if (::utimensat(dir, name, f.times, AT_SYMLINK_NOFOLLOW) != 0) throw_errno("set times");
}

void Extractor::warn_once(bool& flag, const std::string& msg) {
    if (flag) return;
    flag = true;
    log::warn(msg);
}

}  // namespace minirun::image::detail
