// attach.hpp: the supervisor's hub and the `attach` client.
#include "minirun/engine/attach.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "console_relay.hpp"
#include "minirun/common/error.hpp"
#include "minirun/common/log.hpp"
#include "minirun/common/unix_socket.hpp"
#include "minirun/engine/engine.hpp"
#include "minirun/engine/logs.hpp"

namespace minirun::engine {

namespace {

constexpr size_t kRingBytes = 64 * 1024;
constexpr uint32_t kMaxFrame = 1 << 20;

// Writes all of it, waiting at most `timeout_ms` for room each time: a client or a
// container that stops reading cannot stall the supervisor.
bool write_within(int fd, const char* data, size_t n, int timeout_ms) {
    while (n > 0) {
        ssize_t w = ::send(fd, data, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && errno == ENOTSOCK) w = ::write(fd, data, n);
        if (w > 0) {
            data += w;
            n -= static_cast<size_t>(w);
            continue;
        }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && errno != EAGAIN) return false;
        pollfd p{fd, POLLOUT, 0};
        if (::poll(&p, 1, timeout_ms) <= 0) return false;
    }
    return true;
}

std::string frame(char type, const char* data, size_t n) {
    std::string f(5 + n, '\0');
    f[0] = type;
    uint32_t len = static_cast<uint32_t>(n);
    for (int i = 0; i < 4; ++i) f[1 + static_cast<size_t>(i)] = static_cast<char>((len >> (24 - 8 * i)) & 0xff);
    if (n) std::memcpy(f.data() + 5, data, n);
    return f;
}

// Takes one complete frame off the front of `buf`; false while it is incomplete.
bool next_frame(std::string& buf, char& type, std::string& payload, bool& too_big) {
    too_big = false;
    if (buf.size() < 5) return false;
    uint32_t len = 0;
    for (int i = 1; i <= 4; ++i) len = len << 8 | static_cast<unsigned char>(buf[static_cast<size_t>(i)]);
    if (len > kMaxFrame) {
        too_big = true;
        return false;
    }
    if (buf.size() < 5 + len) return false;
    type = buf[0];
    payload = buf.substr(5, len);
    buf.erase(0, 5 + len);
    return true;
}

}  // namespace

std::string attach_socket_path(const std::string& container_dir) { return console_path(container_dir, "attach.sock"); }

AttachHub::AttachHub(const std::string& socket_path, int input_fd, int master, pid_t pid)
    : path_(socket_path), input_(input_fd), master_(master), pid_(pid) {
    ::unlink(path_.c_str());
    listener_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!listener_) throw_errno("attach socket");
    sockaddr_un a = unix_address(path_);
    if (::bind(listener_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw_errno("bind " + path_);
    ::chmod(path_.c_str(), 0600);  // the container's stdin is its owner's
    if (::listen(listener_.get(), 8) != 0) throw_errno("listen " + path_);
}

AttachHub::~AttachHub() { ::unlink(path_.c_str()); }

void AttachHub::poll_fds(std::vector<int>& out) const {
    out.push_back(listener_.get());
    for (auto& c : clients_) out.push_back(c.fd.get());
}

void AttachHub::readable(int fd) {
    if (fd == listener_.get()) {
        fs::UniqueFd c(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
        if (c) clients_.push_back({std::move(c), {}});
        return;
    }
    for (size_t i = 0; i < clients_.size(); ++i) {
        if (clients_[i].fd.get() != fd) continue;
        char buf[16384];
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
        if (n <= 0) {
            clients_.erase(clients_.begin() + static_cast<long>(i));
            return;
        }
        clients_[i].in.append(buf, static_cast<size_t>(n));
        handle_frames(clients_[i]);
        if (!clients_[i].fd) clients_.erase(clients_.begin() + static_cast<long>(i));
        return;
    }
}

void AttachHub::await_client(int timeout_ms) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    std::vector<int> fds;
    std::vector<pollfd> p;
    while (!heard_) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
        if (left <= 0) return;
        fds.clear();
        poll_fds(fds);
        p.clear();
        for (int fd : fds) p.push_back({fd, POLLIN, 0});
        if (::poll(p.data(), p.size(), static_cast<int>(left)) < 0 && errno != EINTR) return;
        for (auto& q : p)
            if (q.revents) readable(q.fd);
    }
}

