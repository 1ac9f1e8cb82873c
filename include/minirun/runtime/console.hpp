#pragma once
// Terminals: a pty whose master goes to the caller's console socket (SCM_RIGHTS), the
// slave becoming the container process's controlling terminal and stdio.
#include <string>

#include "minirun/runtime/spec.hpp"

namespace minirun::runtime {

// Connects to the unix socket at `path`; returns the fd (CLOEXEC).
int connect_console_socket(const std::string& path);
// In the container, after pivot_root: opens /dev/ptmx, sends the master over
// `socket_fd` (or keeps it when socket_fd < 0 and returns it), and makes the slave
// the controlling terminal on fds 0-2. Returns the master fd when kept, else -1.
int setup_console(int socket_fd, const std::optional<ConsoleSize>& size);
// Sends an fd with SCM_RIGHTS; `name` travels as the payload (runc sends the pty name).
void send_fd(int socket_fd, int fd, const std::string& name);
int receive_fd(int socket_fd);

}  // namespace minirun::runtime
