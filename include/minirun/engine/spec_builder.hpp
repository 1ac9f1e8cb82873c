#pragma once
// Image config + `run` flags → the OCI runtime config.json, with Docker's defaults:
// its 14 capabilities, masked and read-only /proc and /sys paths, its seccomp profile.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "minirun/engine/image_config.hpp"
#include "minirun/runtime/spec.hpp"

namespace minirun::engine {

struct RunSettings {
    std::vector<std::string> args;
    std::vector<std::string> env;
    std::string cwd = "/";
    ResolvedUser user;
    bool tty = false;
    unsigned short tty_rows = 0, tty_cols = 0;  // the pty's size from its first moment (run -it)
    std::string hostname;
    bool read_only = false;
    bool privileged = false;
    bool no_new_privileges = false;
    bool seccomp_unconfined = false;
    std::string seccomp_profile, seccomp_profile_source;  // --security-opt seccomp=FILE
    std::vector<std::string> cap_add, cap_drop;
    std::optional<int64_t> memory;
    std::optional<double> cpus;
    std::optional<int64_t> pids_limit;
    std::vector<runtime::Mount> mounts;  // volumes, binds, tmpfs, /etc/hosts …
    bool host_network = false;
    std::string netns_path;  // join this network namespace (empty: a new, empty one)
    std::string cgroups_path;
    std::map<std::string, std::string> annotations;
    std::vector<runtime::Rlimit> rlimits;
    std::map<std::string, std::string> sysctl;
    std::optional<int64_t> shm_bytes;  // /dev/shm's size (Docker's default 64m)
    std::optional<int64_t> memory_swap, memory_reservation;
    std::string cpuset_cpus, cpuset_mems;
    std::optional<uint64_t> cpu_shares;
    std::optional<int> oom_score_adj;
    std::vector<runtime::Device> devices;          // --device nodes
    std::vector<runtime::DeviceRule> device_rules;  // their access, and --device-cgroup-rule
    runtime::Hooks hooks;                           // CDI devices' hooks
};

// Docker's default capability set.
const std::vector<std::string>& docker_default_capabilities();
// Applies --cap-add/--cap-drop ("ALL" and names with or without CAP_) to the defaults.
std::vector<std::string> effective_capabilities(const RunSettings& s);
// The typed runtime config for these settings, and its config.json text.
runtime::Spec run_spec(const RunSettings& s);
std::string build_config_json(const RunSettings& s);

}  // namespace minirun::engine
