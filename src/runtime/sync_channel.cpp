#include "sync_channel.hpp"

#include <sys/socket.h>

#include <cerrno>

namespace minirun::runtime {

namespace {
// State JSON with annotations and error texts both fit; a longer error message is cut.
constexpr size_t kMaxMessage = 64 * 1024;
}  // namespace

bool SyncChannel::send(SyncType type, std::string_view payload) const {
    std::string msg(1, static_cast<char>(type));
    msg.append(payload.substr(0, kMaxMessage - 1));
    for (;;) {
        ssize_t n = ::send(fd, msg.data(), msg.size(), MSG_NOSIGNAL);
        if (n >= 0) return true;
        if (errno != EINTR) return false;
    }
}

bool SyncChannel::send_error(const ErrorRecord& r) const {
    ErrorRecord cut = r;
    if (cut.message.size() > kMaxMessage / 2) cut.message.resize(kMaxMessage / 2);
    return send(SyncType::Failed, encode_error_record(cut));
}

std::optional<SyncMessage> SyncChannel::recv() const {
    // Most messages are a few bytes: read into the stack, and only a longer one (state JSON
    // for hooks, a long error) into a buffer of its exact size, found with MSG_PEEK|MSG_TRUNC.
    // A zeroed 64 KiB buffer per message cost every `run` 60+ KiB of resident memory.
    char small[4096];
    for (;;) {
        ssize_t len = ::recv(fd, small, sizeof small, MSG_PEEK | MSG_TRUNC);
        if (len < 0) {
            if (errno == EINTR) continue;
            if (errno == ECONNRESET) return std::nullopt;
            throw_errno("read from container process");
        }
        if (len == 0) {
            // EOF: every message has at least its type byte.
            return std::nullopt;
        }
        if (static_cast<size_t>(len) > kMaxMessage) throw Error("message from container process is too long");
        std::string big;
        char* buf = small;
        if (static_cast<size_t>(len) > sizeof small) {
            big.resize(static_cast<size_t>(len));
            buf = big.data();
        }
        ssize_t n = ::recv(fd, buf, static_cast<size_t>(len), 0);
        if (n < 0 && errno == EINTR) continue;  // the message is still queued
        if (n < 0) {
            if (errno == ECONNRESET) return std::nullopt;
            throw_errno("read from container process");
        }
        if (n == 0) return std::nullopt;
        auto type = static_cast<unsigned char>(buf[0]);
        if (type < static_cast<unsigned char>(SyncType::Go) || type > static_cast<unsigned char>(SyncType::Failed))
            throw Error("malformed message from container process (type " + std::to_string(type) + ")");
        return SyncMessage{static_cast<SyncType>(type), std::string(buf + 1, static_cast<size_t>(n - 1))};
    }
}

std::string SyncChannel::expect(SyncType type, std::string_view what) const {
    auto msg = recv();
    if (!msg) throw Error("peer went away while waiting for " + std::string(what), ErrorKind::Unavailable);
    if (msg->type == SyncType::Failed) throw failure_of(*msg).to_error();
    if (msg->type != type) throw Error("unexpected message while waiting for " + std::string(what));
    return std::move(msg->payload);
}

ErrorRecord failure_of(const SyncMessage& m) {
    if (auto r = decode_error_record(m.payload)) return *r;
    ErrorRecord r;
    r.message = "malformed error record from container process";
    return r;
}

}  // namespace minirun::runtime
