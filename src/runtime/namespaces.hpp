#pragma once
// Namespace plumbing shared by create and exec.
#include <sched.h>

#include <string>
#include <utility>
#include <vector>

#include "minirun/common/fs.hpp"
#include "minirun/runtime/spec.hpp"

namespace minirun::runtime {

int namespace_flag(const std::string& type);  // "network" → CLONE_NEWNET; throws on unknown
const char* proc_ns_name(const std::string& type);  // "network" → "net"

struct NamespaceJoin {
    int flag;
    std::string type;
    fs::UniqueFd fd;
};

// Orders joins as setns needs: user first, mount last.
void order_joins(std::vector<NamespaceJoin>& joins);
void join_all(std::vector<NamespaceJoin>& joins);
// fork-like: 0 in the child. With cgroup_fd >= 0 (a cgroup2 directory) the child starts
// in that cgroup (CLONE_INTO_CGROUP, Linux 5.7): no migration afterwards, so none of the
// grace period the first migration waits for. *placed says whether that happened; a
// kernel refusing the flag gets a plain clone and *placed = false.
long clone3_process(unsigned long flags, int cgroup_fd = -1, bool* placed = nullptr);

}  // namespace minirun::runtime
