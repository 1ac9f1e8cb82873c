#pragma once
// What `run` is asked (typed: the CLI parsed -v/--mount/--tmpfs, the engine checks the
// rest in run_options.hpp) and what it answers.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "minirun/engine/health_config.hpp"
#include "minirun/engine/mount_request.hpp"

namespace minirun::engine {

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
    std::vector<std::string> add_hosts;        // --add-host host:ip
    // --health-* over the image's HEALTHCHECK; --no-healthcheck: disable.
    HealthOverride health;
};

// What `run` did. The engine prints nothing: the caller reports the id or the error.
struct RunResult {
    std::string container_id;  // "" when no container was created
    // For the shell: the container's own status (foreground), 0 once a detached one is
    // started, or 125/126/127 as Docker when it could not be.
    int status = 0;
    std::string error;  // why it did not start; "" when it did
};

}  // namespace minirun::engine
