#pragma once
// Internal split of `create` between the clone (create.cpp) and the verbs (runtime.cpp).
#include <sys/types.h>

#include <string>

#include "minirun/common/fs.hpp"
#include "minirun/runtime/container.hpp"

namespace minirun::runtime {

class Cgroup;
class SeccompFilter;

struct CreatedProcess {
    pid_t pid = 0;
    fs::UniqueFd sync;  // open until the init execs (EOF) or reports an error
    std::string rootfs;
    bool in_cgroup = false;  // cloned into its (cgroup v2) cgroup: no migration needed
};

// Clones the init with its namespaces; it then waits for "go".
CreatedProcess create_process(const StateStore& store, const CreateOptions& opts, const Spec& spec,
                              const std::string& bundle, Cgroup& cgroup, const SeccompFilter* filter);
// Id maps, cgroup, hooks, until the init reports ready; saves the state as created.
void finish_create(const StateStore& store, CreatedProcess& created, const Spec& spec, ContainerState& state,
                   Cgroup& cgroup);

}  // namespace minirun::runtime
