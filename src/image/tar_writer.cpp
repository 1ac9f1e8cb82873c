#include "minirun/image/tar_writer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"

namespace minirun::image {

namespace stdfs = std::filesystem;

namespace {

constexpr size_t kBlock = 512;

// An octal field, NUL-terminated; sizes past its range use GNU's base-256 form, which
// every tar reader since 2001 takes.
void put_number(char* field, size_t width, uint64_t value) {
    uint64_t octal_max = (1ull << (3 * (width - 1))) - 1;
    if (value <= octal_max) {
        std::snprintf(field, width, "%0*llo", static_cast<int>(width - 1), static_cast<unsigned long long>(value));
        return;
    }
    std::memset(field, 0, width);
    for (size_t i = width - 1; i > 0 && value; --i, value >>= 8) field[i] = static_cast<char>(value & 0xff);
    field[0] = static_cast<char>(0x80);
}

}  // namespace

TarWriter::TarWriter(int fd, std::string what) : fd_(fd), what_(std::move(what)) {}

void TarWriter::write(const void* p, size_t n) { fs::write_all(fd_, p, n, what_); }

void TarWriter::pad(uint64_t size) {
    static const std::array<char, kBlock> zeros{};
    if (size % kBlock) write(zeros.data(), kBlock - size % kBlock);
}

void TarWriter::header(const std::string& name, char type, unsigned mode, uint64_t size) {
    std::array<char, kBlock> h{};
    // ustar splits a long name at a slash into prefix (155) and name (100).
    std::string prefix, base = name;
    if (base.size() > 100) {
        auto slash = name.rfind('/', 155);
        if (slash == std::string::npos || name.size() - slash - 1 > 100 || slash == 0)
            throw Error("write " + what_ + ": member name too long for ustar: " + name, ErrorKind::InvalidArgument);
        prefix = name.substr(0, slash);
        base = name.substr(slash + 1);
    }
    std::memcpy(h.data(), base.data(), base.size());
    put_number(h.data() + 100, 8, mode & 07777);
    put_number(h.data() + 108, 8, 0);   // uid
    put_number(h.data() + 116, 8, 0);   // gid
    put_number(h.data() + 124, 12, size);
    put_number(h.data() + 136, 12, 0);  // mtime
    h[156] = type;
    std::memcpy(h.data() + 257, "ustar", 6);
    std::memcpy(h.data() + 263, "00", 2);
    std::memcpy(h.data() + 265, "root", 4);
    std::memcpy(h.data() + 297, "root", 4);
    std::memcpy(h.data() + 345, prefix.data(), prefix.size());
    // The checksum counts its own field as spaces.
    std::memset(h.data() + 148, ' ', 8);
    unsigned sum = 0;
    for (char c : h) sum += static_cast<unsigned char>(c);
    std::snprintf(h.data() + 148, 8, "%06o", sum);
    h[155] = ' ';
    write(h.data(), h.size());
}

void TarWriter::add_directory(const std::string& name) {
    header(name.ends_with('/') ? name : name + "/", '5', 0755, 0);
}

void TarWriter::add_bytes(const std::string& name, std::string_view bytes) {
    header(name, '0', 0644, bytes.size());
    write(bytes.data(), bytes.size());
    pad(bytes.size());
}

void TarWriter::add_file(const std::string& name, const stdfs::path& from) {
    fs::UniqueFd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC));
    if (!in) throw_errno("open " + from.string());
    struct stat st {};
    if (::fstat(in.get(), &st) != 0) throw_errno("stat " + from.string());
    uint64_t size = static_cast<uint64_t>(st.st_size), left = size;
    header(name, '0', 0644, size);
    std::vector<char> buf(1 << 16);
    while (left > 0) {
        ssize_t n = ::read(in.get(), buf.data(), std::min<uint64_t>(buf.size(), left));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_errno("read " + from.string());
        if (n == 0) throw Error("write " + what_ + ": " + from.string() + " shrank while it was read");
        write(buf.data(), static_cast<size_t>(n));
        left -= static_cast<uint64_t>(n);
    }
    pad(size);
}

void TarWriter::add_tree(const stdfs::path& dir) {
    std::vector<stdfs::path> paths;
    for (auto& e : stdfs::recursive_directory_iterator(dir)) paths.push_back(e.path());
    std::sort(paths.begin(), paths.end());
    for (auto& p : paths) {
        struct stat st {};
        if (::lstat(p.c_str(), &st) != 0) throw_errno("stat " + p.string());
        std::string name = stdfs::relative(p, dir).string();
        if (S_ISDIR(st.st_mode))
            add_directory(name);
        else if (S_ISREG(st.st_mode))
            add_file(name, p);
    }
}

void TarWriter::finish() {
    static const std::array<char, 2 * kBlock> end{};
    write(end.data(), end.size());
}

}  // namespace minirun::image
