#pragma once
// process.apparmorProfile and process.selinuxLabel, set as runc sets them: written to the
// kernel's "exec" attribute of the init before execve, so the container's program starts
// confined. Planned in the runtime (pure, unit-tested: which file gets which text, which
// profile is refused) and written by the init before it reports ready, so a refusal
// fails `create`. A host without the module runs the container unconfined with a warning.
#include <set>
#include <string>
#include <vector>

#include "minirun/runtime/spec.hpp"

namespace minirun::runtime {

// What this host's kernel offers.
struct SecurityHost {
    bool apparmor = false;          // /sys/module/apparmor/parameters/enabled is "Y"
    bool apparmor_per_lsm = false;  // /proc/self/attr/apparmor/ exists (Linux 5.8+)
    std::set<std::string> apparmor_profiles;  // loaded ones (/sys/kernel/security/apparmor/profiles)
    bool selinux = false;           // /sys/fs/selinux/enforce exists
};
SecurityHost probe_security_host();

// One write to a /proc/self/attr file.
struct LabelWrite {
    std::string path, text;
    bool operator==(const LabelWrite&) const = default;
};

// The writes for `p` on `host`, in order. Throws Error(NotFound) for an AppArmor profile
// the host has not loaded; warns (and plans nothing) where the module is absent.
// "unconfined" asks for no profile.
std::vector<LabelWrite> plan_security_labels(const Process& p, const SecurityHost& host);

// Performs the writes; throws Error naming the file and errno.
void write_security_labels(const std::vector<LabelWrite>& writes);

}  // namespace minirun::runtime
