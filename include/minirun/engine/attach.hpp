#pragma once
// `attach`, `start -a` and detach keys. A detached container's supervisor holds its stdio
// (the pty master, or its output pipes and, with -i, a stdin pipe) and serves them on a
// unix socket in the container's directory (attach.sock): each client gets the output as it
// comes (after the last 64 KiB when it asks for a replay, which `start -a` does so that
// nothing written before it connected is lost), and what clients send goes to the
// container's stdin. Frames both ways: a type byte, a 4-byte big-endian length, the bytes.
// The detach keys are the client's business: it stops relaying and leaves the container
// running.
#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "minirun/common/fs.hpp"

namespace minirun::engine {

class Engine;

namespace attach_frame {
inline constexpr char kStdout = 1, kStderr = 2, kExit = 3;                                // to clients
inline constexpr char kStdin = 10, kResize = 11, kReplay = 12, kSignal = 13, kStdinEof = 14;  // from clients
}  // namespace attach_frame

// The supervisor's side, one per run of the container.
class AttachHub {
public:
    // `input_fd`: the pty master or the stdin pipe's write end (-1: no input); `master`:
    // the pty master for window sizes (-1: none); `pid`: the container's init (signals).
    AttachHub(const std::string& socket_path, int input_fd, int master, pid_t pid);
    ~AttachHub();
    AttachHub(const AttachHub&) = delete;
    AttachHub& operator=(const AttachHub&) = delete;

    // The fds to poll for reading: the listener and every client.
    void poll_fds(std::vector<int>& out) const;
    // Called when one of those is readable.
    void readable(int fd);
    // Output of the container (stream: attach_frame::kStdout or kStderr).
    void output(char stream, const char* data, size_t n);
    // The container exited: every client gets its status and is let go.
    void finish(int status);
    // Serves until a client has connected and sent its first frame (its replay request),
    // or `timeout_ms` pass: a `run -it` client must not miss a short container's output
    // and status, however late it connects.
    void await_client(int timeout_ms);

private:
    struct Client {
        fs::UniqueFd fd;
        std::string in;  // a partial frame
    };
    void send(Client& c, char type, const char* data, size_t n);
    void handle_frames(Client& c);
    std::string path_;
    fs::UniqueFd listener_;
    int input_, master_;
    pid_t pid_;
    std::vector<Client> clients_;
    std::deque<std::pair<char, std::string>> ring_;  // the last output, for a replay
    size_t ring_bytes_ = 0;
    bool heard_ = false;  // a client's frame was handled
};

// The socket path of a container directory's hub.
std::string attach_socket_path(const std::string& container_dir);

// "ctrl-p,ctrl-q" (Docker's syntax: a letter, or ctrl- with a-z, @, [, \, ], ^ or _) → bytes.
// Throws Error(InvalidArgument) naming the text.
std::string parse_detach_keys(const std::string& text);

struct AttachOptions {
    std::string detach_keys = "ctrl-p,ctrl-q";
    bool stdin = true;      // --no-stdin: false
    bool sig_proxy = true;  // forward SIGINT/SIGTERM/… (not with a tty: those are keys)
    bool replay = false;    // start -a: from the last 64 KiB of output
    bool close_stdin_on_eof = false;  // start -ai: our stdin's end closes the container's (non-tty)
};

// Attaches this process's stdio to running container `name`. Returns its exit status, or
// -1 when the detach keys were typed (the container keeps running). Throws Error for a
// container that is not running or has no supervisor to attach to.
int attach_container(Engine& engine, const std::string& name, const AttachOptions& opts);

}  // namespace minirun::engine
