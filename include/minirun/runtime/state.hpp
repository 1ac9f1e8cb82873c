#pragma once
// Per-container state under the runtime root (--root, default /run/minirun):
//   <root>/<id>/state.json   what `state` reports, plus what later verbs need (the config too)
//   <root>/<id>/exec.fifo    exists while the container is "created"
#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace minirun::runtime {

struct ContainerState {
    std::string id;
    std::string bundle;
    std::string rootfs;
    std::string status;  // creating created running paused stopped (computed on load)
    pid_t pid = 0;
    unsigned long long pid_start_time = 0;  // /proc/<pid>/stat field 22, guards against pid reuse
    std::string created;                    // RFC 3339
    std::string cgroup_path;
    std::map<std::string, std::string> annotations;
    std::string owner;
    std::string config;  // config.json as created (kept inside state.json)
};

class StateStore {
public:
    explicit StateStore(std::string root);
    static std::string default_root();  // /run/minirun, or $XDG_RUNTIME_DIR/minirun when not root

    const std::string& root() const { return root_; }
    std::string dir(const std::string& id) const;
    std::string fifo_path(const std::string& id) const { return dir(id) + "/exec.fifo"; }

    // Claims the id (mkdir); throws "container ID already exists".
    void reserve(const std::string& id);
    void save(const ContainerState& s) const;
    // Throws Error("container ID does not exist") when absent.
    ContainerState load(const std::string& id) const;
    bool exists(const std::string& id) const;
    void remove(const std::string& id);
    std::vector<std::string> ids() const;

private:
    std::string root_;
};

// Validates an id: [A-Za-z0-9][A-Za-z0-9_.-]*, as runc; throws otherwise.
void validate_container_id(const std::string& id);
// "created"/"running"/"paused"/"stopped" from the pid and the fifo.
std::string compute_status(const StateStore& store, const ContainerState& s);
unsigned long long process_start_time(pid_t pid);  // 0 when gone
bool process_alive(pid_t pid, unsigned long long start_time);
std::string state_to_json(const ContainerState& s, bool pretty = true);

}  // namespace minirun::runtime
