#pragma once
// Containers made from images (`minirun run`): their records under <storage>/containers/<id>/.
//   container.json  this record (atomic writes)
//   config.json     the OCI bundle config the runtime starts
//   rootfs/ upper/ work/   the overlay (rootfs is the mount point)
//   hosts hostname resolv.conf   bind-mounted into the container
//   container.log   JSON lines (json-file driver)
#include <sys/types.h>

#include <cstdint>

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "minirun/engine/container_index.hpp"
#include "minirun/engine/extra_network.hpp"
#include "minirun/engine/health_config.hpp"
#include "minirun/network/ports.hpp"

namespace minirun::engine {

struct RestartPolicy {
    std::string name = "no";  // no, on-failure, always, unless-stopped
    int max_retries = 0;      // on-failure:N (0 = unlimited)
    // Throws Error for anything else ("--restart sometimes").
    static RestartPolicy parse(const std::string& text);
    std::string str() const;
};

struct ContainerRecord {
    std::string id;
    std::string name;
    std::string image;     // as typed
    std::string image_name;  // fully qualified reference
    std::string image_id;  // config digest
    std::vector<std::string> layers;  // diff ids, bottom first: the rootfs lowerdirs
    std::string created;
    std::vector<std::string> command;  // the process args
    std::string status = "created";    // created running restarting exited dead
    pid_t pid = 0;
    unsigned long long pid_start = 0;
    pid_t supervisor_pid = 0;
    unsigned long long supervisor_start = 0;
    // The kernel's boot id when the supervisor took the container: after a reboot pids and
    // start times repeat, the boot id does not, so a record from an earlier boot never
    // passes for running.
    std::string boot_id;
    int exit_code = 0;
    bool oom_killed = false;
    std::string error;
    std::string started_at, finished_at;
    int restart_count = 0;
    RestartPolicy restart;
    bool auto_remove = false;
    bool stop_requested = false;  // stop/kill by the user: no restart (unless-stopped stays down)
    std::string network = "bridge";
    std::string ip;
    // Published ports: as asked (host port 0 = any) until the first start, then with the
    // host ports it got, kept across restarts.
    std::vector<network::PortMapping> ports;
    std::map<std::string, std::string> labels;
    std::string stop_signal = "SIGTERM";
    int stop_timeout = 10;
    std::string log_driver = "json-file";
    std::map<std::string, std::string> log_opts;
    bool tty = false;
    bool interactive = false;
    std::vector<std::string> mounts;  // "src:dst[:ro]" as given, for inspect
    std::vector<std::string> volumes;  // named volumes used
    std::string hostname;
    std::vector<std::string> network_aliases;  // names peers on a user network resolve to us
    std::string requested_ip, requested_mac;   // --ip, --mac-address
    std::string mac;                           // the endpoint's MAC while connected
    std::vector<std::string> links;            // --link NAME[:ALIAS] as given
    std::vector<std::string> link_hosts;       // their /etc/hosts lines, resolved at connect
    std::vector<std::string> extra_hosts;      // host:ip lines added to /etc/hosts
    std::vector<std::string> dns, dns_search, dns_options;  // /etc/resolv.conf instead of the host's
    std::optional<HealthConfig> health;        // the check the supervisor runs
    std::vector<ExtraNetwork> extra_networks;  // joined in this order after `network`
};

// Every network the container is on (its first and the ones joined since), sorted by name.
std::vector<std::string> network_names(const ContainerRecord& r);

// /proc/sys/kernel/random/boot_id ("" where unreadable), read once per process.
std::string current_boot_id();

class ContainerStore {
public:
    explicit ContainerStore(std::filesystem::path storage_root);
    std::filesystem::path dir(const std::string& id) const;
    // Writes the record; only `create` may make its directory, so a supervisor finishing
    // late cannot bring back a container that `rm` removed.
    void save(const ContainerRecord& r, bool create = false) const;
    bool exists(const std::string& id) const;
    ContainerRecord load(const std::string& id) const;
    std::vector<ContainerRecord> list() const;
    // A full id, a name or a unique id prefix; throws "no such container: X" or "ambiguous".
    // Names and ids are found without reading the other records.
    ContainerRecord find(const std::string& name_or_id) const;
    // Throws "the container name ... is already in use by container ..." when it is.
    void check_name_free(const std::string& name) const;
    // Takes `name` for container `id` in the name index, atomically: throws "the container
    // name ... is already in use by container ..." when another container holds it.
    void claim_name(const std::string& name, const std::string& id) const;
    void release_name(const std::string& name, const std::string& id) const;
    // save() of a record whose name was just claimed: a failed write releases the claim.
    void save_claimed(const ContainerRecord& r, bool create = false) const;
    // Claims a free Docker-style name (brave_turing) for `id` and returns it.
    std::string claim_free_name(const std::string& id) const;
    // The records of --rm containers, read through the index (not every record).
    std::vector<ContainerRecord> auto_remove_records() const;
    void remove(const std::string& id) const;
    static std::string new_id();
    const std::filesystem::path& root() const { return root_; }

private:
    // Builds the index on first use in a store made before it.
    const ContainerIndex& index() const;
    bool holds_name(const std::string& owner, const std::string& name, long age_seconds) const;
    void remove_dir(const std::string& id) const;
    std::filesystem::path root_;
    ContainerIndex index_;
};

// Records a container event in the storage's journal (events.hpp) with Docker's
// attributes: name, image, the container's labels, and `extra` (exitCode, signal, …).
void container_event(const ContainerStore& store, const ContainerRecord& rec, const std::string& action,
                     const std::map<std::string, std::string>& extra = {});

// Serialisation, used by `inspect` and `ps --format json`.
std::string record_to_json(const ContainerRecord& r, int indent = -1);

}  // namespace minirun::engine
