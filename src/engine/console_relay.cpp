// Console socket, raw terminal and window size for run -it and exec -it.
#include "console_relay.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "minirun/common/error.hpp"
#include "minirun/runtime/console.hpp"

namespace minirun::engine {

ConsoleListener::ConsoleListener(const std::string& p) : path(p) {
    ::unlink(p.c_str());
    sock.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    if (p.size() >= sizeof a.sun_path) throw Error("console socket path too long: " + p);
    std::memcpy(a.sun_path, p.c_str(), p.size());
    if (!sock || ::bind(sock.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(sock.get(), 1) != 0)
        throw_errno("console socket " + p);
}

ConsoleListener::~ConsoleListener() { ::unlink(path.c_str()); }

int ConsoleListener::take_master(int stop_fd) {
    if (stop_fd >= 0) {
        pollfd p[2] = {{sock.get(), POLLIN, 0}, {stop_fd, POLLIN, 0}};
        while (::poll(p, 2, -1) < 0)
            if (errno != EINTR) throw_errno("wait for the console");
        if (!(p[0].revents & POLLIN)) return -1;
    }
    fs::UniqueFd c(::accept4(sock.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!c) throw_errno("accept console");
    return runtime::receive_fd(c.get());
}

RawTerminal::RawTerminal() {
    if (!::isatty(STDIN_FILENO) || ::tcgetattr(STDIN_FILENO, &saved) != 0) return;
    termios raw = saved;
    ::cfmakeraw(&raw);
    active = ::tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
}

RawTerminal::~RawTerminal() {
    if (active) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved);
}

std::string console_path(const std::string& dir, const std::string& name) {
    std::string p = dir + "/" + name;
    if (p.size() < 100) return p;
    return "/tmp/minirun-" + std::filesystem::path(dir).filename().string().substr(0, 16) + "-" + name;
}

void copy_window_size(int master) {
    winsize ws{};
    if (::ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0) ::ioctl(master, TIOCSWINSZ, &ws);
}

namespace {
volatile sig_atomic_t g_exec_resized = 0;
void on_exec_winch(int) { g_exec_resized = 1; }
}  // namespace

void relay_terminal(ConsoleListener& console, int stop_fd, bool forward_stdin) {
    fs::UniqueFd master;
    try {
        master.reset(console.take_master(stop_fd));
    } catch (const Error&) {
        return;  // the runtime reports why the process did not start
    }
    if (!master) return;
    RawTerminal raw;
    copy_window_size(master.get());
    struct sigaction sa {};
    sa.sa_handler = on_exec_winch;
    ::sigaction(SIGWINCH, &sa, nullptr);
    char buf[65536];
    auto drain = [&](int timeout_ms) {
        // What the process wrote before it exited is still in the pty: copy it out.
        pollfd p{master.get(), POLLIN, 0};
        while (::poll(&p, 1, timeout_ms) > 0) {
            ssize_t n = ::read(master.get(), buf, sizeof buf);
            if (n <= 0) return;
            (void)!::write(STDOUT_FILENO, buf, static_cast<size_t>(n));
        }
    };
    for (;;) {
        if (g_exec_resized) {
            g_exec_resized = 0;
            copy_window_size(master.get());
        }
        pollfd p[3] = {{master.get(), POLLIN, 0}, {stop_fd, POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
        int rc = ::poll(p, forward_stdin ? 3 : 2, 200);
        if (rc < 0 && errno != EINTR) return;
        if (rc <= 0) continue;
        if (p[0].revents) {
            ssize_t n = ::read(master.get(), buf, sizeof buf);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return;  // EIO: every slave fd is closed
            (void)!::write(STDOUT_FILENO, buf, static_cast<size_t>(n));
        }
        if (p[1].revents) {
            drain(50);
            return;
        }
        if (forward_stdin && p[2].revents) {
            ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
            if (n <= 0) forward_stdin = false;
            else (void)!::write(master.get(), buf, static_cast<size_t>(n));
        }
    }
}

}  // namespace minirun::engine
