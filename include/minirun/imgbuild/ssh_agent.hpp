#pragma once
// SSH agent forwarding for builds, as BuildKit has it: `imgbuild build --ssh default` (the
// caller's $SSH_AUTH_SOCK), `--ssh ID=SOCKET` or `--ssh ID=KEY[,KEY…]` (private key files,
// loaded into an ssh-agent this build starts and stops), used by the RUN steps that ask
// with `RUN --mount=type=ssh[,id=ID][,target=…][,required][,mode,uid,gid]`. The step sees a
// socket of its own, owned and moded as asked, whose connections are relayed to the agent:
// the agent's own socket (and its directory's permissions) never enter the container, and
// the keys never leave the agent.
#include <sys/types.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "minirun/common/fs.hpp"

namespace minirun::imgbuild {

// The agents a build was given: id -> the socket of the agent serving it.
class SshAgents {
public:
    // `specs` as typed ("default", "ID=PATH[,PATH…]"); throws Error naming the flag.
    explicit SshAgents(const std::vector<std::string>& specs);
    ~SshAgents();
    SshAgents(const SshAgents&) = delete;
    SshAgents& operator=(const SshAgents&) = delete;
    // The agent socket for `id`, or nullptr when the build was not given it.
    const std::string* socket_for(const std::string& id) const;

private:
    void stop_agents();
    std::map<std::string, std::string> sockets_;
    std::vector<pid_t> agents_;         // ssh-agent processes started for key files
    std::filesystem::path agent_dir_;   // their sockets' directory (removed at the end)
};

// The options of one `RUN --mount=type=ssh,...` (already split into key=value).
struct SshMountSpec {
    std::string id = "default";
    std::string target;  // empty: /run/buildkit/ssh_agent.N
    bool required = false;
    mode_t mode = 0600;
    uid_t uid = 0;
    gid_t gid = 0;
};
// Throws std::invalid_argument on a bad value (the caller adds the file:line).
SshMountSpec parse_ssh_mount(const std::map<std::string, std::string>& kv);

// One step's socket: listens at path() (mode and owner as the mount asks) and relays each
// connection to the agent's socket until destroyed.
class SshRelay {
public:
    SshRelay(const std::string& agent_socket, const SshMountSpec& spec);
    ~SshRelay();
    SshRelay(const SshRelay&) = delete;
    SshRelay& operator=(const SshRelay&) = delete;
    const std::filesystem::path& path() const { return path_; }

private:
    void serve();
    std::string agent_;
    std::filesystem::path dir_, path_;
    fs::UniqueFd listener_, stop_;
    std::thread thread_;
};

}  // namespace minirun::imgbuild
