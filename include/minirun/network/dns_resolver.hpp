#pragma once
// The embedded DNS resolver of a user-defined network (Docker's 127.0.0.11), without a
// daemon: one small process per network (minirun-dns), started by the connect of its
// first container and gone once the last one has left. It holds a UDP and a TCP socket
// bound to 127.0.0.11:53 inside each member's network namespace (a socket keeps the
// namespace it was made in), answers the members' names, aliases and short ids (A, and
// PTR for their addresses) from the network's state file, and forwards every other name
// from the host's namespace to the container's --dns servers or the host's nameservers.
//
// Coordination, all under the networks directory's .lock:
//   - it listens on an abstract unix socket named after the state directory and network,
//     so at most one runs per network and a crashed one leaves nothing behind;
//   - ensure_resolver (after a connect) asks it to reload and waits for its "ok", so the
//     new container's sockets exist before the container starts: no early query is lost;
//     with none listening it starts one and waits for it to be ready;
//   - it follows the state file with inotify (members leaving close their sockets) and
//     exits only while holding .lock with no member left, so a concurrent connect either
//     sees it listening or starts a new one.
#include <filesystem>
#include <string>

namespace minirun::network {

// Makes the network's resolver listen in every member's namespace, starting `exe`
// (minirun-dns) when none runs. Warns, without throwing, when it cannot: /etc/hosts
// still names the peers.
void ensure_resolver(const std::filesystem::path& state_dir, const std::string& network, const std::filesystem::path& exe);

// minirun-dns's main loop: writes "ok" to ready_fd (then closes it) once listening, and
// returns 0 when the network has no members left (or is gone).
int run_resolver(const std::filesystem::path& state_dir, const std::string& network, int ready_fd);

}  // namespace minirun::network
