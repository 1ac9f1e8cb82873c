#include "minirun/common/error.hpp"

#include <cctype>
#include <cerrno>
#include <cstring>

namespace minirun {

std::string_view error_kind_name(ErrorKind kind) {
    switch (kind) {
        case ErrorKind::NotFound: return "not found";
        case ErrorKind::Conflict: return "conflict";
        case ErrorKind::InvalidArgument: return "invalid argument";
        case ErrorKind::Unavailable: return "unavailable";
        case ErrorKind::PermissionDenied: return "permission denied";
        case ErrorKind::Internal: break;
    }
    return "internal";
}

ErrorKind kind_of_errno(int err) {
    switch (err) {
        case ENOENT:
        case ESRCH:
        case ENXIO: return ErrorKind::NotFound;
        case EEXIST:
        case EBUSY:
        case ENOTEMPTY: return ErrorKind::Conflict;
        case EINVAL:
        case ENAMETOOLONG:
        case ELOOP:
        case ENOTDIR:
        case EISDIR: return ErrorKind::InvalidArgument;
        case EACCES:
        case EPERM:
        case EROFS: return ErrorKind::PermissionDenied;
        case ECONNREFUSED:
        case ECONNRESET:
        case EPIPE:
        case ETIMEDOUT:
        case EHOSTUNREACH:
        case ENETUNREACH: return ErrorKind::Unavailable;
        default: return ErrorKind::Internal;
    }
}

std::string errno_message(const std::string& what, int err) {
    std::string msg = std::strerror(err);
    if (!msg.empty()) msg[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(msg[0])));
    return what + ": " + msg;
}

Error errno_error(const std::string& what, int err) { return Error(errno_message(what, err), kind_of_errno(err), err); }

void throw_errno(const std::string& what) { throw_errno(what, errno); }

void throw_errno(const std::string& what, int err) { throw errno_error(what, err); }

Error wrap_error(const Error& e, const std::string& context) {
    return Error(context + ": " + e.what(), e.kind(), e.sys_errno());
}

ErrorRecord ErrorRecord::of(const std::exception& e, int status) {
    ErrorRecord r;
    r.status = status;
    r.message = e.what();
    if (auto* err = dynamic_cast<const Error*>(&e)) {
        r.kind = err->kind();
        r.sys_errno = err->sys_errno();
    }
    return r;
}

namespace {

constexpr std::string_view kMagic = "MRER";
constexpr size_t kHeader = 4 + 1 + 4 + 4 + 4;

void put_u32(std::string& out, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::uint32_t get_u32(std::string_view in, size_t at) {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(static_cast<unsigned char>(in[at + i])) << (8 * i);
    return v;
}

}  // namespace

std::string encode_error_record(const ErrorRecord& r) {
    std::string out(kMagic);
    out.push_back(static_cast<char>(r.kind));
    put_u32(out, static_cast<std::uint32_t>(r.sys_errno));
    put_u32(out, static_cast<std::uint32_t>(r.status));
    put_u32(out, static_cast<std::uint32_t>(r.message.size()));
    out += r.message;
    return out;
}

std::optional<ErrorRecord> decode_error_record(std::string_view bytes) {
    if (bytes.size() < kHeader || bytes.substr(0, 4) != kMagic) return std::nullopt;
    auto kind = static_cast<unsigned char>(bytes[4]);
    if (kind > static_cast<unsigned char>(ErrorKind::PermissionDenied)) return std::nullopt;
    std::uint32_t length = get_u32(bytes, 13);
    if (bytes.size() - kHeader != length) return std::nullopt;
    ErrorRecord r;
    r.kind = static_cast<ErrorKind>(kind);
    r.sys_errno = static_cast<std::int32_t>(get_u32(bytes, 5));
    r.status = static_cast<std::int32_t>(get_u32(bytes, 9));
    r.message.assign(bytes.substr(kHeader));
    return r;
}

}  // namespace minirun
