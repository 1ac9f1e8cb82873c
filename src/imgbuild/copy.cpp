// COPY/ADD file work: source selection, content hashing, copying into a root.
#include "minirun/imgbuild/copy.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <vector>

#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/common/sha256.hpp"

namespace minirun::imgbuild {

namespace {

using fs::UniqueFd;

std::vector<std::string> sorted_entries(int dirfd) {
    int dup = ::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dup < 0) return {};
    DIR* d = ::fdopendir(dup);
    if (!d) {
        ::close(dup);
        return {};
    }
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d))
        if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) names.emplace_back(e->d_name);
    ::closedir(d);
    std::sort(names.begin(), names.end());
    return names;
}

std::string join(const std::string& a, const std::string& b) { return a.empty() ? b : a + "/" + b; }

// Opens a source path inside its tree; the top-level path may go through symlinks that
// stay inside the tree, as Docker follows them.
UniqueFd open_source(const SourceTree& tree, const std::string& rel, int flags) {
    UniqueFd fd(fs::open_in_root(tree.root_fd, rel.empty() ? "." : rel, flags));
    if (!fd) throw_errno("COPY source " + (rel.empty() ? std::string(".") : rel) + " in the " + tree.label);
    return fd;
}

struct Visit {
    const std::string& rel;   // relative to the source's top
    const std::string& name;  // entry name in dirfd
    int dirfd;
    const struct stat& st;
};

