#pragma once
// OCI hooks: run with the container state on stdin, killed after their timeout.
#include <string>
#include <vector>

#include "minirun/runtime/spec.hpp"

namespace minirun::runtime {

// Runs each hook in order; throws Error("<phase> hook <path>: <reason>") on a non-zero
// exit or timeout.
void run_hooks(const std::vector<Hook>& hooks, const std::string& phase, const std::string& state_json);
// The state a hook phase sees: `state_json` with its status replaced (startContainer
// hooks run in a "created" container, though the state was taken while "creating").
std::string state_with_status(const std::string& state_json, const std::string& status);
// poststart and poststop: every hook runs; a failing one is a warning on stderr (the
// runtime spec: "the runtime MUST log a warning, but the remaining hooks and lifecycle
// continue"). Returns how many failed.
size_t run_hooks_warning_only(const std::vector<Hook>& hooks, const std::string& phase, const std::string& state_json);

}  // namespace minirun::runtime
