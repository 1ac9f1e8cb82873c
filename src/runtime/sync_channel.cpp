#include "sync_channel.hpp"

#include <sys/socket.h>

#include <cerrno>

#include "minirun/common/error.hpp"

namespace minirun::runtime {

bool SyncChannel::send(std::string_view msg) const {
    for (;;) {
        ssize_t n = ::send(fd, msg.data(), msg.size(), MSG_NOSIGNAL);
        if (n >= 0) return true;
        if (errno != EINTR) return false;
    }
}

std::optional<std::string> SyncChannel::recv() const {
    char buf[8192];
    for (;;) {
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n > 0) return std::string(buf, static_cast<size_t>(n));
        if (n == 0) return std::nullopt;
        if (errno == EINTR) continue;
        if (errno == ECONNRESET) return std::nullopt;
        throw_errno("read from container process");
    }
}

}  // namespace minirun::runtime
