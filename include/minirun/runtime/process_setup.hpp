#pragma once
// The last steps of a container process before execve: rlimits, identity,
// capabilities, no_new_privs, seccomp, fds, and finding the executable.
#include <cerrno>
#include <string>

#include "minirun/common/error.hpp"
#include "minirun/runtime/spec.hpp"

namespace minirun::runtime {

// The process could not be found or executed: its exit status is a shell's, 127 when
// the file does not exist (ENOENT), 126 when it cannot be executed.
class ExecError : public Error {
public:
    ExecError(const std::string& message, int err) : Error(message, kind_of_errno(err), err) {}
    int status() const { return sys_errno() == ENOENT ? 127 : 126; }
};

class SeccompFilter;

// Throws Error naming the limit, e.g. when it exceeds the hard limit we can raise.
void apply_rlimits(const std::vector<Rlimit>& limits);
// Becomes uid/gid 0 (in a user namespace just entered). Like apply_identity it calls the
// kernel directly: glibc's set*id wrappers signal every thread glibc knows of, and a
// child cloned from a multi-threaded runtime inherits that list without the threads, so
// the wrappers would wait for them forever.
void become_root();
// Switches uid/gids keeping the configured capabilities, sets no_new_privs and loads
// seccomp in the order that lets each step still succeed.
// With SeccompLoad::before_exec a filter that comes after no_new_privs is left for
// load_deferred_seccomp, the last step before execve: `create` switches identity before it
// reports ready (so what can fail fails there) but the init still waits for `start` and
// runs the startContainer hooks, which the container's filter must not see.
enum class SeccompLoad { now, before_exec };
void apply_identity(const Process& p, const SeccompFilter* filter, bool setgroups_allowed,
                    SeccompLoad when = SeccompLoad::now);
void load_deferred_seccomp(const Process& p, const SeccompFilter* filter);
// Marks every fd from `first_not_preserved` up close-on-exec (CVE-2024-21626).
void cloexec_fds_from(int first_not_preserved);
// Resolves args[0] with the PATH of the process env; throws ExecError (ENOENT) with the
// runc-style `exec: "x": executable file not found in $PATH`.
std::string find_executable(const Process& p);
// Creates a missing working directory, as Docker and runc do.
void make_cwd(const std::string& cwd);
// Checks that the working directory is inside the root (CVE-2024-21626) and enters it.
void enter_cwd(const std::string& cwd);
// Capability names → numbers; unknown names are skipped with a warning (as runc).
std::vector<int> capability_numbers(const std::vector<std::string>& names);
// All capability names this kernel knows, "CAP_CHOWN" …
std::vector<std::string> known_capabilities();

}  // namespace minirun::runtime
