#pragma once
// The run-spec builder's pure half: a RunRequest's options checked and typed before any
// image is pulled or any container, mount or network exists, and the command and
// environment Docker gives a container. No storage and no system state (the host's CPU
// count is passed in), so each flag's rule and error is unit-tested. Engine::prepare
// applies the result (engine_run.cpp).
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "minirun/engine/engine.hpp"
#include "minirun/image/image_config.hpp"
#include "minirun/network/ports.hpp"
#include "minirun/registry/pull.hpp"
#include "minirun/runtime/spec.hpp"

namespace minirun::engine {

// --device HOST[:CONTAINER][:PERMISSIONS], checked but not yet looked at on the host.
struct DeviceRequest {
    std::string host_path, container_path;
    std::string permissions = "rwm";
};

// One --device flag; throws InvalidArgument naming it.
DeviceRequest parse_device_flag(const std::string& text);
// One --device-cgroup-rule ("c 13:* rwm", "a *:* r"); throws InvalidArgument naming it.
runtime::DeviceRule parse_device_cgroup_rule(const std::string& text);
// --ulimit NAME=SOFT[:HARD] (-1: unlimited).
runtime::Rlimit parse_ulimit(const std::string& text);
// --sysctl KEY=VALUE: Docker's rule, namespaced keys only (IPC ones; net.* unless the
// container shares the host's network).
std::pair<std::string, std::string> parse_sysctl(const std::string& text, const std::string& network);
// --cpuset-cpus/--cpuset-mems "0-2,4": the syntax, and every CPU below `available` when known.
void check_cpuset(const std::string& text, const char* flag, long available);

struct CheckedRunOptions {
    registry::PullPolicy pull = registry::PullPolicy::missing;
    RestartPolicy restart;
    std::map<std::string, std::string> log_opts, labels;
    std::vector<network::PortMapping> ports;  // -p (-P's come with the image)
    std::optional<int64_t> memory_bytes;
    std::optional<double> cpus;
    bool no_new_privileges = false, seccomp_unconfined = false;
    std::string seccomp_profile, seccomp_profile_source;  // seccomp=FILE: its text and path
    std::vector<runtime::Rlimit> rlimits;          // --ulimit
    std::map<std::string, std::string> sysctls;    // --sysctl, namespaced ones only
    std::optional<int64_t> shm_bytes;              // --shm-size
    std::optional<int64_t> memory_swap_bytes;      // --memory-swap: memory + swap; -1 unlimited
    std::optional<int64_t> memory_reservation_bytes;
    std::string cpuset_cpus, cpuset_mems;
    std::optional<uint64_t> cpu_shares;
    std::optional<int> oom_score_adj;
    std::vector<DeviceRequest> devices;            // --device
    std::vector<runtime::DeviceRule> device_rules; // --device-cgroup-rule
};

// Throws Error naming the flag and its value ("invalid --cpus \"x\": …") for the first bad
// one, in the order Docker checks them.
CheckedRunOptions check_run_options(const RunRequest& req, long host_cpus);

// Published ports need a bridge: throws for any with --network host or none.
void check_ports_on_network(const std::string& network, const std::vector<network::PortMapping>& ports);

// ENTRYPOINT + CMD as Docker joins them: --entrypoint replaces the image's and drops its
// CMD unless a command is given; a command replaces the CMD.
std::vector<std::string> container_command(const RunRequest& req, const image::ContainerConfig& image);

// The environment in Docker's order: the image's, a default PATH, HOSTNAME, TERM (with -t),
// --env-file, -e (a bare NAME takes ours; a later one replaces an earlier), then HOME.
std::vector<std::string> container_env(const RunRequest& req, const image::ContainerConfig& image,
                                       const std::string& hostname, const std::string& home);

}  // namespace minirun::engine
