#pragma once
// File utilities: owned fds, atomic writes, locks, bounded reads.
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace minirun::fs {

namespace stdfs = std::filesystem;

// An owned file descriptor, closed on destruction.
class UniqueFd {
public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : fd_(fd) {}
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
    UniqueFd& operator=(UniqueFd&& o) noexcept;
    ~UniqueFd();
    int get() const { return fd_; }
    int release() { int f = fd_; fd_ = -1; return f; }
    explicit operator bool() const { return fd_ >= 0; }
    void reset(int fd = -1);

private:
    int fd_ = -1;
};

// A temp file next to its final name; commit() fsyncs it and renames it into
// place, otherwise the destructor removes it. Temp names start with ".tmp-" so
// a later run can sweep what a killed process left.
class TempFile {
public:
    explicit TempFile(const stdfs::path& dir, mode_t mode = 0644);
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    ~TempFile();
    int fd() const { return fd_.get(); }
    const stdfs::path& path() const { return path_; }
    void write(std::string_view data);
    void truncate(uint64_t size);
    // durable: fsync the data and the directory (skip for state that dies with the boot).
    void commit(const stdfs::path& final_path, bool durable = true);

private:
    UniqueFd fd_;
    stdfs::path path_;
    bool committed_ = false;
};

inline constexpr std::string_view kTempPrefix = ".tmp-";

void write_file_atomic(const stdfs::path& path, std::string_view data, mode_t mode = 0644, bool durable = true);
// Reads a whole file, refusing one larger than max_size (untrusted inputs).
std::string read_file(const stdfs::path& path, uint64_t max_size = 64ull << 20);
// openat2 with RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS: `path` is resolved as if `root_fd`
// were "/", so neither ".." nor symlinks can leave it; with no_xdev no mount under the root
// is crossed either. Returns the fd, or -1 with errno (EAGAIN after 16 tries: renames racing
// the lookup, which an untrusted writer could keep up forever).
int open_in_root(int root_fd, const std::string& path, uint64_t flags, mode_t mode = 0, bool no_xdev = false);
// Reads `path` as seen from inside `root` (symlinks cannot leave it: openat2 RESOLVE_IN_ROOT).
std::string read_file_in_root(const stdfs::path& root, const std::string& path, uint64_t max_size = 4ull << 20);
// The directory of the running executable: where its companion binaries (minirun-init,
// minirun-supervisor) are installed.
stdfs::path self_exe_dir();
void fsync_dir(const stdfs::path& dir);
void mkdir_p(const stdfs::path& dir, mode_t mode = 0755);
void write_all(int fd, const void* data, size_t size, const std::string& what);

// An exclusive flock held for the object's lifetime.
class FileLock {
public:
    explicit FileLock(const stdfs::path& lock_path);
    FileLock(const FileLock&) = delete;
    FileLock& operator=(const FileLock&) = delete;

private:
    UniqueFd fd_;
};

// A unique suffix for temp names: pid, time and a counter.
std::string unique_suffix();

}  // namespace minirun::fs
