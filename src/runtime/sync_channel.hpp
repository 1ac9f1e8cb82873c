#pragma once
// Messages between the runtime and a container process it is setting up, over a
// SOCK_SEQPACKET socketpair (one message per send, EOF when the peer execs or dies).
#include <optional>
#include <string>
#include <string_view>

namespace minirun::runtime {

struct SyncChannel {
    int fd = -1;
    // Never raises SIGPIPE: a peer that went away is simply gone.
    bool send(std::string_view msg) const;
    // nullopt on EOF.
    std::optional<std::string> recv() const;
};

// "error:<text>" messages carry failures from the child.
inline constexpr std::string_view kErrorPrefix = "error:";

}  // namespace minirun::runtime
