#pragma once
// Running helper programs (credential helpers) with captured output.
#include <string>
#include <vector>

namespace minirun {

struct ProcessResult {
    int exit_code = -1;  // 128+signal when killed
    std::string out;
    std::string err;
};

// The PATH a process gets when its image or spec sets none (Docker's and runc's).
inline constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// A waitpid() status as a shell reports it: the exit code, or 128+signal.
int exit_status_of(int wait_status);

// A NULL-terminated char* array over `v` for exec*(); valid while `v` lives.
std::vector<char*> to_exec_array(const std::vector<std::string>& v);

// Runs argv[0] (searched in PATH) with `input` on stdin; output capped at 1 MiB each.
// `extra_env` ("NAME=VALUE") is added to (or replaces in) this process's environment.
ProcessResult run_process(const std::vector<std::string>& argv, const std::string& input = {},
                          const std::vector<std::string>& extra_env = {});

// This process's environment with `extra` ("NAME=VALUE") added or replacing.
std::vector<std::string> environment_with(const std::vector<std::string>& extra);

// For long-lived watchers once their setup is done: gives the heap's free memory back and
// unmaps the resident pages of executable file mappings (clean page-cache text, refaulted
// on demand), so what stays resident is the little the steady-state loop uses.
void release_startup_memory();

}  // namespace minirun
