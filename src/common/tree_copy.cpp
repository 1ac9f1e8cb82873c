#include "minirun/common/tree_copy.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"

namespace minirun {

namespace {

// "/a/b/" → ("/a", "b"); "/" → ("/", "").
std::pair<std::string, std::string> split_last(std::string path) {
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    auto slash = path.rfind('/');
    if (slash == std::string::npos) return {".", path};
    return {slash == 0 ? "/" : path.substr(0, slash), path.substr(slash + 1)};
}

// A readable directory fd for an O_PATH one.
fs::UniqueFd src_fd_dir(const RootedPath& side, int path_fd) {
    fs::UniqueFd dir(::openat(path_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir) {
        int e = errno;
        throw Error(side.label + ": open directory: " + std::strerror(e), kind_of_errno(e), e);
    }
    return dir;
}

class Copier {
public:
    Copier(const RootedPath& src, const RootedPath& dst, const TreeCopyOptions& o) : src_(src), dst_(dst), o_(o) {}

    // Copies entry `name` of directory `from` (an fd, O_PATH is enough) as `to_name` in `to`.
    void entry(int from, const char* name, int to, const std::string& to_name, unsigned depth) {
        struct stat st {};
        if (::fstatat(from, name, &st, AT_SYMLINK_NOFOLLOW | (name[0] ? 0 : AT_EMPTY_PATH)) != 0)
            fail_src("stat " + std::string(name));
        if (S_ISDIR(st.st_mode)) {
            fs::UniqueFd dir(::openat(from, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            if (!dir) fail_src("open directory " + std::string(name));
            directory(dir.get(), st, to, to_name, depth);
        } else if (S_ISREG(st.st_mode)) {
            fs::UniqueFd file(::openat(from, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC));
            if (!file) fail_src("open " + std::string(name));
            regular(file.get(), st, to, to_name);
        } else if (S_ISLNK(st.st_mode)) {
            std::vector<char> target(static_cast<size_t>(st.st_size) + 2);
            ssize_t n = ::readlinkat(from, name, target.data(), target.size() - 1);
            if (n < 0) fail_src("read link " + std::string(name));
            target[static_cast<size_t>(n)] = '\0';
            replace_non_dir(to, to_name, [&] { return ::symlinkat(target.data(), to, to_name.c_str()); });
            metadata_at(to, to_name, st, true);
        } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode)) {
            replace_non_dir(to, to_name, [&] { return ::mknodat(to, to_name.c_str(), st.st_mode & ~07777u, st.st_rdev); });
            metadata_at(to, to_name, st, false);
        }
        // Sockets belong to a live process: skipped, as tar skips them.
    }

    void directory(int dir, const struct stat& st, int to, const std::string& to_name, unsigned depth) {
        if (depth > o_.max_depth)
            throw Error(src_.label + ": deeper than " + std::to_string(o_.max_depth) + " directories",
                        ErrorKind::InvalidArgument);
        if (::mkdirat(to, to_name.c_str(), 0700) != 0 && errno != EEXIST) fail_dst("create directory " + to_name);
        fs::UniqueFd out(::openat(to, to_name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!out) fail_dst(errno == ENOTDIR || errno == ELOOP ? "cannot copy a directory onto non-directory " + to_name
                                                             : "open directory " + to_name);
        contents(dir, out.get(), depth);
        metadata(out.get(), st);
    }

    void contents(int dir, int out, unsigned depth) {
        int dup = ::fcntl(dir, F_DUPFD_CLOEXEC, 0);
        if (dup < 0) fail_src("dup");
        DIR* d = ::fdopendir(dup);
        if (!d) {
            ::close(dup);
            fail_src("read directory");
        }
        std::vector<std::string> names;
        errno = 0;
        while (struct dirent* e = ::readdir(d)) {
            std::string n = e->d_name;
            if (n != "." && n != "..") names.push_back(std::move(n));
        }
        int read_errno = errno;
        ::closedir(d);
        if (read_errno) {
            errno = read_errno;
            fail_src("read directory");
        }
        for (auto& n : names) entry(dir, n.c_str(), out, n, depth + 1);
    }

    void regular(int file, const struct stat& st, int to, const std::string& to_name) {
        fs::UniqueFd out;
        replace_non_dir(to, to_name, [&] {
            out.reset(::openat(to, to_name.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
            return out ? 0 : -1;
        });
        std::vector<char> buf(1 << 17);
        for (;;) {
            ssize_t n = ::read(file, buf.data(), buf.size());
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) fail_src("read " + to_name);
            if (n == 0) break;
            fs::write_all(out.get(), buf.data(), static_cast<size_t>(n), dst_.label + ": " + to_name);
        }
        metadata(out.get(), st);
    }

    // Runs `create`; where a non-directory is in the way (EEXIST, or ELOOP from a symlink
    // an O_NOFOLLOW open met) it is removed and `create` runs again.
    template <class Create>
    void replace_non_dir(int to, const std::string& to_name, Create create) {
        if (create() == 0) return;
        if (errno != EEXIST && errno != ELOOP) fail_dst("create " + to_name);
        struct stat old {};
        if (::fstatat(to, to_name.c_str(), &old, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(old.st_mode)) {
            errno = EISDIR;
            fail_dst("cannot overwrite directory " + to_name + " with a non-directory");
        }
        if (::unlinkat(to, to_name.c_str(), 0) != 0 && errno != ENOENT) fail_dst("replace " + to_name);
        if (create() != 0) fail_dst("create " + to_name);
    }

    std::pair<uid_t, gid_t> owner(const struct stat& st) const {
        return o_.owner ? *o_.owner : std::pair<uid_t, gid_t>{st.st_uid, st.st_gid};
    }

    void metadata(int fd, const struct stat& st) {
        auto [uid, gid] = owner(st);
        if (::fchown(fd, uid, gid) != 0) fail_dst("chown");
        // After chown, which clears set-id bits.
        if (::fchmod(fd, st.st_mode & 07777) != 0) fail_dst("chmod");
        struct timespec times[2] = {st.st_atim, st.st_mtim};
        if (::futimens(fd, times) != 0) fail_dst("set times");
    }

    void metadata_at(int dir, const std::string& name, const struct stat& st, bool is_link) {
        auto [uid, gid] = owner(st);
        if (::fchownat(dir, name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) != 0) fail_dst("chown " + name);
        if (!is_link && ::fchmodat(dir, name.c_str(), st.st_mode & 07777, 0) != 0) fail_dst("chmod " + name);
        struct timespec times[2] = {st.st_atim, st.st_mtim};
        if (::utimensat(dir, name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) fail_dst("set times " + name);
    }

    [[noreturn]] void fail_src(const std::string& what) const { fail(src_, what); }
    [[noreturn]] void fail_dst(const std::string& what) const { fail(dst_, what); }
    [[noreturn]] static void fail(const RootedPath& side, const std::string& what, bool add_errno = true) {
        int e = errno;
        throw Error(side.label + ": " + what + (add_errno ? std::string(": ") + std::strerror(e) : ""), kind_of_errno(e), e);
    }

private:
    const RootedPath& src_;
    const RootedPath& dst_;
    const TreeCopyOptions& o_;
};

}  // namespace

void copy_tree(const RootedPath& src, const RootedPath& dst, const TreeCopyOptions& opts) {
    Copier copier(src, dst, opts);
    const bool contents_only = src.path.ends_with("/.") || src.path == ".";
    const bool src_slash = contents_only || src.path.ends_with('/');
    // The source: a symlink is copied as one unless -L, or a trailing "/" asks for its directory.
    std::string src_name = split_last(contents_only ? src.path.substr(0, src.path.size() - 1) : src.path).second;
    bool follow = opts.follow_source_link || src_slash || src_name.empty();
    fs::UniqueFd src_fd(fs::open_in_root(src.root_fd, src.path, O_PATH | (follow ? 0 : O_NOFOLLOW)));
    if (!src_fd && errno == ENOENT) Copier::fail(src, "no such file or directory", false);
    if (!src_fd && errno == ENOTDIR) Copier::fail(src, "not a directory", false);
    if (!src_fd) Copier::fail(src, "open");
    struct stat sst {};
    if (::fstat(src_fd.get(), &sst) != 0) Copier::fail(src, "stat");
    const bool src_dir = S_ISDIR(sst.st_mode);
    if (src_slash && !src_dir) {
        errno = ENOTDIR;
        Copier::fail(src, "not a directory", false);
    }
    if (src_name.empty() || src_name == "." || src_name == "..") src_name = "root";

    // Copies the source as `name` inside directory `to`.
    auto copy_as = [&](int to, const std::string& name) {
        if (name.empty() || name == "." || name == "..")
            throw Error(dst.label + ": invalid destination name", ErrorKind::InvalidArgument);
        if (src_dir) {
            copier.directory(src_fd_dir(src, src_fd.get()).get(), sst, to, name, 0);
        } else if (S_ISREG(sst.st_mode)) {
            // Reopened through our own fd (the O_PATH one cannot be read).
            fs::UniqueFd file(::open(("/proc/self/fd/" + std::to_string(src_fd.get())).c_str(), O_RDONLY | O_CLOEXEC));
            if (!file) Copier::fail(src, "open");
            copier.regular(file.get(), sst, to, name);
        } else {
            copier.entry(src_fd.get(), "", to, name, 0);
        }
    };

    fs::UniqueFd dst_fd(fs::open_in_root(dst.root_fd, dst.path, O_PATH));
    if (!dst_fd && errno != ENOENT) Copier::fail(dst, "open");
    struct stat dst_st {};
    if (dst_fd && ::fstat(dst_fd.get(), &dst_st) != 0) Copier::fail(dst, "stat");
    if (dst_fd && S_ISDIR(dst_st.st_mode)) {
        fs::UniqueFd dir(::openat(dst_fd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!dir) Copier::fail(dst, "open directory");
        if (src_dir && contents_only) {
            copier.contents(src_fd_dir(src, src_fd.get()).get(), dir.get(), 0);
            copier.metadata(dir.get(), sst);
        } else {
            copy_as(dir.get(), src_name);
        }
        return;
    }
    if (dst_fd && src_dir) {
        errno = ENOTDIR;
        Copier::fail(dst, "cannot copy a directory to a file", false);
    }
    if (!dst_fd && !src_dir && dst.path.ends_with('/')) {
        errno = ENOENT;
        Copier::fail(dst, "destination directory does not exist", false);
    }
    auto [dst_parent, dst_name] = split_last(dst.path);
    fs::UniqueFd parent(fs::open_in_root(dst.root_fd, dst_parent, O_RDONLY | O_DIRECTORY));
    if (!parent && errno == ENOENT) Copier::fail(dst, "no such directory " + dst_parent, false);
    if (!parent) Copier::fail(dst, "open " + dst_parent);
    copy_as(parent.get(), dst_name);
}

}  // namespace minirun
