#pragma once
// Errors that keep their cause (after crun's libcrun_error_t): a kind callers decide on,
// the errno of the failed system call when there was one, and a message that grows a
// chain of context as it travels up ("create container web: mount /proc: permission
// denied"). what() is the one line the user sees; no decision may depend on its wording.
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace minirun {

enum class ErrorKind : std::uint8_t {
    Internal = 0,         // anything else: a bug, an I/O failure
    NotFound = 1,         // no such container, image, file, executable
    Conflict = 2,         // already exists, in use, wrong state
    InvalidArgument = 3,  // bad input: flag, file, reference, config
    Unavailable = 4,      // a peer (registry, process) is gone or refused
    PermissionDenied = 5,
};

std::string_view error_kind_name(ErrorKind kind);

class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message, ErrorKind kind = ErrorKind::Internal, int sys_errno = 0)
        : std::runtime_error(message), kind_(kind), errno_(sys_errno) {}
    ErrorKind kind() const { return kind_; }
    // The errno of the system call that failed, or 0.
    int sys_errno() const { return errno_; }

private:
    ErrorKind kind_;
    int errno_;
};

// The kind a failed system call's errno implies (ENOENT → NotFound, EEXIST → Conflict…).
ErrorKind kind_of_errno(int err);

// "what: strerror(err)" — the form every failed syscall is reported in.
std::string errno_message(const std::string& what, int err);
[[noreturn]] void throw_errno(const std::string& what);
[[noreturn]] void throw_errno(const std::string& what, int err);
// An Error for a failed call, its kind taken from errno.
Error errno_error(const std::string& what, int err);

// Adds context in front of an error's message, keeping its kind and errno
// (crun_error_wrap): "context: message".
Error wrap_error(const Error& e, const std::string& context);

// An error as it crosses a process boundary (container init → runtime, supervisor →
// minirun): a fixed binary record, so the receiver decides on fields, not on text.
struct ErrorRecord {
    ErrorKind kind = ErrorKind::Internal;
    std::int32_t sys_errno = 0;
    std::int32_t status = 0;  // an exit status the receiver should report (0: none)
    std::string message;

    static ErrorRecord of(const std::exception& e, int status = 0);
    Error to_error() const { return Error(message, kind, sys_errno); }
};

// Wire form: "MRER" kind:u8 errno:i32 status:i32 length:u32 message (little endian).
std::string encode_error_record(const ErrorRecord& r);
// nullopt unless `bytes` is exactly one well-formed record.
std::optional<ErrorRecord> decode_error_record(std::string_view bytes);

}  // namespace minirun
