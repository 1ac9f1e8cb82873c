#pragma once
// What `run` is asked (typed: the CLI parsed -v/--mount/--tmpfs, the engine checks the
// rest in run_options.hpp) and what it answers.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "minirun/engine/extra_network.hpp"
#include "minirun/engine/health_config.hpp"
#include "minirun/engine/mount_request.hpp"

namespace minirun::engine {

// An OCI hook for the container (a CDI device's), run by the runtime at `stage`:
// prestart, createRuntime, createContainer, startContainer, poststart or poststop.
struct RunHook {
    std::string stage, path;
    std::vector<std::string> args, env;
    std::optional<int> timeout;
};

struct RunRequest {
    std::string image;
    std::vector<std::string> command;  // after the image
    std::string name;
    bool detach = false, interactive = false, tty = false, remove = false;
    std::vector<std::string> env, env_files, publish, labels, cap_add, cap_drop,
        security_opts, log_opts;
    bool publish_all = false;
    // -v, --mount and --tmpfs, parsed by the caller (mount_request.hpp), in that order.
    std::vector<MountRequest> mounts;
    std::string workdir, user, hostname, memory, cpus, restart = "no", network = "bridge";
    std::optional<std::string> entrypoint;
    std::optional<int64_t> pids_limit;
    bool read_only = false, privileged = false, init = false;
    std::string stop_signal;
    std::optional<int> stop_timeout;
    std::string log_driver = "json-file";
    std::string pull = "missing";  // missing | always | never
    std::string platform;
    bool quiet_pull = false;  // no pull progress bars
    // Called with the familiar reference before a missing image is pulled (the CLI says so).
    std::function<void(const std::string& image)> on_pull;
    std::vector<std::string> network_aliases;  // --network-alias (apply: the service name)
    std::string ip, mac_address;               // --ip, --mac-address
    std::vector<std::string> links;            // --link NAME[:ALIAS]
    std::vector<std::string> add_hosts;        // --add-host host:ip
    // --health-* over the image's HEALTHCHECK; --no-healthcheck: disable.
    HealthOverride health;
    // Resources and process settings, as typed (checked by check_run_options).
    std::vector<std::string> ulimits;              // --ulimit nofile=1024:2048
    std::vector<std::string> sysctls;              // --sysctl net.ipv4.ip_forward=1
    std::vector<std::string> group_add;            // --group-add audio / 1234
    std::vector<std::string> devices;              // --device /dev/x[:/dev/y][:rwm]
    std::vector<std::string> device_cgroup_rules;  // --device-cgroup-rule "c 13:* rwm"
    std::string shm_size, cpuset_cpus, cpuset_mems, memory_swap, memory_reservation;
    std::optional<int64_t> cpu_shares;
    std::optional<int> oom_score_adj;
    // --dns, --dns-search, --dns-option: /etc/resolv.conf's lines instead of the host's.
    std::vector<std::string> dns, dns_search, dns_options;
    std::string cidfile;  // --cidfile: the id is written there once the container exists
    std::vector<RunHook> hooks;  // from CDI devices (the CLI resolves them)
    // --userns: "host" (or empty), the host's user namespace, is the one kind there is
    // (Docker's only value without userns-remap); the others are refused by name.
    std::string userns;
    // Networks joined after `network` (a second --network, a Compose service's others).
    std::vector<ExtraNetwork> extra_networks;
};

// What `run` did. The engine prints nothing: the caller reports the id or the error.
struct RunResult {
    std::string container_id;  // "" when no container was created
    // For the shell: the container's own status (foreground), 0 once a detached one is
    // started, or 125/126/127 as Docker when it could not be.
    int status = 0;
    std::string error;  // why it did not start; "" when it did
    // `run -it`: started detached; the caller attaches (attach.hpp) and exits with what
    // that returns.
    bool attach = false;
};

}  // namespace minirun::engine
