#pragma once
// Unix stream sockets by path: the address (sun_path holds 107 bytes) and a connect.
#include <sys/un.h>

#include <string>

namespace minirun {

// Throws Error naming `path` when it does not fit in sun_path.
sockaddr_un unix_address(const std::string& path);
// A connected SOCK_STREAM | SOCK_CLOEXEC socket, or -1 with errno.
int connect_unix(const std::string& path);

}  // namespace minirun
