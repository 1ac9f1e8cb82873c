#pragma once
// The OCI runtime-spec config.json, as plain structs. Parsed once (spec.cpp) so the
// rest of the runtime never touches JSON. Unknown fields are ignored, as runc does.
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace minirun::runtime {

struct Rlimit {
    std::string type;  // "RLIMIT_NOFILE"
    uint64_t soft = 0;
    uint64_t hard = 0;
};

struct Capabilities {
    std::vector<std::string> bounding, effective, inheritable, permitted, ambient;  // "CAP_CHOWN"
};

struct User {
    uid_t uid = 0;
    gid_t gid = 0;
    std::optional<mode_t> umask;
    std::vector<gid_t> additional_gids;
};

struct ConsoleSize {
    unsigned height = 0;
    unsigned width = 0;
};

struct Process {
    bool terminal = false;
    std::optional<ConsoleSize> console_size;
    User user;
    std::vector<std::string> args;
    std::vector<std::string> env;
    std::string cwd = "/";
    std::optional<Capabilities> capabilities;
    std::vector<Rlimit> rlimits;
    bool no_new_privileges = false;
    std::optional<int> oom_score_adj;
    std::string apparmor_profile;
    std::string selinux_label;
};

struct Mount {
    std::string destination;
    std::string type;  // empty for bind
    std::string source;
    std::vector<std::string> options;
};

struct Hook {
    std::string path;
    std::vector<std::string> args;
    std::vector<std::string> env;
    std::optional<int> timeout;  // seconds
};

struct Hooks {
    std::vector<Hook> prestart, create_runtime, create_container, start_container, poststart, poststop;
};

struct Namespace {
    std::string type;  // pid network mount ipc uts user cgroup time
    std::string path;  // join when set
};

struct IdMapping {
    uint32_t container_id = 0;
    uint32_t host_id = 0;
    uint32_t size = 0;
};

struct Device {
    std::string path;
    std::string type;  // c b u p
    int64_t major = 0;
    int64_t minor = 0;
    std::optional<mode_t> file_mode;
    std::optional<uid_t> uid;
    std::optional<gid_t> gid;
};

struct DeviceRule {
    bool allow = false;
    std::string type;  // "a", "c", "b" (empty = all)
    std::optional<int64_t> major, minor;  // nullopt = wildcard
    std::string access;                   // "rwm"
};

struct MemoryResources {
    std::optional<int64_t> limit, reservation, swap, kernel, kernel_tcp;
    std::optional<uint64_t> swappiness;
    std::optional<bool> disable_oom_killer;
};

struct CpuResources {
    std::optional<uint64_t> shares;
    std::optional<int64_t> quota;
    std::optional<uint64_t> period;
    std::optional<int64_t> realtime_runtime;
    std::optional<uint64_t> realtime_period;
    std::string cpus, mems;
    std::optional<int64_t> idle;
};

struct HugepageLimit {
    std::string page_size;  // "2MB"
    uint64_t limit = 0;
};

// linux.resources.network: the v1 net_cls and net_prio controllers (cgroup v2 has neither).
struct NetworkResources {
    std::optional<uint32_t> class_id;  // net_cls.classid
    struct Priority {
        std::string name;  // interface
        uint32_t priority = 0;
    };
    std::vector<Priority> priorities;  // net_prio.ifpriomap
};

struct BlockIoResources {
    std::optional<uint16_t> weight;
    std::optional<uint16_t> leaf_weight;
};

struct Resources {
    std::vector<DeviceRule> devices;
    std::optional<MemoryResources> memory;
    std::optional<CpuResources> cpu;
    std::optional<int64_t> pids_limit;
    std::optional<BlockIoResources> block_io;
    std::vector<HugepageLimit> hugepage_limits;
    std::optional<NetworkResources> network;
    std::map<std::string, std::string> unified;  // cgroup v2 raw key/values
};

struct SeccompArg {
    unsigned index = 0;
    uint64_t value = 0;
    uint64_t value_two = 0;
    std::string op;  // SCMP_CMP_EQ …
};

struct SeccompSyscall {
    std::vector<std::string> names;
    std::string action;  // SCMP_ACT_ERRNO …
    std::optional<unsigned> errno_ret;
    std::vector<SeccompArg> args;
};

struct Seccomp {
    std::string default_action;
    std::optional<unsigned> default_errno_ret;
    std::vector<std::string> architectures;  // SCMP_ARCH_X86_64 …
    std::vector<std::string> flags;          // SECCOMP_FILTER_FLAG_LOG …
    std::string listener_path;
    std::vector<SeccompSyscall> syscalls;
};

struct Linux {
    std::vector<Namespace> namespaces;
    std::vector<IdMapping> uid_mappings, gid_mappings;
    std::vector<Device> devices;
    std::string cgroups_path;
    std::optional<Resources> resources;
    std::map<std::string, std::string> sysctl;
    std::optional<Seccomp> seccomp;
    std::string rootfs_propagation;
    std::vector<std::string> masked_paths, readonly_paths;
    std::string mount_label;
};

struct Spec {
    std::string oci_version;
    std::optional<Process> process;
    std::string root_path;  // as written; resolved against the bundle by the caller
    bool root_readonly = false;
    std::string hostname, domainname;
    std::vector<Mount> mounts;
    Hooks hooks;
    std::map<std::string, std::string> annotations;
    Linux linux;

    bool has_namespace(const std::string& type) const;
    const Namespace* find_namespace(const std::string& type) const;
};

// The runtime-spec version written when a Spec leaves oci_version empty.
inline constexpr const char* kOciVersion = "1.1.0";

// Throws minirun::Error("config.json: <field>: <reason>").
Spec parse_spec(const std::string& json_text);
Process parse_process(const std::string& json_text);  // exec --process
Resources parse_resources(const std::string& json_text);  // update --resources
// One linux.seccomp object on its own; errors name `document` ("profile.json: syscalls[0]…").
Seccomp parse_seccomp_document(const std::string& json_text, const std::string& document);
// The inverse of parse_spec (spec_writer.cpp): fields in the runtime-spec's order.
std::string write_spec(const Spec& spec);
// The default config `spec` writes (runc's shape; rootless adds a user namespace).
std::string default_spec_json(bool rootless);

}  // namespace minirun::runtime
