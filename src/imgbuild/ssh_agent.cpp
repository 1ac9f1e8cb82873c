// SSH agent forwarding for RUN --mount=type=ssh: the build's agents and one relay per step.
#include "minirun/imgbuild/ssh_agent.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <stdexcept>

#include "minirun/common/error.hpp"
#include "minirun/common/log.hpp"
#include "minirun/common/process.hpp"
#include "minirun/common/unix_socket.hpp"
#include "minirun/imgbuild/secrets.hpp"

namespace minirun::imgbuild {
namespace {

std::filesystem::path make_private_dir(const char* what) {
    // Short, under /tmp: a unix socket's path is limited to 107 bytes.
    std::string tmpl = "/tmp/imgbuild-ssh-XXXXXX";
    if (!::mkdtemp(tmpl.data())) throw_errno(std::string("create a directory for ") + what);
    return tmpl;
}

bool is_socket(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

// Starts `ssh-agent -D -a SOCKET` and waits until it accepts connections.
pid_t start_agent(const std::string& sock, const std::string& flag) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    std::vector<std::string> argv = {"ssh-agent", "-D", "-a", sock};
    auto args = to_exec_array(argv);
    pid_t pid = 0;
    int rc = ::posix_spawnp(&pid, "ssh-agent", &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        throw Error(flag + ": cannot start ssh-agent for the key files (" + std::strerror(rc) +
                    "; Debian's openssh-client has it)");
    for (int i = 0; i < 500; ++i) {
        fs::UniqueFd probe(connect_unix(sock));
        if (probe) return pid;
        int status = 0;
        if (::waitpid(pid, &status, WNOHANG) == pid) throw Error(flag + ": ssh-agent exited at start");
        ::usleep(10000);
    }
    ::kill(pid, SIGTERM);
    ::waitpid(pid, nullptr, 0);
    throw Error(flag + ": ssh-agent did not start listening in 5 s");
}

}  // namespace

SshAgents::SshAgents(const std::vector<std::string>& specs) {
    try {
        for (auto& spec : specs) {
            std::string flag = "--ssh " + spec;
            auto eq = spec.find('=');
            std::string id = spec.substr(0, eq);
            if (id.empty() || id.find_first_of("/,") != std::string::npos) throw Error(flag + ": needs ID or ID=PATH[,PATH…]");
            if (sockets_.count(id)) throw Error(flag + ": ssh id " + id + " given twice");
            std::vector<std::string> paths;
            if (eq != std::string::npos) {
                std::stringstream in(spec.substr(eq + 1));
                for (std::string p; std::getline(in, p, ',');)
                    if (!p.empty()) paths.push_back(p);
            }
            if (paths.empty()) {
                // Docker's rule: a bare ID (normally "default") means the caller's agent.
                const char* env = std::getenv("SSH_AUTH_SOCK");
                if (!env || !*env) throw Error(flag + ": SSH_AUTH_SOCK is not set (start an ssh-agent, or give ID=SOCKET or ID=KEYFILE)");
                paths.push_back(env);
            }
            if (paths.size() == 1 && is_socket(paths[0])) {
                sockets_[id] = paths[0];
                continue;
            }
            for (auto& p : paths) {
                struct stat st {};
                if (::stat(p.c_str(), &st) != 0) throw Error(flag + ": " + p + ": " + std::strerror(errno));
                if (!S_ISREG(st.st_mode)) throw Error(flag + ": " + p + " is neither an agent socket nor a key file");
            }
            // Key files: an agent of this build's own holds them, so RUN steps can sign with
            // them without ever reading them.
            if (agent_dir_.empty()) agent_dir_ = make_private_dir("ssh agents");
            std::string sock = (agent_dir_ / ("agent-" + std::to_string(agents_.size()))).string();
            agents_.push_back(start_agent(sock, flag));
            std::vector<std::string> add = {"ssh-add", "-q"};
            add.insert(add.end(), paths.begin(), paths.end());
            // No terminal prompt: a key with a passphrase fails here, clearly, instead of hanging.
            ProcessResult r = run_process(add, {}, {"SSH_AUTH_SOCK=" + sock, "SSH_ASKPASS_REQUIRE=never", "DISPLAY="});
            if (r.exit_code != 0) {
                std::string why = r.err.substr(0, r.err.find('\n'));
                throw Error(flag + ": ssh-add could not load the key" + (why.empty() ? "" : ": " + why));
            }
            sockets_[id] = sock;
        }
    } catch (...) {
        stop_agents();
        throw;
    }
}

SshAgents::~SshAgents() { stop_agents(); }

void SshAgents::stop_agents() {
    for (pid_t pid : agents_) {
        ::kill(pid, SIGTERM);
        while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
        }
    }
    agents_.clear();
    if (!agent_dir_.empty()) {
        std::error_code ec;
        std::filesystem::remove_all(agent_dir_, ec);
        agent_dir_.clear();
    }
}

const std::string* SshAgents::socket_for(const std::string& id) const {
    auto it = sockets_.find(id);
    return it == sockets_.end() ? nullptr : &it->second;
}

SshMountSpec parse_ssh_mount(const std::map<std::string, std::string>& kv) {
    SshMountSpec s;
    for (auto& [k, v] : kv) {
        if (k == "type") continue;
        if (k == "id") s.id = v;
        else if (k == "target" || k == "dst" || k == "destination") s.target = v;
        else if (k == "required") s.required = v.empty() || v == "true";
        else if (k == "mode") s.mode = static_cast<mode_t>(parse_mount_number(k, v, 8, 07777));
        else if (k == "uid") s.uid = static_cast<uid_t>(parse_mount_number(k, v, 10, 0xfffffffe));
        else if (k == "gid") s.gid = static_cast<gid_t>(parse_mount_number(k, v, 10, 0xfffffffe));
        else throw std::invalid_argument("unknown option " + k + " for type=ssh");
    }
    if (s.id.empty()) s.id = "default";
    return s;
}

SshRelay::SshRelay(const std::string& agent_socket, const SshMountSpec& spec) : agent_(agent_socket) {
    dir_ = make_private_dir("an ssh relay");
    path_ = dir_ / "agent.sock";
    try {
        listener_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
        if (!listener_) throw_errno("ssh relay socket");
        sockaddr_un addr = unix_address(path_.string());
        if (::bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) throw_errno("bind " + path_.string());
        if (::chown(path_.c_str(), spec.uid, spec.gid) != 0) throw_errno("chown " + path_.string());
        if (::chmod(path_.c_str(), spec.mode) != 0) throw_errno("chmod " + path_.string());
        if (::listen(listener_.get(), 16) != 0) throw_errno("listen " + path_.string());
        stop_.reset(::eventfd(0, EFD_CLOEXEC));
        if (!stop_) throw_errno("eventfd");
        thread_ = std::thread([this] { serve(); });
    } catch (...) {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
        throw;
    }
}

SshRelay::~SshRelay() {
    uint64_t one = 1;
    if (thread_.joinable()) {
        (void)!::write(stop_.get(), &one, sizeof one);
        thread_.join();
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
}

// One thread, poll over the listener and both ends of every connection; agent messages are
// small, so a blocking write of what one read returned is enough.
void SshRelay::serve() {
    struct Pair {
        fs::UniqueFd client, agent;
    };
    std::vector<Pair> pairs;
    std::vector<char> buf(64 * 1024);
    for (;;) {
        std::vector<pollfd> pfds = {{stop_.get(), POLLIN, 0}, {listener_.get(), POLLIN, 0}};
        for (auto& p : pairs) {
            pfds.push_back({p.client.get(), POLLIN, 0});
            pfds.push_back({p.agent.get(), POLLIN, 0});
        }
        if (::poll(pfds.data(), pfds.size(), -1) < 0) {
            if (errno == EINTR) continue;
            log::warn("ssh relay: poll: " + std::string(std::strerror(errno)));
            return;
        }
        if (pfds[0].revents) return;
        std::vector<bool> closed(pairs.size(), false);
        for (size_t i = 0; i < pairs.size(); ++i) {
            for (int side = 0; side < 2 && !closed[i]; ++side) {
                short ev = pfds[2 + 2 * i + static_cast<size_t>(side)].revents;
                if (!ev) continue;
                int from = side == 0 ? pairs[i].client.get() : pairs[i].agent.get();
                int to = side == 0 ? pairs[i].agent.get() : pairs[i].client.get();
                ssize_t n = ::read(from, buf.data(), buf.size());
                if (n < 0 && errno == EINTR) continue;
                if (n <= 0) {
                    closed[i] = true;
                    break;
                }
                try {
                    fs::write_all(to, buf.data(), static_cast<size_t>(n), "ssh relay");
                } catch (const std::exception&) {
                    closed[i] = true;
                }
            }
        }
        for (size_t i = pairs.size(); i-- > 0;)
            if (closed[i]) pairs.erase(pairs.begin() + static_cast<long>(i));
        if (pfds[1].revents & POLLIN) {
            fs::UniqueFd client(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
            if (!client) continue;
            fs::UniqueFd agent(connect_unix(agent_));
            if (!agent) {
                log::warn("ssh relay: cannot reach the agent at " + agent_ + ": " + std::strerror(errno));
                continue;  // the client sees its connection closed
            }
            pairs.push_back({std::move(client), std::move(agent)});
        }
    }
}

}  // namespace minirun::imgbuild
