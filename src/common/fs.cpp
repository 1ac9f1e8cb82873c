#include "minirun/common/fs.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>

#include "minirun/common/error.hpp"

namespace minirun::fs {

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
    if (this != &o) reset(o.release());
    return *this;
}

UniqueFd::~UniqueFd() { reset(); }

void UniqueFd::reset(int fd) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
}

std::string unique_suffix() {
    static std::atomic<unsigned> counter{0};
    auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    return std::to_string(::getpid()) + "-" + std::to_string(now) + "-" + std::to_string(counter++);
}

TempFile::TempFile(const stdfs::path& dir, mode_t mode) {
    path_ = dir / (std::string(kTempPrefix) + unique_suffix());
    fd_.reset(::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
    if (!fd_) throw_errno("create " + path_.string());
}

TempFile::~TempFile() {
    if (!committed_) ::unlink(path_.c_str());
}

void TempFile::write(std::string_view data) { write_all(fd_.get(), data.data(), data.size(), path_.string()); }

void TempFile::truncate(uint64_t size) {
    if (::ftruncate(fd_.get(), static_cast<off_t>(size)) != 0) throw_errno("truncate " + path_.string());
    if (::lseek(fd_.get(), static_cast<off_t>(size), SEEK_SET) < 0) throw_errno("seek " + path_.string());
}

void TempFile::commit(const stdfs::path& final_path, bool durable) {
    if (durable && ::fsync(fd_.get()) != 0) throw_errno("fsync " + path_.string());
    fd_.reset();
    if (::rename(path_.c_str(), final_path.c_str()) != 0) throw_errno("rename to " + final_path.string());
    committed_ = true;
    if (durable) fsync_dir(final_path.parent_path());
}

void write_all(int fd, const void* data, size_t size, const std::string& what) {
    auto* p = static_cast<const char*>(data);
    while (size > 0) {
        ssize_t n = ::write(fd, p, size);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("write " + what);
        }
        p += n;
        size -= static_cast<size_t>(n);
    }
}

void write_file_atomic(const stdfs::path& path, std::string_view data, mode_t mode, bool durable) {
    stdfs::path dir = path.parent_path().empty() ? stdfs::path(".") : path.parent_path();
    TempFile tmp(dir, mode);
    tmp.write(data);
    tmp.commit(path, durable);
}

std::string read_file(const stdfs::path& path, uint64_t max_size) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw_errno("open " + path.string());
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) throw_errno("stat " + path.string());
    if (static_cast<uint64_t>(st.st_size) > max_size)
        throw Error(path.string() + ": file too large (" + std::to_string(st.st_size) + " bytes, limit " +
                    std::to_string(max_size) + ")");
    std::string out;
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("read " + path.string());
        }
        if (n == 0) break;
        out.append(buf, static_cast<size_t>(n));
        if (out.size() > max_size) throw Error(path.string() + ": file too large");
    }
    return out;
}

int open_in_root(int root_fd, const std::string& path, uint64_t flags, mode_t mode, bool no_xdev) {
    open_how how{};
    how.flags = flags | O_CLOEXEC;
    how.mode = (flags & O_CREAT) ? mode : 0;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | (no_xdev ? RESOLVE_NO_XDEV : 0);
    for (int attempt = 0; attempt < 16; ++attempt) {
        long fd = ::syscall(SYS_openat2, root_fd, path.c_str(), &how, sizeof how);
        if (fd >= 0 || (errno != EAGAIN && errno != EINTR)) return static_cast<int>(fd);
    }
    errno = EAGAIN;
    return -1;
}

std::string read_file_in_root(const stdfs::path& root, const std::string& path, uint64_t max_size) {
    UniqueFd rootfd(::open(root.c_str(), O_DIRECTORY | O_PATH | O_CLOEXEC));
    if (!rootfd) throw_errno("open " + root.string());
    UniqueFd fd(open_in_root(rootfd.get(), path, O_RDONLY));
    if (!fd) throw_errno("open " + path + " in " + root.string());
    return read_file("/proc/self/fd/" + std::to_string(fd.get()), max_size);
}

stdfs::path self_exe_dir() {
    std::error_code ec;
    return stdfs::read_symlink("/proc/self/exe", ec).parent_path();
}

void fsync_dir(const stdfs::path& dir) {
    UniqueFd fd(::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) throw_errno("open " + dir.string());
    if (::fsync(fd.get()) != 0) throw_errno("fsync " + dir.string());
}

void mkdir_p(const stdfs::path& dir, mode_t mode) {
    std::error_code ec;
    stdfs::create_directories(dir, ec);
    if (ec) throw Error("create directory " + dir.string() + ": " + ec.message());
    (void)mode;
}

FileLock::FileLock(const stdfs::path& lock_path) {
    fd_.reset(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!fd_) throw_errno("open lock " + lock_path.string());
    while (::flock(fd_.get(), LOCK_EX) != 0) {
        if (errno != EINTR) throw_errno("lock " + lock_path.string());
    }
}

}  // namespace minirun::fs
