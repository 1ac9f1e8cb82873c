#pragma once
// Errors: one exception type whose message is the one-line text the user sees.
#include <stdexcept>
#include <string>

namespace minirun {

class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// "what: strerror(err)" — the form every failed syscall is reported in.
std::string errno_message(const std::string& what, int err);
[[noreturn]] void throw_errno(const std::string& what);
[[noreturn]] void throw_errno(const std::string& what, int err);

}  // namespace minirun
