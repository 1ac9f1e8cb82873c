#include "minirun/runtime/hooks.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include <nlohmann/json.hpp>

#include "minirun/common/error.hpp"
#include "minirun/common/process.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/common/log.hpp"

namespace minirun::runtime {

namespace {

void run_hook(const Hook& h, const std::string& phase, const std::string& state) {
    int in[2];
    if (::pipe2(in, O_CLOEXEC) != 0) throw_errno("pipe");
    fs::UniqueFd rd(in[0]), wr(in[1]);
    std::vector<std::string> args = h.args.empty() ? std::vector<std::string>{h.path} : h.args;
    auto argv = to_exec_array(args);
    auto envp = to_exec_array(h.env);
    pid_t pid = ::fork();
    if (pid < 0) throw_errno("fork for " + phase + " hook");
    if (pid == 0) {
        ::dup2(rd.get(), 0);
        ::execve(h.path.c_str(), argv.data(), envp.data());
        ::_exit(127);
    }
    rd.reset();
    ::signal(SIGPIPE, SIG_IGN);
    fs::write_all(wr.get(), state.data(), state.size(), "hook stdin");
    wr.reset();
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(h.timeout.value_or(0));
    int status = 0;
    for (;;) {
        pid_t r = ::waitpid(pid, &status, h.timeout ? WNOHANG : 0);
        if (r == pid) break;
        if (r < 0 && errno != EINTR) throw_errno("wait for " + phase + " hook");
        if (h.timeout && std::chrono::steady_clock::now() >= deadline) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            throw Error(phase + " hook " + h.path + ": timed out after " + std::to_string(*h.timeout) + "s");
        }
        if (h.timeout) ::usleep(10000);
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
    throw Error(phase + " hook " + h.path + ": " +
                (WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                                   : "killed by signal " + std::to_string(WTERMSIG(status))));
}

}  // namespace

void run_hooks(const std::vector<Hook>& hooks, const std::string& phase, const std::string& state_json) {
    for (auto& h : hooks) run_hook(h, phase, state_json);
}

std::string state_with_status(const std::string& state_json, const std::string& status) {
    nlohmann::json j = nlohmann::json::parse(state_json, nullptr, false);
    if (!j.is_object()) return state_json;
    j["status"] = status;
    return j.dump();
}

size_t run_hooks_warning_only(const std::vector<Hook>& hooks, const std::string& phase, const std::string& state_json) {
    size_t failed = 0;
    for (auto& h : hooks) {
        try {
            run_hook(h, phase, state_json);
        } catch (const Error& e) {
            log::warn(e.what());
            ++failed;
        }
    }
    return failed;
}

}  // namespace minirun::runtime
