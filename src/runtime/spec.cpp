// config.json (OCI runtime-spec 1.0–1.1) → plain structs, with one-line errors that
// name the offending field. The text is untrusted: its size and nesting are bounded,
// every value is type-checked and range-checked before it reaches a struct, and
// strings carrying NUL bytes are refused (they would be silently truncated at the
// syscall boundary). Unknown fields are ignored, as runc does.
#include "minirun/runtime/spec.hpp"

#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <set>
#include <string_view>
#include <type_traits>
#include <utility>

#include <nlohmann/json.hpp>

#include "minirun/common/error.hpp"
#include "minirun/common/process.hpp"

namespace minirun::runtime {

using json = nlohmann::json;

namespace {

constexpr std::size_t kMaxTextSize = 16u << 20;  // 16 MiB
// The deepest legitimate path is linux.seccomp.syscalls[].args[] — 7 levels.
constexpr int kMaxDepth = 64;

// A field-level failure; the entry points turn it into "<file>: <path>: <why>".
struct FieldError {
    std::string path;
    std::string why;
};

[[noreturn]] void fail(const std::string& path, std::string why) { throw FieldError{path, std::move(why)}; }

std::string join(const std::string& path, std::string_view key) {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
}
std::string at(const std::string& path, std::size_t i) { return path + "[" + std::to_string(i) + "]"; }

std::string dq(const std::string& s) { return "\"" + s + "\""; }

bool is_absolute(const std::string& p) { return !p.empty() && p.front() == '/'; }

// --- typed accessors -------------------------------------------------------------
// Absent and JSON null are both "not set", as in Go's encoding/json.

const json* find(const json& obj, const char* key) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return nullptr;
    return &*it;
}

std::string as_string(const json& v, const std::string& path) {
    if (!v.is_string()) fail(path, "expected a string");
    const auto& s = v.get_ref<const std::string&>();
    if (s.find('\0') != std::string::npos) fail(path, "must not contain NUL bytes");
    return s;
}

bool as_bool(const json& v, const std::string& path) {
    if (!v.is_boolean()) fail(path, "expected a boolean");
    return v.get<bool>();
}

// Integers only (Go refuses 1.0 for an integer field too), range-checked against T.
template <typename T>
T as_int(const json& v, const std::string& path) {
    static_assert(std::is_integral_v<T> && sizeof(T) <= 8);
    if (!v.is_number_integer()) fail(path, "expected an integer");
    constexpr auto tmax = static_cast<uint64_t>(std::numeric_limits<T>::max());
    if (v.is_number_unsigned()) {
        auto u = v.get<uint64_t>();
        if (u > tmax) fail(path, "out of range (maximum " + std::to_string(tmax) + ")");
        return static_cast<T>(u);
    }
    auto s = v.get<int64_t>();
    if constexpr (std::is_unsigned_v<T>) {
        if (s < 0) fail(path, "must not be negative");
        if (static_cast<uint64_t>(s) > tmax) fail(path, "out of range (maximum " + std::to_string(tmax) + ")");
    } else {
        if (s < static_cast<int64_t>(std::numeric_limits<T>::min()) ||
            s > static_cast<int64_t>(std::numeric_limits<T>::max()))
            fail(path, "out of range");
    }
    return static_cast<T>(s);
}

const json* opt_object(const json& obj, const char* key, const std::string& path) {
    const json* v = find(obj, key);
    if (v && !v->is_object()) fail(join(path, key), "expected an object");
    return v;
}

const json* opt_array(const json& obj, const char* key, const std::string& path) {
    const json* v = find(obj, key);
    if (v && !v->is_array()) fail(join(path, key), "expected an array");
    return v;
}

std::string get_string(const json& obj, const char* key, const std::string& path) {
    const json* v = find(obj, key);
    return v ? as_string(*v, join(path, key)) : std::string();
}

std::optional<std::string> opt_string(const json& obj, const char* key, const std::string& path) {
    const json* v = find(obj, key);
    if (!v) return std::nullopt;
    return as_string(*v, join(path, key));
}

bool get_bool(const json& obj, const char* key, const std::string& path) {
    const json* v = find(obj, key);
    return v ? as_bool(*v, join(path, key)) : false;
}

std::optional<bool> opt_bool(const json& obj, const char* key, const std::string& path) {
    const json* v = find(obj, key);
    if (!v) return std::nullopt;
    return as_bool(*v, join(path, key));
}

template <typename T>
std::optional<T> opt_int(const json& obj, const char* key, const std::string& path) {
    const json* v = find(obj, key);
    if (!v) return std::nullopt;
    return as_int<T>(*v, join(path, key));
}

template <typename T>
T get_int(const json& obj, const char* key, const std::string& path) {
    return opt_int<T>(obj, key, path).value_or(T{});
}

std::vector<std::string> string_list(const json& obj, const char* key, const std::string& path) {
    std::vector<std::string> out;
    const json* arr = opt_array(obj, key, path);
    if (!arr) return out;
    const std::string p = join(path, key);
    out.reserve(arr->size());
    for (std::size_t i = 0; i < arr->size(); ++i) out.push_back(as_string((*arr)[i], at(p, i)));
    return out;
}

std::map<std::string, std::string> string_map(const json& obj, const char* key, const std::string& path) {
    std::map<std::string, std::string> out;
    const json* m = opt_object(obj, key, path);
    if (!m) return out;
    const std::string p = join(path, key);
    for (const auto& [k, v] : m->items()) {
        if (k.find('\0') != std::string::npos) fail(p, "key must not contain NUL bytes");
        out[k] = as_string(v, join(p, k));
    }
    return out;
}

// Visit each element of an optional array of objects.
template <typename F>
void each_object(const json& obj, const char* key, const std::string& path, F&& f) {
    const json* arr = opt_array(obj, key, path);
    if (!arr) return;
    const std::string p = join(path, key);
    for (std::size_t i = 0; i < arr->size(); ++i) {
        const std::string ep = at(p, i);
        if (!(*arr)[i].is_object()) fail(ep, "expected an object");
        f((*arr)[i], ep);
    }
}

// Memory sizes: -1 means unlimited; anything below is meaningless.
std::optional<int64_t> opt_mem(const json& obj, const char* key, const std::string& path) {
    auto v = opt_int<int64_t>(obj, key, path);
    if (v && *v < -1) fail(join(path, key), "must be -1 (unlimited) or non-negative");
    return v;
}

bool one_of(const std::string& s, std::initializer_list<std::string_view> allowed) {
    return std::find(allowed.begin(), allowed.end(), s) != allowed.end();
}

// --- process -----------------------------------------------------------------------

constexpr std::array<std::string_view, 16> kRlimits = {
    "RLIMIT_AS",      "RLIMIT_CORE",     "RLIMIT_CPU",    "RLIMIT_DATA",   "RLIMIT_FSIZE",      "RLIMIT_LOCKS",
    "RLIMIT_MEMLOCK", "RLIMIT_MSGQUEUE", "RLIMIT_NICE",   "RLIMIT_NOFILE", "RLIMIT_NPROC",      "RLIMIT_RSS",
    "RLIMIT_RTPRIO",  "RLIMIT_RTTIME",   "RLIMIT_SIGPENDING", "RLIMIT_STACK"};

Process parse_process_object(const json& j, const std::string& path) {
    Process p;
    p.terminal = get_bool(j, "terminal", path);

    if (const json* cs = opt_object(j, "consoleSize", path)) {
        const std::string cp = join(path, "consoleSize");
        ConsoleSize size;
        size.height = get_int<unsigned>(*cs, "height", cp);
        size.width = get_int<unsigned>(*cs, "width", cp);
        p.console_size = size;
    }

    if (const json* u = opt_object(j, "user", path)) {
        const std::string up = join(path, "user");
        p.user.uid = get_int<uid_t>(*u, "uid", up);
        p.user.gid = get_int<gid_t>(*u, "gid", up);
        if (auto umask = opt_int<uint32_t>(*u, "umask", up)) {
            if (*umask > 0777) fail(join(up, "umask"), "must be at most 0777 (511)");
            p.user.umask = static_cast<mode_t>(*umask);
        }
        if (const json* gids = opt_array(*u, "additionalGids", up)) {
            const std::string gp = join(up, "additionalGids");
            for (std::size_t i = 0; i < gids->size(); ++i)
                p.user.additional_gids.push_back(as_int<gid_t>((*gids)[i], at(gp, i)));
        }
    }

    {
        const std::string ap = join(path, "args");
        const json* args = find(j, "args");
        if (!args || !args->is_array() || args->empty() ||
            !std::all_of(args->begin(), args->end(), [](const json& a) { return a.is_string(); }))
            fail(ap, "must be a non-empty array of strings");
        p.args = string_list(j, "args", path);
        if (p.args[0].empty()) fail(at(ap, 0), "must not be empty");
    }

    p.env = string_list(j, "env", path);
    for (std::size_t i = 0; i < p.env.size(); ++i) {
        auto eq = p.env[i].find('=');
        if (eq == std::string::npos || eq == 0) fail(at(join(path, "env"), i), "must be of the form NAME=VALUE");
    }

    if (auto cwd = opt_string(j, "cwd", path)) {
        if (!is_absolute(*cwd)) fail(join(path, "cwd"), "must be an absolute path");
        p.cwd = *cwd;
    }

    if (const json* caps = opt_object(j, "capabilities", path)) {
        const std::string cp = join(path, "capabilities");
        Capabilities c;
        c.bounding = string_list(*caps, "bounding", cp);
        c.effective = string_list(*caps, "effective", cp);
        c.inheritable = string_list(*caps, "inheritable", cp);
        c.permitted = string_list(*caps, "permitted", cp);
        c.ambient = string_list(*caps, "ambient", cp);
        p.capabilities = std::move(c);
    }

    std::set<std::string> seen_rlimits;
    each_object(j, "rlimits", path, [&](const json& r, const std::string& rp) {
        Rlimit rl;
        rl.type = get_string(r, "type", rp);
        if (std::find(kRlimits.begin(), kRlimits.end(), rl.type) == kRlimits.end())
            fail(join(rp, "type"), "unknown rlimit type " + dq(rl.type));
        if (!seen_rlimits.insert(rl.type).second) fail(join(rp, "type"), "duplicate rlimit type " + dq(rl.type));
        rl.hard = get_int<uint64_t>(r, "hard", rp);
        rl.soft = get_int<uint64_t>(r, "soft", rp);
        if (rl.soft > rl.hard) fail(rp, "soft limit exceeds hard limit");
        p.rlimits.push_back(std::move(rl));
    });

    p.no_new_privileges = get_bool(j, "noNewPrivileges", path);
    if (auto oom = opt_int<int>(j, "oomScoreAdj", path)) {
        if (*oom < -1000 || *oom > 1000) fail(join(path, "oomScoreAdj"), "must be between -1000 and 1000");
        p.oom_score_adj = *oom;
    }
    p.apparmor_profile = get_string(j, "apparmorProfile", path);
    p.selinux_label = get_string(j, "selinuxLabel", path);
    return p;
}

// --- linux.resources -----------------------------------------------------------------

std::optional<int64_t> device_number(const json& obj, const char* key, const std::string& path) {
    auto v = opt_int<int64_t>(obj, key, path);
    if (!v) return std::nullopt;
    if (*v == -1) return std::nullopt;  // libcontainer's wildcard spelling
    if (*v < 0) fail(join(path, key), "must not be negative (omit it or use -1 for any)");
    return v;
}

Resources parse_resources_object(const json& j, const std::string& path) {
    Resources r;

    each_object(j, "devices", path, [&](const json& d, const std::string& dp) {
        DeviceRule rule;
        rule.allow = get_bool(d, "allow", dp);
        rule.type = get_string(d, "type", dp);
        if (!one_of(rule.type, {"", "a", "b", "c"})) fail(join(dp, "type"), "must be one of a, b or c");
        rule.major = device_number(d, "major", dp);
        rule.minor = device_number(d, "minor", dp);
        rule.access = get_string(d, "access", dp);
        if (rule.access.find_first_not_of("rwm") != std::string::npos)
            fail(join(dp, "access"), "must contain only r, w and m");
        r.devices.push_back(std::move(rule));
    });

    if (const json* m = opt_object(j, "memory", path)) {
        const std::string mp = join(path, "memory");
        MemoryResources mem;
        mem.limit = opt_mem(*m, "limit", mp);
        mem.reservation = opt_mem(*m, "reservation", mp);
        mem.swap = opt_mem(*m, "swap", mp);
        mem.kernel = opt_mem(*m, "kernel", mp);
        mem.kernel_tcp = opt_mem(*m, "kernelTCP", mp);
        mem.swappiness = opt_int<uint64_t>(*m, "swappiness", mp);
        mem.disable_oom_killer = opt_bool(*m, "disableOOMKiller", mp);
        r.memory = mem;
    }

    if (const json* c = opt_object(j, "cpu", path)) {
        const std::string cp = join(path, "cpu");
        CpuResources cpu;
        cpu.shares = opt_int<uint64_t>(*c, "shares", cp);
        cpu.quota = opt_int<int64_t>(*c, "quota", cp);
        cpu.period = opt_int<uint64_t>(*c, "period", cp);
        cpu.realtime_runtime = opt_int<int64_t>(*c, "realtimeRuntime", cp);
        cpu.realtime_period = opt_int<uint64_t>(*c, "realtimePeriod", cp);
        cpu.cpus = get_string(*c, "cpus", cp);
        cpu.mems = get_string(*c, "mems", cp);
        cpu.idle = opt_int<int64_t>(*c, "idle", cp);
        r.cpu = std::move(cpu);
    }

    if (const json* p = opt_object(j, "pids", path)) r.pids_limit = opt_int<int64_t>(*p, "limit", join(path, "pids"));

    if (const json* b = opt_object(j, "blockIO", path)) {
        const std::string bp = join(path, "blockIO");
        BlockIoResources bio;
        bio.weight = opt_int<uint16_t>(*b, "weight", bp);
        bio.leaf_weight = opt_int<uint16_t>(*b, "leafWeight", bp);
        r.block_io = bio;
    }

    each_object(j, "hugepageLimits", path, [&](const json& h, const std::string& hp) {
        HugepageLimit hl;
        hl.page_size = get_string(h, "pageSize", hp);
        if (hl.page_size.empty()) fail(join(hp, "pageSize"), "must be a non-empty string");
        hl.limit = get_int<uint64_t>(h, "limit", hp);
        r.hugepage_limits.push_back(std::move(hl));
    });

    if (const json* n = opt_object(j, "network", path)) {
        const std::string np = join(path, "network");
        NetworkResources net;
        net.class_id = opt_int<uint32_t>(*n, "classID", np);
        each_object(*n, "priorities", np, [&](const json& p, const std::string& pp) {
            NetworkResources::Priority prio;
            prio.name = get_string(p, "name", pp);
            // One "name priority" line of net_prio.ifpriomap: an interface name, nothing more.
            if (prio.name.empty() || prio.name.size() > 15 || prio.name.find_first_of(" \t\n/") != std::string::npos)
                fail(join(pp, "name"), "must be a network interface name");
            prio.priority = get_int<uint32_t>(p, "priority", pp);
            net.priorities.push_back(std::move(prio));
        });
        r.network = std::move(net);
    }

    // Keys become file names in the cgroup directory: no path tricks.
    r.unified = string_map(j, "unified", path);
    for (const auto& [k, v] : r.unified)
        if (k.empty() || k == "." || k == ".." || k.find('/') != std::string::npos)
            fail(join(path, "unified"), "key " + dq(k) + " must be a cgroup file name");
    return r;
}

// --- linux -------------------------------------------------------------------------

constexpr std::array<std::string_view, 8> kNamespaceTypes = {"pid", "network", "mount", "ipc",
                                                             "uts", "user",    "cgroup", "time"};

constexpr std::array<std::string_view, 9> kSeccompActions = {
    "SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",  "SCMP_ACT_ERRNO",
    "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW",        "SCMP_ACT_LOG",         "SCMP_ACT_NOTIFY"};

constexpr std::array<std::string_view, 7> kSeccompOps = {
    "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"};

template <std::size_t N>
bool contains(const std::array<std::string_view, N>& a, const std::string& s) {
    return std::find(a.begin(), a.end(), s) != a.end();
}

std::string seccomp_action(const json& obj, const char* key, const std::string& path) {
    std::string a = get_string(obj, key, path);
    if (a.empty()) fail(join(path, key), "missing");
    if (!contains(kSeccompActions, a)) fail(join(path, key), "unknown seccomp action " + dq(a));
    return a;
}

Seccomp parse_seccomp(const json& j, const std::string& path) {
    Seccomp s;
    s.default_action = seccomp_action(j, "defaultAction", path);
    s.default_errno_ret = opt_int<unsigned>(j, "defaultErrnoRet", path);
    s.architectures = string_list(j, "architectures", path);
    s.flags = string_list(j, "flags", path);
    s.listener_path = get_string(j, "listenerPath", path);
    each_object(j, "syscalls", path, [&](const json& sc, const std::string& sp) {
        SeccompSyscall call;
        call.names = string_list(sc, "names", sp);
        if (call.names.empty()) fail(join(sp, "names"), "must be a non-empty array of strings");
        call.action = seccomp_action(sc, "action", sp);
        call.errno_ret = opt_int<unsigned>(sc, "errnoRet", sp);
        each_object(sc, "args", sp, [&](const json& a, const std::string& ap) {
            SeccompArg arg;
            arg.index = get_int<unsigned>(a, "index", ap);
            if (arg.index > 5) fail(join(ap, "index"), "must be between 0 and 5");
            arg.value = get_int<uint64_t>(a, "value", ap);
            arg.value_two = get_int<uint64_t>(a, "valueTwo", ap);
            arg.op = get_string(a, "op", ap);
            if (!contains(kSeccompOps, arg.op)) fail(join(ap, "op"), "unknown seccomp operator " + dq(arg.op));
            call.args.push_back(std::move(arg));
        });
        s.syscalls.push_back(std::move(call));
    });
    return s;
}

std::vector<IdMapping> id_mappings(const json& j, const char* key, const std::string& path) {
    std::vector<IdMapping> out;
    each_object(j, key, path, [&](const json& m, const std::string& mp) {
        IdMapping id;
        id.container_id = get_int<uint32_t>(m, "containerID", mp);
        id.host_id = get_int<uint32_t>(m, "hostID", mp);
        id.size = get_int<uint32_t>(m, "size", mp);
        if (id.size == 0) fail(join(mp, "size"), "must be greater than zero");
        if (uint64_t{id.container_id} + id.size > (uint64_t{1} << 32) || uint64_t{id.host_id} + id.size > (uint64_t{1} << 32))
            fail(mp, "range exceeds the 32-bit id space");
        out.push_back(id);
    });
    return out;
}

std::vector<std::string> absolute_paths(const json& j, const char* key, const std::string& path) {
    auto out = string_list(j, key, path);
    for (std::size_t i = 0; i < out.size(); ++i)
        if (!is_absolute(out[i])) fail(at(join(path, key), i), "must be an absolute path");
    return out;
}

Linux parse_linux(const json& j, const std::string& path) {
    Linux l;

    std::set<std::string> seen_ns;
    each_object(j, "namespaces", path, [&](const json& n, const std::string& np) {
        Namespace ns;
        ns.type = get_string(n, "type", np);
        if (!contains(kNamespaceTypes, ns.type)) fail(join(np, "type"), "unknown namespace type " + dq(ns.type));
        if (!seen_ns.insert(ns.type).second) fail(join(np, "type"), "duplicate namespace type " + dq(ns.type));
        ns.path = get_string(n, "path", np);
        if (!ns.path.empty() && !is_absolute(ns.path)) fail(join(np, "path"), "must be an absolute path");
        l.namespaces.push_back(std::move(ns));
    });

    l.uid_mappings = id_mappings(j, "uidMappings", path);
    l.gid_mappings = id_mappings(j, "gidMappings", path);

    each_object(j, "devices", path, [&](const json& d, const std::string& dp) {
        Device dev;
        dev.path = get_string(d, "path", dp);
        if (!is_absolute(dev.path)) fail(join(dp, "path"), "must be an absolute path");
        dev.type = get_string(d, "type", dp);
        if (!one_of(dev.type, {"c", "b", "u", "p"})) fail(join(dp, "type"), "must be one of c, b, u or p");
        auto major = opt_int<int64_t>(d, "major", dp);
        auto minor = opt_int<int64_t>(d, "minor", dp);
        if (dev.type != "p") {
            if (!major) fail(join(dp, "major"), "required for a " + dev.type + " device");
            if (!minor) fail(join(dp, "minor"), "required for a " + dev.type + " device");
        }
        if (major && *major < 0) fail(join(dp, "major"), "must not be negative");
        if (minor && *minor < 0) fail(join(dp, "minor"), "must not be negative");
        dev.major = major.value_or(0);
        dev.minor = minor.value_or(0);
        if (auto mode = opt_int<uint32_t>(d, "fileMode", dp)) dev.file_mode = static_cast<mode_t>(*mode);
        if (auto uid = opt_int<uint32_t>(d, "uid", dp)) dev.uid = static_cast<uid_t>(*uid);
        if (auto gid = opt_int<uint32_t>(d, "gid", dp)) dev.gid = static_cast<gid_t>(*gid);
        l.devices.push_back(std::move(dev));
    });

    l.cgroups_path = get_string(j, "cgroupsPath", path);
    if (const json* r = opt_object(j, "resources", path)) l.resources = parse_resources_object(*r, join(path, "resources"));

    l.sysctl = string_map(j, "sysctl", path);
    for (const auto& [k, v] : l.sysctl)
        if (k.empty() || k.find("..") != std::string::npos || k.front() == '.' || k.front() == '/')
            fail(join(path, "sysctl"), "invalid sysctl name " + dq(k));

    if (const json* s = opt_object(j, "seccomp", path)) l.seccomp = parse_seccomp(*s, join(path, "seccomp"));

    l.rootfs_propagation = get_string(j, "rootfsPropagation", path);
    if (!one_of(l.rootfs_propagation,
                {"", "private", "rprivate", "slave", "rslave", "shared", "rshared", "unbindable", "runbindable"}))
        fail(join(path, "rootfsPropagation"), "unknown propagation " + dq(l.rootfs_propagation));

    l.masked_paths = absolute_paths(j, "maskedPaths", path);
    l.readonly_paths = absolute_paths(j, "readonlyPaths", path);
    l.mount_label = get_string(j, "mountLabel", path);
    return l;
}

// --- top level -----------------------------------------------------------------------

std::vector<Hook> parse_hook_list(const json& j, const char* key, const std::string& path) {
    std::vector<Hook> out;
    each_object(j, key, path, [&](const json& h, const std::string& hp) {
        Hook hook;
        hook.path = get_string(h, "path", hp);
        if (!is_absolute(hook.path)) fail(join(hp, "path"), "must be an absolute path");
        hook.args = string_list(h, "args", hp);
        hook.env = string_list(h, "env", hp);
        hook.timeout = opt_int<int>(h, "timeout", hp);
        if (hook.timeout && *hook.timeout <= 0) fail(join(hp, "timeout"), "must be greater than zero");
        out.push_back(std::move(hook));
    });
    return out;
}

Spec parse_spec_object(const json& j) {
    Spec s;
    s.oci_version = get_string(j, "ociVersion", "");
    // Within a major version the spec only adds fields; another major may mean anything.
    if (!s.oci_version.empty() && s.oci_version.substr(0, s.oci_version.find('.')) != "1")
        fail("ociVersion", "unsupported version \"" + s.oci_version + "\" (this runtime implements 1.x)");
    if (const json* p = opt_object(j, "process", "")) s.process = parse_process_object(*p, "process");

    const json* root = opt_object(j, "root", "");
    if (!root) fail("root", "missing");
    s.root_path = get_string(*root, "path", "root");
    if (s.root_path.empty()) fail("root.path", "must be a non-empty string");
    s.root_readonly = get_bool(*root, "readonly", "root");

    s.hostname = get_string(j, "hostname", "");
    s.domainname = get_string(j, "domainname", "");

    each_object(j, "mounts", "", [&](const json& m, const std::string& mp) {
        Mount mount;
        const json* dest = find(m, "destination");
        if (!dest) fail(join(mp, "destination"), "missing");
        mount.destination = as_string(*dest, join(mp, "destination"));
        if (!is_absolute(mount.destination)) fail(join(mp, "destination"), "must be an absolute path");
        mount.type = get_string(m, "type", mp);
        mount.source = get_string(m, "source", mp);
        mount.options = string_list(m, "options", mp);
        s.mounts.push_back(std::move(mount));
    });

    if (const json* h = opt_object(j, "hooks", "")) {
        s.hooks.prestart = parse_hook_list(*h, "prestart", "hooks");
        s.hooks.create_runtime = parse_hook_list(*h, "createRuntime", "hooks");
        s.hooks.create_container = parse_hook_list(*h, "createContainer", "hooks");
        s.hooks.start_container = parse_hook_list(*h, "startContainer", "hooks");
        s.hooks.poststart = parse_hook_list(*h, "poststart", "hooks");
        s.hooks.poststop = parse_hook_list(*h, "poststop", "hooks");
    }

    s.annotations = string_map(j, "annotations", "");
    if (const json* l = opt_object(j, "linux", "")) s.linux = parse_linux(*l, "linux");
    return s;
}

// Parse text into a JSON object, bounded in size and depth; then run `build` on it,
// turning field errors into "<file>: <path>: <why>".
template <typename F>
auto parse_document(const std::string& text, const char* file, F&& build) {
    const std::string prefix = std::string(file) + ": ";
    if (text.size() > kMaxTextSize)
        throw Error(prefix + "too large (" + std::to_string(text.size()) + " bytes, limit 16 MiB)");
    json doc;
    try {
        doc = json::parse(text, [](int depth, json::parse_event_t, json&) {
            if (depth > kMaxDepth) throw FieldError{"", "nested more than " + std::to_string(kMaxDepth) + " levels deep"};
            return true;
        });
    } catch (const json::parse_error& e) {
        throw Error(prefix + "invalid JSON at byte " + std::to_string(e.byte));
    } catch (const FieldError& e) {
        throw Error(prefix + e.why);
    }
    if (!doc.is_object()) throw Error(prefix + "expected a JSON object");
    try {
        return build(doc);
    } catch (const FieldError& e) {
        throw Error(prefix + (e.path.empty() ? e.why : e.path + ": " + e.why));
    } catch (const json::exception& e) {  // a type mismatch the checks above missed
        throw Error(prefix + e.what());
    }
}

bool cgroup2_unified() {
    struct statfs st{};
    constexpr long kCgroup2SuperMagic = 0x63677270;
    return ::statfs("/sys/fs/cgroup", &st) == 0 && static_cast<long>(st.f_type) == kCgroup2SuperMagic;
}

}  // namespace

