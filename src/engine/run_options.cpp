// RunRequest options checked and typed, command and environment (see run_options.hpp).
#include "minirun/engine/run_options.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <sstream>

#include "bridge_glue.hpp"
#include "minirun/common/env_file.hpp"
#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/common/log.hpp"
#include "minirun/common/process.hpp"
#include "minirun/common/strings.hpp"
#include "minirun/common/units.hpp"
#include "minirun/engine/image_config.hpp"
#include "minirun/engine/logs.hpp"
#include "minirun/network/addressing.hpp"
#include "minirun/runtime/seccomp.hpp"

namespace minirun::engine {

namespace {

std::map<std::string, std::string> key_values(const std::vector<std::string>& items, const char* what) {
    std::map<std::string, std::string> out;
    for (auto& i : items) {
        auto eq = i.find('=');
        if (eq == std::string::npos || eq == 0)
            throw Error(std::string("invalid ") + what + " \"" + i + "\": expected key=value", ErrorKind::InvalidArgument);
        out[i.substr(0, eq)] = i.substr(eq + 1);
    }
    return out;
}

// KEY=VALUE; "KEY" alone takes the caller's value, as Docker does (and is dropped when unset).
void add_env(std::vector<std::string>& env, const std::string& item) {
    auto eq = item.find('=');
    if (eq != std::string::npos)
        return set_env_entry(env, std::string_view(item).substr(0, eq), std::string_view(item).substr(eq + 1));
    if (const char* v = std::getenv(item.c_str())) set_env_entry(env, item, v);
}

void add_env_file(std::vector<std::string>& env, const std::string& path) {
    try {
        for (auto& e : read_env_file(path, EnvFileDialect::docker)) add_env(env, e.value ? e.name + "=" + *e.value : e.name);
    } catch (const Error& e) {
        throw wrap_error(e, "--env-file");
    }
}

std::optional<double> check_cpus(const std::string& text, long host_cpus) {
    if (text.empty()) return std::nullopt;
    char* end = nullptr;
    double v = std::strtod(text.c_str(), &end);
    if (*end || v <= 0)
        throw Error("invalid --cpus \"" + text + "\": expected a positive number", ErrorKind::InvalidArgument);
    if (host_cpus > 0 && v > static_cast<double>(host_cpus))
        throw Error("invalid --cpus \"" + text + "\": range of CPUs is from 0.01 to " + std::to_string(host_cpus) +
                        ", as there are only " + std::to_string(host_cpus) + " CPUs available",
                    ErrorKind::InvalidArgument);
    return v;
}

[[noreturn]] void invalid(const std::string& flag, const std::string& value, const std::string& why) {
    throw Error("invalid " + flag + " \"" + value + "\": " + why, ErrorKind::InvalidArgument);
}

bool parse_int(const std::string& text, int64_t& out) {
    if (text.empty()) return false;
    char* end = nullptr;
    errno = 0;
    long long v = std::strtoll(text.c_str(), &end, 10);
    if (*end || errno) return false;
    out = v;
    return true;
}

}  // namespace

DeviceRequest parse_device_flag(const std::string& text) {
    DeviceRequest d;
    std::vector<std::string> parts;
    size_t start = 0;
    for (size_t c; (c = text.find(':', start)) != std::string::npos; start = c + 1) parts.push_back(text.substr(start, c - start));
    parts.push_back(text.substr(start));
    auto is_perms = [](const std::string& p) {
        return !p.empty() && p.size() <= 3 && p.find_first_not_of("rwm") == std::string::npos;
    };
    if (parts.size() > 3) invalid("--device", text, "expected HOST[:CONTAINER][:PERMISSIONS]");
    d.host_path = parts[0];
    if (parts.size() == 2) {
        if (is_perms(parts[1])) d.permissions = parts[1];
        else d.container_path = parts[1];
    } else if (parts.size() == 3) {
        d.container_path = parts[1];
        if (!is_perms(parts[2])) invalid("--device", text, "permissions are r, w and m");
        d.permissions = parts[2];
    }
    if (d.container_path.empty()) d.container_path = d.host_path;
    if (d.host_path.empty() || d.host_path[0] != '/') invalid("--device", text, "the host device must be an absolute path");
    if (d.container_path[0] != '/') invalid("--device", text, "the container path must be absolute");
    return d;
}

runtime::DeviceRule parse_device_cgroup_rule(const std::string& text) {
    // TYPE MAJOR:MINOR ACCESS, as in devices.allow
    std::istringstream in(text);
    std::string type, numbers, access, extra;
    if (!(in >> type >> numbers >> access) || (in >> extra)) invalid("--device-cgroup-rule", text, "expected \"TYPE MAJOR:MINOR ACCESS\"");
    if (type != "a" && type != "c" && type != "b") invalid("--device-cgroup-rule", text, "the type is a, c or b");
    if (access.empty() || access.size() > 3 || access.find_first_not_of("rwm") != std::string::npos)
        invalid("--device-cgroup-rule", text, "access is r, w and m");
    auto colon = numbers.find(':');
    if (colon == std::string::npos) invalid("--device-cgroup-rule", text, "expected MAJOR:MINOR");
    auto number = [&](const std::string& n) -> std::optional<int64_t> {
        if (n == "*") return std::nullopt;
        int64_t v = 0;
        if (!parse_int(n, v) || v < 0) invalid("--device-cgroup-rule", text, "a device number is a number or *");
        return v;
    };
    runtime::DeviceRule r;
    r.allow = true;
    r.type = type;
    r.major = number(numbers.substr(0, colon));
    r.minor = number(numbers.substr(colon + 1));
    r.access = access;
    return r;
}

runtime::Rlimit parse_ulimit(const std::string& text) {
    static const char* const names[] = {"core",   "cpu",    "data",  "fsize",  "locks",      "memlock", "msgqueue",
                                        "nice",   "nofile", "nproc", "rss",    "rtprio",     "rttime",  "sigpending",
                                        "stack"};
    auto eq = text.find('=');
    if (eq == std::string::npos) invalid("--ulimit", text, "expected NAME=SOFT[:HARD]");
    std::string name = text.substr(0, eq), values = text.substr(eq + 1);
    if (std::find(std::begin(names), std::end(names), name) == std::end(names))
        invalid("--ulimit", text, "unknown limit \"" + name + "\"");
    auto colon = values.find(':');
    auto value = [&](const std::string& v) -> uint64_t {
        int64_t n = 0;
        if (!parse_int(v, n) || n < -1) invalid("--ulimit", text, "a limit is a number, or -1 for unlimited");
        return n == -1 ? UINT64_MAX : static_cast<uint64_t>(n);
    };
    runtime::Rlimit r;
    std::string upper = name;
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    r.type = "RLIMIT_" + upper;
    r.soft = value(values.substr(0, colon));
    r.hard = colon == std::string::npos ? r.soft : value(values.substr(colon + 1));
    if (r.soft > r.hard) invalid("--ulimit", text, "the soft limit is above the hard limit");
    return r;
}

std::pair<std::string, std::string> parse_sysctl(const std::string& text, const std::string& network) {
    auto eq = text.find('=');
    if (eq == std::string::npos || eq == 0) invalid("--sysctl", text, "expected KEY=VALUE");
    std::string key = text.substr(0, eq);
    for (auto& c : key)
        if (c == '/') c = '.';  // net/ipv4/ip_forward is the same key
    static const char* const ipc[] = {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
                                      "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"};
    bool is_ipc = std::find(std::begin(ipc), std::end(ipc), key) != std::end(ipc) || key.rfind("fs.mqueue.", 0) == 0;
    if (key.rfind("net.", 0) == 0) {
        if (network == "host") invalid("--sysctl", text, "net.* cannot be set on the host's network (--network host)");
    } else if (!is_ipc) {
        invalid("--sysctl", text, "not a namespaced sysctl: only IPC ones (kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.*) and net.*");
    }
    return {key, text.substr(eq + 1)};
}

void check_cpuset(const std::string& text, const char* flag, long available) {
    // "0-2,4,7": ranges and single numbers, ascending within a range
    size_t start = 0;
    while (start <= text.size()) {
        size_t comma = text.find(',', start);
        std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        auto dash = item.find('-');
        int64_t lo = 0, hi = 0;
        bool ok = dash == std::string::npos ? parse_int(item, lo) && (hi = lo, true)
                                            : parse_int(item.substr(0, dash), lo) && parse_int(item.substr(dash + 1), hi);
        if (!ok || lo < 0 || hi < lo) invalid(flag, text, "expected a list like 0-2,4");
        if (available > 0 && hi >= available)
            invalid(flag, text, "requested CPUs are not available - available: 0-" + std::to_string(available - 1));
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
}

namespace {

// The resource and process flags (check_run_options' second half).
void check_resource_options(const RunRequest& req, long host_cpus, CheckedRunOptions& o) {
    for (auto& u : req.ulimits) {
        auto r = parse_ulimit(u);
        std::erase_if(o.rlimits, [&](const runtime::Rlimit& x) { return x.type == r.type; });  // the last one wins
        o.rlimits.push_back(r);
    }
    for (auto& s : req.sysctls) {
        auto [key, value] = parse_sysctl(s, req.network);
        o.sysctls[key] = value;
    }
    if (!req.shm_size.empty()) {
        o.shm_bytes = static_cast<int64_t>(parse_size(req.shm_size, "--shm-size"));
        if (*o.shm_bytes <= 0) invalid("--shm-size", req.shm_size, "the size must be greater than 0");
    }
    if (!req.memory_reservation.empty()) {
        o.memory_reservation_bytes = static_cast<int64_t>(parse_size(req.memory_reservation, "--memory-reservation"));
        if (o.memory_bytes && *o.memory_reservation_bytes > *o.memory_bytes)
            invalid("--memory-reservation", req.memory_reservation, "it must be below the --memory limit");
    }
    if (!req.memory_swap.empty()) {
        if (!o.memory_bytes) invalid("--memory-swap", req.memory_swap, "it needs --memory too");
        o.memory_swap_bytes = req.memory_swap == "-1" ? -1 : static_cast<int64_t>(parse_size(req.memory_swap, "--memory-swap"));
        if (*o.memory_swap_bytes != -1 && *o.memory_swap_bytes < *o.memory_bytes)
            invalid("--memory-swap", req.memory_swap, "it is memory plus swap, so at least --memory");
    }
    if (!req.cpuset_cpus.empty()) check_cpuset(req.cpuset_cpus, "--cpuset-cpus", host_cpus);
    if (!req.cpuset_mems.empty()) check_cpuset(req.cpuset_mems, "--cpuset-mems", 0);
    o.cpuset_cpus = req.cpuset_cpus;
    o.cpuset_mems = req.cpuset_mems;
    if (req.cpu_shares) {
        if (*req.cpu_shares < 2 || *req.cpu_shares > 262144)
            invalid("--cpu-shares", std::to_string(*req.cpu_shares), "the range is 2 to 262144");
        o.cpu_shares = static_cast<uint64_t>(*req.cpu_shares);
    }
    if (req.oom_score_adj) {
        if (*req.oom_score_adj < -1000 || *req.oom_score_adj > 1000)
            invalid("--oom-score-adj", std::to_string(*req.oom_score_adj), "the range is -1000 to 1000");
        o.oom_score_adj = req.oom_score_adj;
    }
    for (auto& d : req.devices) o.devices.push_back(parse_device_flag(d));
    for (auto& r : req.device_cgroup_rules) o.device_rules.push_back(parse_device_cgroup_rule(r));
    if (req.network == "none" && (!req.dns.empty() || !req.dns_search.empty() || !req.dns_options.empty()))
        throw Error("conflicting options: dns and the network mode: none", ErrorKind::InvalidArgument);
    for (auto& ns : req.dns) {
        bool v4 = ns.find_first_not_of("0123456789.") == std::string::npos && std::count(ns.begin(), ns.end(), '.') == 3;
        bool v6 = ns.find(':') != std::string::npos && ns.find_first_not_of("0123456789abcdefABCDEF:.") == std::string::npos;
        if (!v4 && !v6) invalid("--dns", ns, "expected an IP address");
    }
    for (auto& g : req.group_add)
        if (g.empty() || g.find_first_of(": \t") != std::string::npos) invalid("--group-add", g, "expected a group name or id");
}


// Docker reads the file when the container is created and keeps its text: so do we
// (config.json holds the resolved filter). Checked now, so a bad file fails the run.
void load_seccomp_profile(const std::string& path, CheckedRunOptions& o) {
    const std::string what = "--security-opt seccomp=" + path;
    if (path.empty()) throw Error(what + ": no profile file given", ErrorKind::InvalidArgument);
    try {
        o.seccomp_profile = fs::read_file(path, 4 << 20);
        runtime::seccomp_from_profile(o.seccomp_profile, path, {});
    } catch (const Error& e) {
        throw Error(what + ": " + e.what(), ErrorKind::InvalidArgument);
    }
    o.seccomp_profile_source = path;
}

// --ip, --mac-address and --link, as far as they can be checked before the network is.
void check_endpoint_flags(const RunRequest& req) {
    bool user_network = req.network != "bridge" && req.network != "host" && req.network != "none" && !req.network.empty();
    if (!req.ip.empty()) {
        if (!user_network)
            throw Error("--ip " + req.ip + ": user specified IP address is supported on user defined networks only",
                        ErrorKind::InvalidArgument);
        if (!network::parse_ipv4(req.ip)) throw Error("invalid --ip \"" + req.ip + "\": expected an IPv4 address", ErrorKind::InvalidArgument);
    }
    if (!req.mac_address.empty()) {
        const std::string& m = req.mac_address;
        bool ok = m.size() == 17;
        for (size_t i = 0; ok && i < m.size(); ++i) ok = i % 3 == 2 ? m[i] == ':' : std::isxdigit(static_cast<unsigned char>(m[i])) != 0;
        if (!ok) throw Error("invalid --mac-address \"" + m + "\": expected xx:xx:xx:xx:xx:xx", ErrorKind::InvalidArgument);
        if (std::stoi(m.substr(0, 2), nullptr, 16) & 1)
            throw Error("invalid --mac-address \"" + m + "\": a multicast address", ErrorKind::InvalidArgument);
        if (req.network == "host" || req.network == "none")
            throw Error("--mac-address needs a bridge network, not --network " + req.network, ErrorKind::InvalidArgument);
    }
    for (auto& l : req.links) {
        auto colon = l.find(':');
        if (l.empty() || colon == 0 || (colon != std::string::npos && colon + 1 == l.size()))
            throw Error("invalid --link \"" + l + "\": expected NAME[:ALIAS]", ErrorKind::InvalidArgument);
        if (req.network == "host" || req.network == "none")
            throw Error("--link needs a bridge network, not --network " + req.network, ErrorKind::InvalidArgument);
    }
}

}  // namespace

CheckedRunOptions check_run_options(const RunRequest& req, long host_cpus) {
    CheckedRunOptions o;
    o.pull = registry::parse_pull_policy(req.pull);
    o.restart = RestartPolicy::parse(req.restart);
    if (req.remove && o.restart.name != "no")
        throw Error("conflicting options: --restart and --rm", ErrorKind::InvalidArgument);
    o.log_opts = key_values(req.log_opts, "--log-opt");
    validate_log_options(req.log_driver, o.log_opts);
    o.ports = parse_published_ports(req.publish);
    if (!req.memory.empty()) {
        o.memory_bytes = static_cast<int64_t>(parse_size(req.memory, "--memory"));
        if (*o.memory_bytes < 6 * 1024 * 1024)
            throw Error("invalid --memory \"" + req.memory + "\": the minimum allowed memory limit is 6MB",
                        ErrorKind::InvalidArgument);
    }
    o.cpus = check_cpus(req.cpus, host_cpus);
    if (!req.user.empty()) check_user_spec(req.user);
    for (auto& e : req.env)
        if (e.empty() || e[0] == '=')
            throw Error("invalid -e \"" + e + "\": the variable name is empty", ErrorKind::InvalidArgument);
    check_ports_on_network(req.network, o.ports);
    check_endpoint_flags(req);
    o.labels = key_values(req.labels, "--label");
    for (auto& h : req.add_hosts) {
        auto colon = h.find(':');
        if (colon == std::string::npos || colon == 0 || colon + 1 == h.size())
            throw Error("invalid --add-host \"" + h + "\": expected host:ip", ErrorKind::InvalidArgument);
    }
    for (auto& opt : req.security_opts) {
        if (opt == "no-new-privileges" || opt == "no-new-privileges:true" || opt == "no-new-privileges=true")
            o.no_new_privileges = true;
        else if (opt == "seccomp=unconfined" || opt == "seccomp:unconfined")
            o.seccomp_unconfined = true;
        else if (opt.rfind("seccomp=", 0) == 0 || opt.rfind("seccomp:", 0) == 0)
            load_seccomp_profile(opt.substr(8), o);
        else if (opt.rfind("apparmor=", 0) == 0 || opt.rfind("apparmor:", 0) == 0)
            log::warn("--security-opt " + opt + " is ignored: minirun does not load AppArmor profiles");
        else if (opt.rfind("label=", 0) == 0 || opt.rfind("label:", 0) == 0)
            log::warn("--security-opt " + opt + " is ignored: minirun does not apply SELinux labels");
        else
            throw Error("unsupported --security-opt \"" + opt + "\"", ErrorKind::InvalidArgument);
    }
    if (!req.userns.empty() && req.userns != "host")
        throw Error("unsupported --userns \"" + req.userns +
                        "\": containers run in the host's user namespace (only --userns=host is accepted, as Docker without "
                        "userns-remap)",
                    ErrorKind::InvalidArgument);
    check_resource_options(req, host_cpus, o);
    return o;
}

void check_ports_on_network(const std::string& network, const std::vector<network::PortMapping>& ports) {
    if ((network == "host" || network == "none") && !ports.empty())
        throw Error("published ports need a bridge network, not --network " + network, ErrorKind::InvalidArgument);
}

std::vector<std::string> container_command(const RunRequest& req, const image::ContainerConfig& image) {
    std::vector<std::string> entry = image.entrypoint, cmd = req.command.empty() ? image.cmd : req.command;
    if (req.entrypoint) {
        entry = req.entrypoint->empty() ? std::vector<std::string>{} : std::vector<std::string>{*req.entrypoint};
        if (req.command.empty()) cmd.clear();
    }
    entry.insert(entry.end(), cmd.begin(), cmd.end());
    return entry;
}

std::vector<std::string> container_env(const RunRequest& req, const image::ContainerConfig& image,
                                       const std::string& hostname, const std::string& home) {
    std::vector<std::string> env = image.env;
    if (!has_env(env, "PATH")) env.push_back(std::string("PATH=") + kDefaultPath);
    env.push_back("HOSTNAME=" + hostname);
    if (req.tty) env.push_back("TERM=xterm");
    for (auto& f : req.env_files) add_env_file(env, f);
    for (auto& e : req.env) add_env(env, e);
    if (!has_env(env, "HOME")) env.push_back("HOME=" + home);
    return env;
}

}  // namespace minirun::engine
