// cgroupfs file helpers: one write() per value, since the kernel parses each write
// separately, and tolerant reads for stats.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <sstream>

#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/runtime/cgroups.hpp"
#include "minirun/common/strings.hpp"

namespace minirun::runtime::cgroupfs {

namespace {
std::string join(const std::string& dir, const std::string& file) { return dir + "/" + file; }

std::optional<uint64_t> parse_u64(const std::string& s) {
    if (s == "max") return UINT64_MAX;
    if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
    try {
        return std::stoull(s);
    } catch (const std::exception&) {
        return std::nullopt;
    }
}
}  // namespace

void write(const std::string& dir, const std::string& file, const std::string& value) {
    std::string path = join(dir, file);
    std::string what = "cgroup: write \"" + value + "\" to " + path;
    fs::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd) throw_errno(what);
    ssize_t n;
    do {
        n = ::write(fd.get(), value.data(), value.size());
    } while (n < 0 && errno == EINTR);
    if (n < 0) throw_errno(what);
    if (static_cast<size_t>(n) != value.size()) throw Error(what + ": short write");
}

bool exists(const std::string& dir, const std::string& file) {
    return !dir.empty() && ::access(join(dir, file).c_str(), F_OK) == 0;
}

std::optional<std::string> read(const std::string& dir, const std::string& file) {
    if (dir.empty()) return std::nullopt;
    try {
        return fs::read_file(join(dir, file), 1 << 20);
    } catch (const Error&) {
        return std::nullopt;
    }
}

std::optional<uint64_t> read_u64(const std::string& dir, const std::string& file) {
    auto text = read(dir, file);
    if (!text) return std::nullopt;
    return parse_u64(trim(*text));
}

std::optional<uint64_t> read_keyed(const std::string& dir, const std::string& file, const std::string& key) {
    auto text = read(dir, file);
    if (!text) return std::nullopt;
    std::istringstream in(*text);
    for (std::string line; std::getline(in, line);) {
        std::istringstream fields(line);
        std::string k, v;
        if (fields >> k >> v && k == key) return parse_u64(v);
    }
    return std::nullopt;
}

}  // namespace minirun::runtime::cgroupfs
