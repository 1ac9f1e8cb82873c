#pragma once
// The runtime's verbs: an OCI bundle in, a container out. Used by the runc-compatible
// CLI (minirun-oci) and, in-process, by `minirun run` and imgbuild's RUN steps.
#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "minirun/common/error.hpp"
#include "minirun/runtime/spec.hpp"
#include "minirun/runtime/state.hpp"

namespace minirun::runtime {

// The container's init (or an exec'd process) failed before exec; `status` is its exit status (127 when the
// executable is missing, 126 when it cannot be executed, 1 otherwise).
class InitError : public Error {
public:
    // The record the process sent, with `status` its exit status as reaped.
    InitError(const ErrorRecord& r, int status) : Error(r.message, r.kind, r.sys_errno), status(status) {}
    int status;
};

struct CreateOptions {
    std::string id;
    std::string bundle = ".";
    std::string pid_file;
    std::string console_socket;
    bool no_pivot = false;
    bool no_new_keyring = false;
    int preserve_fds = 0;
    // For callers that supervise the container themselves: stdio for the init process.
    int stdin_fd = -1, stdout_fd = -1, stderr_fd = -1;
};

struct ExecOptions {
    std::string id;
    std::string process_file;          // --process
    std::vector<std::string> args;     // otherwise: args, with the overrides below
    std::vector<std::string> env;
    std::string cwd;
    std::string user;                  // uid[:gid]
    std::optional<std::vector<unsigned>> additional_gids;  // with `user`: its groups (else none)
    std::vector<std::string> caps;
    bool tty = false;
    bool detach = false;
    bool no_new_privs = false;
    std::string pid_file;
    std::string console_socket;
    int preserve_fds = 0;
};

// An init started by create_and_start: the caller is its parent and reaps it.
struct StartedContainer {
    pid_t pid = 0;
    // Set when the init failed on its way to exec; `status` is its exit status (126/127
    // as a shell would report when the process could not be executed or found).
    std::optional<ErrorRecord> exec_failure;
};

class Runtime {
public:
    explicit Runtime(std::string state_root);

    // Creates the container and returns once it waits for `start`; returns the init pid.
    pid_t create(const CreateOptions& opts);
    void start(const std::string& id);
    // create + start; waits for the exit unless detached. Returns the exit status
    // (128+signal when killed), or 0 when detached.
    int run(const CreateOptions& opts, bool detach);
    // create + start for in-process callers that supervise the init themselves.
    StartedContainer create_and_start(const CreateOptions& opts);
    ContainerState state(const std::string& id) const;
    void kill(const std::string& id, int signal, bool all);
    void remove(const std::string& id, bool force);
    int exec(const ExecOptions& opts);
    std::vector<ContainerState> list() const;
    std::vector<pid_t> processes(const std::string& id) const;
    void pause(const std::string& id);
    void resume(const std::string& id);
    void update(const std::string& id, const Resources& r);

    const StateStore& store() const { return store_; }

private:
    // start for a loaded "created" state; the poststart hooks when the caller has them.
    void start_created(ContainerState s, const std::optional<Hooks>& hooks);

    StateStore store_;
};

// Waits for a child, returning its status as a shell would (128+signal when killed).
int wait_status(pid_t pid);
// Signal names and numbers: "KILL", "SIGKILL", "9" → 9; throws on unknown ones.
int parse_signal(const std::string& text);
// The JSON `features` prints.
std::string features_json();

}  // namespace minirun::runtime
