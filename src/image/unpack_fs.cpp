#include "unpack_fs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <deque>
#include <memory>

#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"

namespace minirun::image::detail {

namespace {

constexpr int kMaxSymlinkHops = 40;  // the kernel's own limit

// Set once the kernel (or a seccomp filter) turns openat2 down.
std::atomic<bool> g_no_openat2{false};

std::deque<std::string> split(std::string_view path) {
    std::deque<std::string> out;
    size_t pos = 0;
    while (pos <= path.size()) {
        size_t end = path.find('/', pos);
        if (end == std::string_view::npos) end = path.size();
        if (end > pos) out.emplace_back(path.substr(pos, end - pos));
        pos = end + 1;
    }
    return out;
}

// A directory in the root; -errno on failure. NO_XDEV: nothing mounted under the root may be reached.
int sys_openat2(int root_fd, const std::string& rel, int flags) {
    int fd = fs::open_in_root(root_fd, rel.empty() ? "." : rel, static_cast<uint64_t>(flags | O_DIRECTORY), 0, true);
    return fd >= 0 ? fd : -errno;
}

// Target of the symlink opened as `fd` (O_PATH|O_NOFOLLOW); nullopt with errno set on failure.
std::optional<std::string> read_link(int fd) {
    std::string buf(4096, '\0');
    ssize_t n = ::readlinkat(fd, "", buf.data(), buf.size());
    if (n < 0) return std::nullopt;
    buf.resize(static_cast<size_t>(n));
    return buf;
}

// The same resolution as RESOLVE_IN_ROOT, done by hand: one O_NOFOLLOW open per component,
// symlink targets spliced into the remaining path, "/" and ".." clamped at the root.
int walk_in_root(int root_fd, const std::string& rel, int flags) {
    std::vector<fs::UniqueFd> stack;  // the directories walked through, below the root
    std::deque<std::string> todo = split(rel);
    int hops = 0;
    while (!todo.empty()) {
        std::string comp = std::move(todo.front());
        todo.pop_front();
        if (comp == ".") continue;
        if (comp == "..") {
            if (!stack.empty()) stack.pop_back();
            continue;
        }
        int cur = stack.empty() ? root_fd : stack.back().get();
        fs::UniqueFd fd(::openat(cur, comp.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
        struct stat st {};
        if (!fd || ::fstat(fd.get(), &st) != 0) return -errno;
        if (S_ISLNK(st.st_mode)) {
            if (++hops > kMaxSymlinkHops) return -ELOOP;
            auto target = read_link(fd.get());
            if (!target) return -errno;
            auto parts = split(*target);
            todo.insert(todo.begin(), parts.begin(), parts.end());
            if (target->starts_with('/')) stack.clear();
            continue;
        }
        if (!S_ISDIR(st.st_mode)) return -ENOTDIR;
        stack.push_back(std::move(fd));
    }
    int base = stack.empty() ? root_fd : stack.back().get();
    int fd = ::openat(base, ".", flags | O_DIRECTORY | O_CLOEXEC);
    return fd >= 0 ? fd : -errno;
}

void remove_tree(int dir_fd, const std::string& name) {
    int fd = ::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) throw_errno("open " + name);
    std::unique_ptr<DIR, int (*)(DIR*)> dir(::fdopendir(fd), &::closedir);
    if (!dir) {
        int err = errno;
        ::close(fd);
        throw_errno("open " + name, err);
    }
    // Names are collected first: unlinking while readdir runs may skip entries.
    std::vector<std::string> names;
    while (dirent* e = ::readdir(dir.get())) {
        std::string_view n = e->d_name;
        if (n != "." && n != "..") names.emplace_back(n);
    }
    for (const auto& n : names) remove_path(::dirfd(dir.get()), n);
    dir.reset();
    if (::unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR) != 0) throw_errno("remove " + name);
}

}  // namespace

std::optional<Components> clean_path(std::string_view name) {
    Components out;
    for (auto& comp : split(name)) {
        if (comp == ".") continue;
        if (comp != "..") {
            out.push_back(std::move(comp));
        } else if (out.empty()) {
            return std::nullopt;
        } else {
            out.pop_back();
        }
    }
    return out;
}

std::string join(const Components& comps, size_t count) {
    std::string out;
    for (size_t i = 0; i < count && i < comps.size(); ++i) {
        if (i) out += '/';
        out += comps[i];
    }
    return out;
}

int open_dir_in_root(int root_fd, const std::string& rel, int flags, bool allow_openat2) {
    if (allow_openat2 && !g_no_openat2.load(std::memory_order_relaxed)) {
        int fd = sys_openat2(root_fd, rel, flags);
        // ENOSYS: old kernel; EPERM: a seccomp filter that refuses it outright.
        if (fd != -ENOSYS && fd != -EPERM) return fd;
        g_no_openat2.store(true, std::memory_order_relaxed);
    }
    return walk_in_root(root_fd, rel, flags);
}

void remove_path(int dir_fd, const std::string& name) {
    if (::unlinkat(dir_fd, name.c_str(), 0) == 0 || errno == ENOENT) return;
    if (errno != EISDIR) throw_errno("remove " + name);
    remove_tree(dir_fd, name);
}

}  // namespace minirun::image::detail
