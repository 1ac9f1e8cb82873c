#pragma once
// The Container Device Interface (CNCF CDI spec, as podman and Docker read it): vendor
// specs in /etc/cdi and /var/run/cdi (JSON or YAML) name devices "vendor.com/class=name"
// and say what a container using one gets: device nodes, mounts, env and hooks. Resolved
// once, in the CLI, into plain run flags; the engine and runtime see no CDI.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace minirun::cdi {

struct DeviceNode {
    std::string path;       // in the container
    std::string host_path;  // on the host; empty: the same as path
    std::string permissions;  // "rwm" subset; empty: rwm
};

struct Mount {
    std::string host_path, container_path;
    std::vector<std::string> options;  // "ro", "nosuid", "bind", …
};

struct Hook {
    std::string hook_name;  // createRuntime, createContainer, startContainer, poststart, poststop, prestart
    std::string path;
    std::vector<std::string> args, env;
    std::optional<int> timeout;
};

struct ContainerEdits {
    std::vector<std::string> env;
    std::vector<DeviceNode> device_nodes;
    std::vector<Mount> mounts;
    std::vector<Hook> hooks;
    void append(const ContainerEdits& other);
};

struct Spec {
    std::string file;  // where it was read, for errors
    std::string kind;  // vendor.com/class
    std::vector<std::pair<std::string, ContainerEdits>> devices;  // in the file's order
    ContainerEdits edits;  // applied once when any of its devices is used
};

// One spec document (JSON, or YAML when it does not start with '{'); throws Error naming
// `file` and what is wrong (no kind, a bad device name, a relative path…).
Spec parse_spec(std::string_view text, const std::string& file);

// "vendor.com/class=name" as the spec writes it: true for a CDI device name.
bool is_qualified_name(std::string_view text);

class Registry {
public:
    // Reads every *.json, *.yaml and *.yml in `dirs`, in order: a later directory's spec
    // for the same kind replaces the device it redefines (the spec's own rule).
    static Registry load(const std::vector<std::string>& dirs = {"/etc/cdi", "/var/run/cdi"});
    void add(Spec spec);
    bool has_kind(const std::string& kind) const;
    // The devices' edits, each spec's common edits once; throws Error(NotFound) naming
    // every unresolvable device and the directories searched.
    ContainerEdits resolve(const std::vector<std::string>& names) const;
    // Device names of a kind in the spec's order ("nvidia.com/gpu=0", …), "all" left out.
    std::vector<std::string> device_names(const std::string& kind) const;

private:
    std::vector<std::string> dirs_;
    std::vector<Spec> specs_;
};

// Docker's --gpus value as CDI device names: "all", a count N (the first N), or
// "device=ID[,ID…]" (also "\"device=0,1\"" as Docker quotes it). `capabilities=` and
// `driver=` are accepted and ignored. Throws Error(InvalidArgument) naming the value.
std::vector<std::string> gpu_devices(const std::string& value, const Registry& registry);

// Without an nvidia.com/gpu spec, the edits NVIDIA's toolkit would write for every GPU of
// this host (under `root`, "/" but for tests): /dev/nvidia* nodes, the driver's user-space
// libraries and nvidia-smi bound read-only at their host paths, NVIDIA_VISIBLE_DEVICES.
// Registered as kind nvidia.com/gpu with devices "all" and one per /dev/nvidiaN; none when
// the host has no /dev/nvidiactl.
std::optional<Spec> nvidia_host_spec(const std::string& root = "/");

}  // namespace minirun::cdi