bool Spec::has_namespace(const std::string& type) const { return find_namespace(type) != nullptr; }

const Namespace* Spec::find_namespace(const std::string& type) const {
    for (const auto& ns : linux.namespaces)
        if (ns.type == type) return &ns;
    return nullptr;
}

Spec parse_spec(const std::string& json_text) {
    return parse_document(json_text, "config.json", [](const json& j) { return parse_spec_object(j); });
}

Seccomp parse_seccomp_document(const std::string& json_text, const std::string& document) {
    return parse_document(json_text, document.c_str(), [](const json& j) { return parse_seccomp(j, ""); });
}

Process parse_process(const std::string& json_text) {
    return parse_document(json_text, "process.json", [](const json& j) { return parse_process_object(j, ""); });
}

Resources parse_resources(const std::string& json_text) {
    return parse_document(json_text, "resources.json", [](const json& j) { return parse_resources_object(j, ""); });
}

std::string default_spec_json(bool rootless) {
    Spec spec;
    spec.oci_version = "1.0.2-dev";
    Process& p = spec.process.emplace();
    p.terminal = true;
    p.args = {"sh"};
    p.env = {std::string("PATH=") + kDefaultPath, "TERM=xterm"};
    const std::vector<std::string> caps = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
    p.capabilities = Capabilities{caps, caps, {}, caps, {}};
    p.rlimits = {{"RLIMIT_NOFILE", 1024, 1024}};
    p.no_new_privileges = true;
    spec.root_path = "rootfs";
    spec.root_readonly = true;
    spec.hostname = "minirun";

    std::vector<std::string> devpts = {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"};
    if (!rootless) devpts.push_back("gid=5");  // no group 5 inside a one-id user namespace
    spec.mounts = {
        {"/proc", "proc", "proc", {}},
        {"/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}},
        {"/dev/pts", "devpts", "devpts", devpts},
        {"/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
        {"/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}},
    };
    if (rootless)  // a fresh sysfs needs a network namespace we do not own; bind the host's
        spec.mounts.push_back({"/sys", "none", "/sys", {"rbind", "nosuid", "noexec", "nodev", "ro"}});
    else
        spec.mounts.push_back({"/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}});
    spec.mounts.push_back({"/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"}});

    Linux& lin = spec.linux;
    for (const char* type : {"pid", "network", "ipc", "uts", "mount", "cgroup", "user"}) {
        std::string t = type;
        if (t == "network" && rootless) continue;  // an unprivileged user cannot configure one
        if (t == "cgroup" && !cgroup2_unified()) continue;
        if (t == "user" && !rootless) continue;
        lin.namespaces.push_back({t, ""});
    }
    if (rootless) {
        lin.uid_mappings = {{0, static_cast<uint32_t>(::geteuid()), 1}};
        lin.gid_mappings = {{0, static_cast<uint32_t>(::getegid()), 1}};
    } else {  // rootless containers usually cannot write cgroups: leave resources out
        lin.resources.emplace().devices = {{false, "", std::nullopt, std::nullopt, "rwm"}};
    }
    // runc's list; current runc also masks the TPM event log.
    lin.masked_paths = {"/proc/acpi",          "/proc/asound",     "/proc/kcore",       "/proc/keys",
                        "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
                        "/sys/firmware",       "/proc/scsi",       "/sys/devices/virtual/tpm"};
    lin.readonly_paths = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
    return write_spec(spec);
}

}  // namespace minirun::runtime