void AttachHub::handle_frames(Client& c) {
    char type = 0;
    std::string payload;
    bool too_big = false;
    while (next_frame(c.in, type, payload, too_big)) {
        heard_ = true;
        if (type == attach_frame::kStdin && input_ >= 0) {
            if (!write_within(input_, payload.data(), payload.size(), 1000)) log::debug("attach: the container's stdin is full");
        } else if (type == attach_frame::kResize && master_ >= 0) {
            winsize ws{};
            unsigned rows = 0, cols = 0;
            if (std::sscanf(payload.c_str(), "%u %u", &rows, &cols) == 2 && rows < 10000 && cols < 10000) {
                ws.ws_row = static_cast<unsigned short>(rows);
                ws.ws_col = static_cast<unsigned short>(cols);
                ::ioctl(master_, TIOCSWINSZ, &ws);
            }
        } else if (type == attach_frame::kReplay) {
            for (auto& [stream, bytes] : ring_) send(c, stream, bytes.data(), bytes.size());
        } else if (type == attach_frame::kSignal) {
            int sig = std::atoi(payload.c_str());
            if (sig > 0 && sig < 65 && pid_ > 0) ::kill(pid_, sig);
        } else if (type == attach_frame::kStdinEof && input_ >= 0 && master_ < 0) {
            ::close(input_);  // start -ai: the container's stdin ends with ours
            input_ = -1;
        }
        if (!c.fd) return;
    }
    if (too_big) c.fd.reset();
}

void AttachHub::send(Client& c, char type, const char* data, size_t n) {
    if (!c.fd) return;
    std::string f = frame(type, data, n);
    if (!write_within(c.fd.get(), f.data(), f.size(), 2000)) c.fd.reset();  // a client that stopped reading
}

void AttachHub::output(char stream, const char* data, size_t n) {
    ring_.emplace_back(stream, std::string(data, n));
    ring_bytes_ += n;
    while (ring_bytes_ > kRingBytes && ring_.size() > 1) {
        ring_bytes_ -= ring_.front().second.size();
        ring_.pop_front();
    }
    for (auto& c : clients_) send(c, stream, data, n);
    for (size_t i = clients_.size(); i-- > 0;)
        if (!clients_[i].fd) clients_.erase(clients_.begin() + static_cast<long>(i));
}

void AttachHub::finish(int status) {
    std::string s = std::to_string(status);
    for (auto& c : clients_) send(c, attach_frame::kExit, s.data(), s.size());
    clients_.clear();
}

