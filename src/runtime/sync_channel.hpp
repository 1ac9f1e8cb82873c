#pragma once
// Messages between the runtime and a container process it is setting up, over a
// SOCK_SEQPACKET socketpair (one message per send, EOF when the peer execs or dies).
// Each message is a type byte and a payload; failures travel as ErrorRecords.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "minirun/common/error.hpp"

namespace minirun::runtime {

enum class SyncType : std::uint8_t {
    Go = 1,         // runtime → init: ids mapped, cgroup set; go on
    Hooks = 2,      // init → runtime: rootfs prepared, run prestart/createRuntime hooks
    HooksDone = 3,  // runtime → init: payload is the state JSON for createContainer hooks
    Ready = 4,      // init → runtime: everything before exec succeeded
    Failed = 5,     // either way: payload is an encoded ErrorRecord
};

struct SyncMessage {
    SyncType type;
    std::string payload;
};

struct SyncChannel {
    int fd = -1;
    // Never raises SIGPIPE: a peer that went away is simply gone (false).
    bool send(SyncType type, std::string_view payload = {}) const;
    bool send_error(const ErrorRecord& r) const;
    // nullopt on EOF; throws on a malformed message.
    std::optional<SyncMessage> recv() const;
    // Receives a message that must be `type` (an Error otherwise, naming `what`).
    std::string expect(SyncType type, std::string_view what) const;
};

// The ErrorRecord of a Failed message (a malformed one becomes an Internal record).
ErrorRecord failure_of(const SyncMessage& m);

}  // namespace minirun::runtime