// Whether anything below the ignored directory `fd` (path `tree_rel`) is let through by
// an exception (`!path`) of the ignore file.
bool has_exception_below(const SourceTree& tree, int fd, const std::string& tree_rel) {
    for (const auto& name : sorted_entries(fd)) {
        std::string trel = join(tree_rel, name);
        if (!tree.ignore->ignored(trel)) return true;
        struct stat st {};
        if (::fstatat(fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode)) continue;
        UniqueFd sub(::openat(fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (sub && has_exception_below(tree, sub.get(), trel)) return true;
    }
    return false;
}

// Walks the tree below the directory `fd` (whose path in the tree is `tree_rel`) in
// sorted order, skipping ignored entries; `post` runs after a directory's children.
// An ignored directory holding an exception is kept, as the path to what it lets through
// (Docker keeps dir/keep.txt at its place, never flattened into the parent).
void walk(const SourceTree& tree, int fd, const std::string& tree_rel, const std::string& rel,
          const std::function<void(const Visit&)>& pre, const std::function<void(const Visit&)>& post) {
    bool descend_ignored = tree.ignore && tree.ignore->has_exceptions();
    for (const auto& name : sorted_entries(fd)) {
        std::string trel = join(tree_rel, name), r = join(rel, name);
        struct stat st {};
        if (::fstatat(fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) throw_errno("stat " + trel + " in the " + tree.label);
        bool ignored = tree.ignore && tree.ignore->ignored(trel);
        if (ignored && !(S_ISDIR(st.st_mode) && descend_ignored)) continue;
        if (tree.exclude && tree.exclude->ignored(r)) continue;
        UniqueFd sub;
        if (S_ISDIR(st.st_mode)) {
            sub.reset(::openat(fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            if (!sub) throw_errno("open " + trel + " in the " + tree.label);
            if (ignored && !has_exception_below(tree, sub.get(), trel)) continue;
        }
        Visit v{r, name, fd, st};
        pre(v);
        if (sub) {
            walk(tree, sub.get(), trel, r, pre, post);
            post(v);
        }
    }
}

void copy_bytes(int in, int out, const std::string& what) {
    for (;;) {
        ssize_t n = ::copy_file_range(in, nullptr, out, nullptr, 1 << 30, 0);
        if (n > 0) continue;
        if (n == 0) return;
        if (errno == EINTR) continue;
        if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP) throw_errno("copy " + what);
        break;
    }
    char buf[1 << 16];
    for (;;) {
        ssize_t n = ::read(in, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_errno("read " + what);
        if (n == 0) return;
        fs::write_all(out, buf, static_cast<size_t>(n), what);
    }
}

void set_times(int dirfd, const std::string& name, const struct stat& st) {
    timespec ts[2] = {st.st_mtim, st.st_mtim};
    ::utimensat(dirfd, name.c_str(), ts, AT_SYMLINK_NOFOLLOW);
}

// Removes what stands at dirfd/name unless it is a directory we can merge into.
void clear_target(int dirfd, const std::string& name, bool want_dir, const std::string& what) {
    struct stat st {};
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return;
    if (S_ISDIR(st.st_mode)) {
        if (want_dir) return;
        throw Error("COPY: cannot replace directory " + what + " with a file");
    }
    if (::unlinkat(dirfd, name.c_str(), 0) != 0) throw_errno("replace " + what);
}

void copy_regular(int in, const struct stat& st, int out_dir, const std::string& name, const CopyAttrs& a,
                  const std::string& what) {
    UniqueFd out(::openat(out_dir, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!out) throw_errno("create " + what);
    copy_bytes(in, out.get(), what);
    if (::fchown(out.get(), a.uid, a.gid) != 0) throw_errno("chown " + what);
    if (::fchmod(out.get(), a.mode ? *a.mode : (st.st_mode & 07777)) != 0) throw_errno("chmod " + what);
    timespec ts[2] = {st.st_mtim, st.st_mtim};
    ::futimens(out.get(), ts);
}

// Copies one non-directory entry (or creates one directory) as dirfd_out/name.
void copy_entry(int src_dirfd, const std::string& src_name, const struct stat& st, int out_dir, const std::string& name,
                const CopyAttrs& a, const std::string& what) {
    mode_t mode = a.mode ? *a.mode : (st.st_mode & 07777);
    if (S_ISDIR(st.st_mode)) {
        clear_target(out_dir, name, true, what);
        if (::mkdirat(out_dir, name.c_str(), 0700) != 0 && errno != EEXIST) throw_errno("mkdir " + what);
        if (::fchownat(out_dir, name.c_str(), a.uid, a.gid, AT_SYMLINK_NOFOLLOW) != 0) throw_errno("chown " + what);
        if (::fchmodat(out_dir, name.c_str(), mode, 0) != 0) throw_errno("chmod " + what);
        return;
    }
    clear_target(out_dir, name, false, what);
    if (S_ISREG(st.st_mode)) {
        UniqueFd in(::openat(src_dirfd, src_name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
        if (!in) throw_errno("open " + what);
        copy_regular(in.get(), st, out_dir, name, a, what);
        return;
    }
    if (S_ISLNK(st.st_mode)) {
        std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
        ssize_t n = ::readlinkat(src_dirfd, src_name.c_str(), target.data(), target.size());
        if (n < 0) throw_errno("readlink " + what);
        target.resize(static_cast<size_t>(n));
        if (::symlinkat(target.c_str(), out_dir, name.c_str()) != 0) throw_errno("symlink " + what);
        ::fchownat(out_dir, name.c_str(), a.uid, a.gid, AT_SYMLINK_NOFOLLOW);
        set_times(out_dir, name, st);
        return;
    }
    if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
        if (::mknodat(out_dir, name.c_str(), (st.st_mode & S_IFMT) | mode, st.st_rdev) != 0) throw_errno("mknod " + what);
        ::fchownat(out_dir, name.c_str(), a.uid, a.gid, AT_SYMLINK_NOFOLLOW);
        set_times(out_dir, name, st);
    }
    // Sockets are not copied (Docker skips them too).
}

std::pair<std::string, std::string> split_parent(const std::string& path) {
    std::string clean = clean_relative(path);
    auto slash = clean.rfind('/');
    if (slash == std::string::npos) return {"", clean};
    return {clean.substr(0, slash), clean.substr(slash + 1)};
}

}  // namespace

int make_dirs_in_root(int root_fd, const std::string& path, const CopyAttrs* owner) {
    std::string sofar;
    UniqueFd cur(::dup(root_fd));
    for (const auto& c : split_path(clean_relative(path))) {
        sofar = join(sofar, c);
        UniqueFd next(fs::open_in_root(root_fd, sofar, O_RDONLY | O_DIRECTORY));
        if (!next && errno == ENOENT) {
            if (::mkdirat(cur.get(), c.c_str(), 0755) != 0 && errno != EEXIST) throw_errno("mkdir /" + sofar);
            next.reset(fs::open_in_root(root_fd, sofar, O_RDONLY | O_DIRECTORY));
            if (next && owner && ::fchown(next.get(), owner->uid, owner->gid) != 0) throw_errno("chown /" + sofar);
        }
        if (!next) throw_errno("open directory /" + sofar);
        cur = std::move(next);
    }
    return cur.release();
}

std::vector<std::string> expand_source(const SourceTree& tree, const std::string& pattern) {
    std::string clean = clean_relative(pattern);
    if (!has_glob_chars(clean)) {
        UniqueFd probe(fs::open_in_root(tree.root_fd, clean.empty() ? "." : clean, O_PATH));
        if (!probe || (tree.ignore && !clean.empty() && tree.ignore->ignored(clean)))
            throw Error("COPY source \"" + pattern + "\": no such file or directory in the " + tree.label);
        return {clean};
    }
    // Component by component: only directories on the pattern's path are listed.
    auto parts = split_path(clean);
    std::vector<std::string> found{""};
    for (size_t i = 0; i < parts.size(); ++i) {
        std::vector<std::string> next;
        for (const auto& base : found) {
            if (!has_glob_chars(parts[i])) {
                std::string p = join(base, parts[i]);
                UniqueFd probe(fs::open_in_root(tree.root_fd, p, O_PATH));
                if (probe) next.push_back(p);
                continue;
            }
            UniqueFd dir(fs::open_in_root(tree.root_fd, base.empty() ? "." : base, O_RDONLY | O_DIRECTORY));
            if (!dir) continue;
            for (const auto& name : sorted_entries(dir.get()))
                if (match_components({parts[i]}, 0, {name}, 0)) next.push_back(join(base, name));
        }
        found = std::move(next);
    }
    std::erase_if(found, [&](const std::string& p) { return tree.ignore && tree.ignore->ignored(p); });
    if (found.empty()) throw Error("COPY source \"" + pattern + "\": no file matches in the " + tree.label);
    return found;
}

bool source_is_dir(const SourceTree& tree, const std::string& rel) {
    UniqueFd fd(open_source(tree, rel, O_PATH));
    struct stat st {};
    return ::fstat(fd.get(), &st) == 0 && S_ISDIR(st.st_mode);
}

void hash_source(Sha256& h, const SourceTree& tree, const std::string& rel, int64_t epoch, bool content) {
    // `open_file` gives the content of a regular file; links hash their target.
    auto feed = [&](const std::string& r, int dirfd, const std::string& name, const struct stat& st,
                    const std::function<UniqueFd()>& open_file) {
        std::string meta = r + '\0' + std::to_string(st.st_mode) + ' ' + std::to_string(st.st_uid) + ' ' +
                           std::to_string(st.st_gid) + ' ' + std::to_string(st.st_size) + ' ' +
                           std::to_string(std::min<int64_t>(st.st_mtime, epoch)) + '\0';
        h.update(meta);
        if (!content) {
            h.update(std::to_string(st.st_dev) + ' ' + std::to_string(st.st_ino) + ' ' + std::to_string(st.st_mtim.tv_sec) + '.' +
                     std::to_string(st.st_mtim.tv_nsec) + ' ' + std::to_string(st.st_ctim.tv_sec) + '.' +
                     std::to_string(st.st_ctim.tv_nsec) + '\0');
            return;
        }
        if (S_ISLNK(st.st_mode)) {
            char target[4096];
            ssize_t n = ::readlinkat(dirfd, name.c_str(), target, sizeof target);
            if (n > 0) h.update(target, static_cast<size_t>(n));
        } else if (S_ISREG(st.st_mode)) {
            UniqueFd in = open_file();
            if (!in) throw_errno("open " + r + " in the " + tree.label);
            std::vector<char> buf(1 << 20);
            for (ssize_t n; (n = ::read(in.get(), buf.data(), buf.size())) != 0;) {
                if (n < 0 && errno == EINTR) continue;
                if (n < 0) throw_errno("read " + r + " in the " + tree.label);
                h.update(buf.data(), static_cast<size_t>(n));
            }
        }
    };
    UniqueFd top(open_source(tree, rel, O_RDONLY));
    struct stat st {};
    if (::fstat(top.get(), &st) != 0) throw_errno("stat " + rel);
    if (!S_ISDIR(st.st_mode)) {
        h.update(rel + '\0');
        // The top-level source may be a symlink Docker follows: hash what it points to,
        // read through the fd open_source resolved inside the tree.
        feed(rel, -1, "", st, [&] { return UniqueFd(::dup(top.get())); });
        return;
    }
    h.update(rel + "/\0");
    walk(
        tree, top.get(), rel, "",
        [&](const Visit& v) {
            feed(v.rel, v.dirfd, v.name, v.st,
                 [&] { return UniqueFd(::openat(v.dirfd, v.name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC)); });
        },
        [](const Visit&) {});
}

void copy_source(const SourceTree& tree, const std::string& rel, int dest_root, const std::string& dest, bool dest_is_dir,
                 const CopyAttrs& attrs) {
    UniqueFd top(open_source(tree, rel, O_RDONLY));
    struct stat st {};
    if (::fstat(top.get(), &st) != 0) throw_errno("stat " + rel);
    if (S_ISDIR(st.st_mode)) {
        UniqueFd out(make_dirs_in_root(dest_root, dest, &attrs));
        // Directories are opened as we go, always inside dest_root.
        std::vector<UniqueFd> stack;
        std::vector<int> fds{out.get()};
        walk(
            tree, top.get(), rel, "",
            [&](const Visit& v) {
                std::string what = dest + "/" + v.rel;
                copy_entry(v.dirfd, v.name, v.st, fds.back(), v.name, attrs, what);
                if (S_ISDIR(v.st.st_mode)) {
                    UniqueFd sub(::openat(fds.back(), v.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
                    if (!sub) throw_errno("open " + what);
                    fds.push_back(sub.get());
                    stack.push_back(std::move(sub));
                }
            },
            [&](const Visit& v) {
                fds.pop_back();
                stack.pop_back();
                set_times(fds.back(), v.name, v.st);
            });
        return;
    }
    std::string target = dest_is_dir ? dest + "/" + split_parent(rel).second : dest;
    auto [parent, name] = split_parent(target);
    if (name.empty()) throw Error("COPY destination \"" + dest + "\" is not a file path");
    UniqueFd out(make_dirs_in_root(dest_root, parent, &attrs));
    if (S_ISREG(st.st_mode)) {
        // From the fd already open: a top-level symlink was followed inside the tree.
        clear_target(out.get(), name, false, target);
        copy_regular(top.get(), st, out.get(), name, attrs, target);
        return;
    }
    auto [sparent, sname] = split_parent(rel);
    UniqueFd sdir(open_source(tree, sparent, O_RDONLY | O_DIRECTORY));
    copy_entry(sdir.get(), sname, st, out.get(), name, attrs, target);
}

namespace {

// Creates (replacing a non-directory) the regular file `path` inside root_fd.
UniqueFd create_in_root(int root_fd, const std::string& path, const CopyAttrs& attrs) {
    auto [parent, name] = split_parent(path);
    if (name.empty()) throw Error("destination \"" + path + "\" is not a file path");
    UniqueFd dir(make_dirs_in_root(root_fd, parent, &attrs));
    clear_target(dir.get(), name, false, path);
    UniqueFd out(::openat(dir.get(), name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!out) throw_errno("create " + path);
    return out;
}

void finish_file(int fd, const std::string& path, const CopyAttrs& attrs, mode_t default_mode) {
    if (::fchown(fd, attrs.uid, attrs.gid) != 0) throw_errno("chown " + path);
    if (::fchmod(fd, attrs.mode.value_or(default_mode)) != 0) throw_errno("chmod " + path);
}

}  // namespace

void write_file_in_root(int root_fd, const std::string& path, const std::string& content, const CopyAttrs& attrs,
                        mode_t default_mode) {
    UniqueFd out = create_in_root(root_fd, path, attrs);
    fs::write_all(out.get(), content.data(), content.size(), path);
    finish_file(out.get(), path, attrs, default_mode);
}

void copy_fd_in_root(int root_fd, const std::string& path, int src_fd, const CopyAttrs& attrs, mode_t default_mode,
                     int64_t mtime) {
    UniqueFd out = create_in_root(root_fd, path, attrs);
    if (::lseek(src_fd, 0, SEEK_SET) != 0) throw_errno("rewind the source of " + path);
    copy_bytes(src_fd, out.get(), path);
    finish_file(out.get(), path, attrs, default_mode);
    if (mtime > 0) {
        timespec ts[2] = {{static_cast<time_t>(mtime), 0}, {static_cast<time_t>(mtime), 0}};
        ::futimens(out.get(), ts);
    }
}

bool is_tar_archive(int fd) {
    // Docker's rule: an archive is a tar stream, compressed or not. Read the first
    // header through libarchive's decompressors; anything else (a gzipped text file,
    // a zip) is copied as it is.
    struct archive* a = archive_read_new();
    archive_read_support_filter_all(a);
    archive_read_support_format_tar(a);
    archive_entry* e = nullptr;
    bool tar = ::lseek(fd, 0, SEEK_SET) == 0 && archive_read_open_fd(a, fd, 1 << 16) == ARCHIVE_OK &&
               archive_read_next_header(a, &e) == ARCHIVE_OK;
    archive_read_free(a);
    if (::lseek(fd, 0, SEEK_SET) != 0) throw_errno("rewind an ADD source");
    return tar;
}

bool needs_libarchive_filter(int fd) {
    unsigned char magic[6] = {};
    ssize_t n = ::pread(fd, magic, sizeof magic, 0);
    bool xz = n == 6 && std::memcmp(magic, "\xfd" "7zXZ\0", 6) == 0;
    bool bzip2 = n >= 3 && magic[0] == 'B' && magic[1] == 'Z' && magic[2] == 'h';
    return xz || bzip2;
}

void decompress_to(int fd, int out_fd, const std::string& what) {
    struct archive* a = archive_read_new();
    archive_read_support_filter_all(a);
    archive_read_support_format_raw(a);
    archive_entry* e = nullptr;
    auto fail = [&](const std::string& why) {
        std::string msg = what + ": " + why + (archive_error_string(a) ? std::string(": ") + archive_error_string(a) : "");
        archive_read_free(a);
        throw Error(msg);
    };
    if (::lseek(fd, 0, SEEK_SET) != 0) throw_errno("rewind " + what);
    if (archive_read_open_fd(a, fd, 1 << 16) != ARCHIVE_OK || archive_read_next_header(a, &e) != ARCHIVE_OK)
        fail("cannot decompress");
    char buf[1 << 16];
    for (la_ssize_t n; (n = archive_read_data(a, buf, sizeof buf)) != 0;) {
        if (n < 0) fail("corrupt compressed data");
        fs::write_all(out_fd, buf, static_cast<size_t>(n), what);
    }
    archive_read_free(a);
}

}  // namespace minirun::imgbuild
