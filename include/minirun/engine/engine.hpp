#pragma once
// The container lifecycle: `run` (create_container, then a Supervisor in this process or
// a detached minirun-supervisor) and the verbs on existing containers. The engine prints
// nothing; the CLI reports what it returns.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "minirun/engine/container_store.hpp"
#include "minirun/engine/logs.hpp"
#include "minirun/engine/run_request.hpp"
#include "minirun/registry/client.hpp"

namespace minirun::engine {

// One `stats` sample of a running container.
struct ContainerStats {
    std::string id, name;
    double cpu_percent = 0;     // of one CPU, over the sample
    uint64_t memory_usage = 0;  // bytes
    double memory_limit = 0;    // bytes; 0: unlimited
    double memory_percent = 0;
    uint64_t pids = 0;
};

struct ExecRequest {
    std::string container;
    std::vector<std::string> command, env;
    bool interactive = false, tty = false, detach = false;
    std::string user, workdir;
};

// What `minirun boot` did to one container.
struct BootAction {
    std::string container;
    std::string action;  // swept | removed | started | failed
    std::string error;
};

struct PsRow {
    ContainerRecord rec;
    std::string status_text;  // "Up 3 minutes", "Exited (0) 2 seconds ago"
    bool running = false;
};

class Engine {
public:
    Engine(std::filesystem::path storage, registry::RegistryOptions registry);

    RunResult run(const RunRequest& req);
    // `create`: the container made as `run` makes it, not started (`start` runs it).
    RunResult create(const RunRequest& req);
    void start(const std::string& container);
    void stop(const std::string& container, std::optional<int> timeout);
    void restart(const std::string& container, std::optional<int> timeout);
    void kill(const std::string& container, const std::string& signal);
    void remove(const std::string& container, bool force, bool volumes);
    // A new name (Docker's rule, unused by any other container); peers on its network
    // resolve the new one from then on. Throws InvalidArgument / Conflict naming it.
    void rename(const std::string& container, const std::string& new_name);
    int wait(const std::string& container);
    // `network connect` / `network disconnect`: at once when the container runs, else
    // recorded for its next start (container_network.hpp says what happens to its first network).
    void network_connect(const std::string& network, const std::string& container,
                         const std::vector<std::string>& aliases, const std::string& ip);
    void network_disconnect(const std::string& network, const std::string& container);
    // The command's exit status; a command that cannot start throws runtime::InitError
    // (status 127: not found, 126: not executable), which the CLI reports as Docker does.
    int exec(const ExecRequest& req);
    std::vector<PsRow> ps(bool all) const;
    std::string inspect(const std::string& container) const;
    void logs(const std::string& container, const LogReadOptions& opts) const;
    // Samples the running ones among `containers` (all running ones when empty) over 200 ms.
    std::vector<ContainerStats> stats(const std::vector<std::string>& containers) const;
    std::string top(const std::string& container) const;
    // `port`: the published ports of a running container with their host ports resolved
    // (none for a stopped one, as Docker).
    std::vector<network::PortMapping> ports(const std::string& container) const;
    std::vector<std::string> prune();
    // `--rm` containers whose watcher (the foreground CLI or the supervisor) died without
    // cleaning up, e.g. SIGKILLed: their process, veth, port rules, overlay and record are
    // removed. No daemon: a dead owner is told by pid + start time. Returns their ids.
    std::vector<std::string> reap_orphans();
    // After a reboot (minirun-boot.service runs it; safe to run again at any time): sweeps
    // what an earlier boot left of containers that no longer run (runtime entries, network
    // endpoints, mounts), removes the --rm ones, then starts, oldest first, those that
    // should run: restart=always; unless-stopped not stopped by hand; on-failure and
    // Compose-made (`apply`) ones that were running when the host went down.
    std::vector<BootAction> boot();
    // starting | healthy | unhealthy for a running container with a health check, else "".
    std::string health_status(const ContainerRecord& rec) const;
    // `wait --condition healthy`: returns when healthy; throws (with the last probe's
    // output) when the container stops, has no health check, turns unhealthy or
    // `timeout_s` passes (<= 0: no limit).
    void wait_healthy(const std::string& container, double timeout_s);

    ContainerStore& containers() { return containers_; }
    const std::filesystem::path& storage() const { return storage_; }
    // Fresh view of a record with its live status (a dead supervisor does not lie).
    ContainerRecord refresh(const ContainerRecord& r) const;

private:
    // Starts minirun-supervisor for a created container and waits for its verdict.
    struct SupervisorReply {
        bool started = false;
        ErrorRecord failure;  // when not started; its status is the shell status to report
    };
    SupervisorReply spawn_supervisor(const std::string& id, bool await_attach = false);
    RunResult create_record(const RunRequest& req, ContainerRecord& rec);
    void cleanup(ContainerRecord& rec, bool remove_dir);
    // `rm -f <full id>` of a container whose record cannot be read; false when it can.
    bool remove_unreadable(const std::string& id);
    std::string read_health(const std::string& id) const;
    std::string last_health_output(const ContainerRecord& rec) const;

    std::filesystem::path storage_;
    registry::RegistryOptions registry_;
    ContainerStore containers_;
};

}  // namespace minirun::engine
