// `features`: what this runtime supports, in the runtime-spec features format.
#include <filesystem>

#include <nlohmann/json.hpp>

#include "minirun/runtime/cgroups.hpp"
#include "minirun/runtime/container.hpp"
#include "minirun/runtime/process_setup.hpp"
#include "minirun/runtime/seccomp.hpp"

namespace minirun::runtime {

std::string features_json() {
    using json = nlohmann::json;
    CgroupLayout layout = detect_cgroup_layout();
    json j{
        {"ociVersionMin", "1.0.0"},
        {"ociVersionMax", "1.1.0"},
        {"hooks", {"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}},
        {"mountOptions",
         {"async", "atime", "bind", "defaults", "dev", "diratime", "dirsync", "exec", "mand", "noatime",
          "nodev", "nodiratime", "noexec", "norelatime", "nostrictatime", "nosuid", "private", "rbind",
          "relatime", "remount", "ro", "rprivate", "rshared", "rslave", "runbindable", "rw", "shared", "slave",
          "strictatime", "suid", "sync", "unbindable"}},
        {"linux",
         {{"namespaces", {"cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"}},
          {"capabilities", known_capabilities()},
          {"cgroup",
           {{"v1", layout != CgroupLayout::v2},
            {"v2", layout != CgroupLayout::v1},
            {"systemd", false},
            {"systemdUser", false}}},
          {"seccomp",
           {{"enabled", true},
            {"actions", seccomp_supported_actions()},
            {"operators", seccomp_supported_operators()},
            {"archs", seccomp_supported_archs()},
            {"knownFlags", seccomp_supported_flags()},
            {"supportedFlags", seccomp_supported_flags()}}},
          {"apparmor", {{"enabled", std::filesystem::exists("/sys/kernel/security/apparmor")}}},
          {"selinux", {{"enabled", std::filesystem::exists("/sys/fs/selinux/enforce")}}}}},
        {"annotations", {{"org.opencontainers.runtime-spec.features.implementation", "minirun"}}}};
    return j.dump(2);
}

}  // namespace minirun::runtime
