#include "minirun/common/error.hpp"

#include <cerrno>
#include <cstring>

namespace minirun {

std::string errno_message(const std::string& what, int err) {
    std::string msg = std::strerror(err);
    if (!msg.empty()) msg[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(msg[0])));
    return what + ": " + msg;
}

void throw_errno(const std::string& what) { throw_errno(what, errno); }

void throw_errno(const std::string& what, int err) { throw Error(errno_message(what, err)); }

}  // namespace minirun
