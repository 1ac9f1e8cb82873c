#include "minirun/runtime/console.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>

#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"

namespace minirun::runtime {

int connect_console_socket(const std::string& path) {
    fs::UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!s) throw_errno("console socket");
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) throw Error("console socket path too long: " + path);
    std::memcpy(addr.sun_path, path.c_str(), path.size());
    if (::connect(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        throw_errno("connect to console socket " + path);
    return s.release();
}

void send_fd(int socket_fd, int fd, const std::string& name) {
    msghdr msg{};
    iovec iov{const_cast<char*>(name.c_str()), name.size() ? name.size() : 1};
    char dummy = 0;
    if (name.empty()) iov.iov_base = &dummy;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
    if (::sendmsg(socket_fd, &msg, MSG_NOSIGNAL) < 0) throw_errno("send terminal to console socket");
}

int receive_fd(int socket_fd) {
    msghdr msg{};
    char buf[4096];
    iovec iov{buf, sizeof buf};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    if (::recvmsg(socket_fd, &msg, MSG_CMSG_CLOEXEC) < 0) throw_errno("receive terminal");
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    if (!c || c->cmsg_type != SCM_RIGHTS) throw Error("receive terminal: no file descriptor in message");
    int fd;
    std::memcpy(&fd, CMSG_DATA(c), sizeof(int));
    return fd;
}

int setup_console(int socket_fd, const std::optional<ConsoleSize>& size) {
    fs::UniqueFd master(::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!master) throw_errno("open /dev/ptmx");
    if (::unlockpt(master.get()) != 0) throw_errno("unlockpt");
    char name[128];
    if (::ptsname_r(master.get(), name, sizeof name) != 0) throw_errno("ptsname");
    if (size && size->width && size->height) {
        winsize ws{static_cast<unsigned short>(size->height), static_cast<unsigned short>(size->width), 0, 0};
        ::ioctl(master.get(), TIOCSWINSZ, &ws);
    }
    if (::setsid() < 0) throw_errno("setsid");
    fs::UniqueFd slave(::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!slave) throw_errno(std::string("open ") + name);
    if (::ioctl(slave.get(), TIOCSCTTY, 0) != 0) throw_errno("set controlling terminal");
    for (int i = 0; i < 3; ++i)
        if (::dup2(slave.get(), i) < 0) throw_errno("dup terminal");
    if (socket_fd >= 0) {
        send_fd(socket_fd, master.get(), name);
        return -1;
    }
    return master.release();
}

}  // namespace minirun::runtime