std::string parse_detach_keys(const std::string& text) {
    std::string out;
    size_t start = 0;
    auto bad = [&] {
        return Error("invalid detach keys \"" + text + "\": use a letter or ctrl-<a-z, @, [, \\, ], ^ or _>, comma-separated",
                     ErrorKind::InvalidArgument);
    };
    if (text.empty()) return out;  // none: detaching is off
    while (start <= text.size()) {
        size_t comma = text.find(',', start);
        std::string key = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        if (key.size() == 1 && std::isalpha(static_cast<unsigned char>(key[0]))) {
            out += key[0];
        } else if (key.size() == 6 && key.compare(0, 5, "ctrl-") == 0) {
            char k = key[5];
            if (k >= 'a' && k <= 'z') out += static_cast<char>(k - 'a' + 1);
            else if (k == '@') out += '\0';
            else if (k >= '[' && k <= '_') out += static_cast<char>(k - '[' + 27);
            else throw bad();
        } else {
            throw bad();
        }
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return out;
}

namespace {

volatile sig_atomic_t g_signal = 0, g_winch = 0;
void on_signal(int sig) { g_signal = sig; }
void on_winch(int) { g_winch = 1; }

void send_frame(int fd, char type, const std::string& payload) {
    std::string f = frame(type, payload.data(), payload.size());
    if (!write_within(fd, f.data(), f.size(), 5000)) throw Error("attach: the container's supervisor stopped reading");
}

void send_window_size(int sock) {
    winsize ws{};
    if (::ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
        send_frame(sock, attach_frame::kResize, std::to_string(ws.ws_row) + " " + std::to_string(ws.ws_col));
}

}  // namespace

int attach_container(Engine& engine, const std::string& name, const AttachOptions& opts) {
    std::string keys = parse_detach_keys(opts.detach_keys);
    ContainerRecord rec = engine.refresh(engine.containers().find(name));
    std::string dir = engine.containers().dir(rec.id).string();
    fs::UniqueFd sock;
    // Its hub, while one serves: a `run -it` hub stays for its client after the exit.
    if (rec.status == "running" || opts.replay) sock.reset(connect_unix(attach_socket_path(dir)));
    // `start -a` of a container that was done before the hub took us in: the output of
    // this run from its log, then its status.
    auto from_log = [&] {
        LogReadOptions lo;
        lo.since = rec.started_at;
        print_logs(dir + "/container.log", lo, nullptr, nullptr);
        return rec.exit_code;
    };
    if (!sock) {
        rec = engine.refresh(engine.containers().find(name));
        if (opts.replay && rec.status == "exited") return from_log();
        if (rec.status != "running")
            throw Error("you cannot attach to a stopped container, start it first: " + name, ErrorKind::InvalidArgument);
        throw Error("attach " + name + ": its supervisor does not serve attach (a foreground `run` holds its terminal)",
                    ErrorKind::InvalidArgument);
    }
    if (opts.replay) send_frame(sock.get(), attach_frame::kReplay, "");
    bool tty_in = rec.tty && opts.stdin && ::isatty(STDIN_FILENO);
    std::optional<RawTerminal> raw;
    struct sigaction sa {};
    if (tty_in) {
        raw.emplace();
        send_window_size(sock.get());
        sa.sa_handler = on_winch;
        ::sigaction(SIGWINCH, &sa, nullptr);
    }
    if (opts.sig_proxy && !rec.tty) {
        sa.sa_handler = on_signal;
        for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2}) ::sigaction(sig, &sa, nullptr);
    }
    bool stdin_open = opts.stdin && rec.interactive;
    bool got_output = false;
    std::string held;  // typed keys that may be the start of the detach sequence
    std::string in;
    char buf[65536];
    for (;;) {
        if (g_signal) {
            send_frame(sock.get(), attach_frame::kSignal, std::to_string(g_signal));
            g_signal = 0;
        }
        if (g_winch) {
            g_winch = 0;
            send_window_size(sock.get());
        }
        pollfd p[2] = {{sock.get(), POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
        if (::poll(p, stdin_open ? 2 : 1, -1) < 0) {
            if (errno == EINTR) continue;
            throw_errno("poll");
        }
        if (p[0].revents) {
            ssize_t n = ::read(sock.get(), buf, sizeof buf);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;  // the supervisor went without a status: read it below
            in.append(buf, static_cast<size_t>(n));
            char type = 0;
            std::string payload;
            bool too_big = false;
            while (next_frame(in, type, payload, too_big)) {
                if (type == attach_frame::kExit) return std::atoi(payload.c_str());
                got_output = true;
                int out = type == attach_frame::kStderr ? STDERR_FILENO : STDOUT_FILENO;
                fs::write_all(out, payload.data(), payload.size(), "attach output");
            }
            if (too_big) throw Error("attach " + name + ": a frame larger than 1 MiB");
        }
        if (stdin_open && p[1].revents) {
            ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                stdin_open = false;
                if (!held.empty()) send_frame(sock.get(), attach_frame::kStdin, held);
                held.clear();
                if (opts.close_stdin_on_eof) send_frame(sock.get(), attach_frame::kStdinEof, "");
                continue;
            }
            std::string pass;
            for (ssize_t i = 0; i < n; ++i) {
                char ch = buf[i];
                if (!keys.empty() && ch == keys[held.size()]) {
                    held += ch;
                    if (held.size() == keys.size()) {
                        if (!pass.empty()) send_frame(sock.get(), attach_frame::kStdin, pass);
                        return -1;  // detached: the container runs on
                    }
                    continue;
                }
                pass += held;
                held.clear();
                if (!keys.empty() && ch == keys[0]) held += ch;
                else pass += ch;
            }
            if (!pass.empty()) send_frame(sock.get(), attach_frame::kStdin, pass);
        }
    }
    raw.reset();
    // The supervisor closed without a status: killed, or done before it took us in (a
    // `start -a` of a short command). The record has the exit, the log the output.
    for (int i = 0; i < 50; ++i) {
        rec = engine.refresh(engine.containers().find(name));
        if (rec.status != "running") break;
        ::usleep(100000);
    }
    if (opts.replay && !got_output && rec.status == "exited") return from_log();
    return rec.exit_code;
}

}  // namespace minirun::engine
