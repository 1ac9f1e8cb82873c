// Loading a Compose file: YAML (yaml-cpp) → validated, interpolated Project.
#include "minirun/compose/project.hpp"

#include "minirun/engine/run_options.hpp"

#include <unistd.h>  // environ

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <set>

#include "interpolate.hpp"
#include "yaml_merge.hpp"
#include "minirun/common/error.hpp"
#include "minirun/common/units.hpp"
#include "minirun/engine/mount_request.hpp"

namespace minirun::compose {

namespace stdfs = std::filesystem;
using detail::Env;

namespace {

// Service keys we carry out; keys of the Compose Specification we do not (an error
// naming them, never silently dropped); keys Compose accepts that change nothing here.
const std::set<std::string> kServiceKeys = {
    "image", "build", "command", "entrypoint", "environment", "env_file", "ports", "volumes", "tmpfs", "networks",
    "restart", "depends_on", "healthcheck", "labels", "logging", "user", "working_dir", "hostname", "extra_hosts",
    "mem_limit", "cpus", "pids_limit", "read_only", "cap_add", "cap_drop", "stop_signal", "stop_grace_period", "init",
    "container_name", "privileged", "expose", "profiles", "ulimits", "sysctls", "shm_size", "cpuset", "cpu_shares",
    "mem_reservation", "memswap_limit", "oom_score_adj", "group_add", "devices", "device_cgroup_rules", "dns",
    "dns_search", "dns_opt"};
const std::set<std::string> kSpecServiceKeys = {
    "annotations", "attach", "blkio_config", "cpu_count", "cpu_percent", "cpu_period", "cpu_quota",
    "cpu_rt_runtime", "cpu_rt_period", "cgroup", "cgroup_parent", "configs", "credential_spec",
    "domainname", "external_links", "ipc", "isolation", "links", "mac_address", "mem_swappiness", "network_mode",
    "oom_kill_disable", "pid", "platform", "pull_policy", "runtime", "scale", "secrets",
    "security_opt", "stdin_open", "storage_opt", "tty", "userns_mode", "uts",
    "volumes_from", "develop", "post_start", "pre_stop", "gpus", "label_file", "models", "use_api_socket", "provider"};

struct Loader {
    stdfs::path file;
    Env env;
    Project& p;

    std::string at(const YAML::Node& n) const {
        auto m = n.Mark();
        return file.string() + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
    }
    [[noreturn]] void fail(const YAML::Node& n, const std::string& what) const { throw Error(at(n) + ": " + what); }

    std::string str(const YAML::Node& n, const std::string& key) const {
        if (!n.IsScalar()) fail(n, key + " must be a string");
        return detail::interpolate(n.Scalar(), env, at(n));
    }
    bool boolean(const YAML::Node& n, const std::string& key) const {
        std::string v = str(n, key);
        std::transform(v.begin(), v.end(), v.begin(), ::tolower);
        if (v == "true" || v == "yes" || v == "on") return true;
        if (v == "false" || v == "no" || v == "off") return false;
        fail(n, key + ": expected true or false, got \"" + v + "\"");
    }
    int64_t integer(const YAML::Node& n, const std::string& key) const {
        std::string v = str(n, key);
        try {
            size_t used = 0;
            long long x = std::stoll(v, &used);
            if (used == v.size()) return x;
        } catch (const std::exception&) {
        }
        fail(n, key + ": expected a whole number, got \"" + v + "\"");
    }
    std::vector<std::string> strings(const YAML::Node& n, const std::string& key) const {
        std::vector<std::string> out;
        if (n.IsScalar()) return {str(n, key)};
        if (!n.IsSequence()) fail(n, key + " must be a list of strings");
        for (auto e : n) out.push_back(str(e, key));
        return out;
    }
    // A command/entrypoint: a string split into words, or a list.
    std::vector<std::string> command(const YAML::Node& n, const std::string& key) const {
        if (n.IsScalar()) return detail::split_command(str(n, key), at(n));
        return strings(n, key);
    }
    // `KEY=VALUE` lists or maps (environment, labels, extra_hosts): KEY=VALUE strings.
    std::vector<std::pair<std::string, std::optional<std::string>>> pairs(const YAML::Node& n, const std::string& key,
                                                                          char sep = '=') const {
        std::vector<std::pair<std::string, std::optional<std::string>>> out;
        if (n.IsMap()) {
            for (auto kv : n) {
                std::string k = kv.first.Scalar();
                if (kv.second.IsNull()) out.emplace_back(k, std::nullopt);
                else out.emplace_back(k, str(kv.second, key + "." + k));
            }
        } else if (n.IsSequence()) {
            for (auto e : n) {
                std::string s = str(e, key);
                auto eq = s.find(sep);
                if (eq == std::string::npos) out.emplace_back(s, std::nullopt);
                else out.emplace_back(s.substr(0, eq), s.substr(eq + 1));
            }
        } else if (!n.IsNull()) {
            fail(n, key + " must be a map or a list");
        }
        for (auto& [k, v] : out)
            if (k.empty()) fail(n, key + ": an entry has an empty name");
        return out;
    }
    void only_keys(const YAML::Node& n, const std::string& where, const std::set<std::string>& allowed) const {
        if (!n.IsMap()) fail(n, where + " must be a map");
        for (auto kv : n) {
            std::string k = kv.first.Scalar();
            if (k.rfind("x-", 0) == 0) continue;  // extensions are for the user
            if (!allowed.count(k)) fail(kv.first, "unknown key " + where + "." + k);
        }
    }
    // Checked here with the engine's own parsers, so a bad value names its file:line.
    template <class Fn>
    auto checked(const YAML::Node& n, const std::string& key, Fn fn) const {
        try {
            return fn();
        } catch (const Error& e) {
            fail(n, key + ": " + e.what());
        }
    }
    // ulimits, sysctls, shm_size, cpuset, cpu_shares, mem_reservation, memswap_limit,
    // oom_score_adj, group_add, devices, device_cgroup_rules, dns, dns_search, dns_opt.
    void resource_keys(const YAML::Node& n, Service& s) const {
        if (auto u = n["ulimits"]) {
            if (!u.IsMap()) fail(u, "ulimits must be a map");
            for (auto kv : u) {
                std::string name = kv.first.Scalar(), value;
                if (kv.second.IsMap()) {
                    only_keys(kv.second, "ulimits." + name, {"soft", "hard"});
                    if (!kv.second["soft"] || !kv.second["hard"]) fail(kv.second, "ulimits." + name + " needs soft and hard");
                    value = std::to_string(integer(kv.second["soft"], "soft")) + ":" + std::to_string(integer(kv.second["hard"], "hard"));
                } else {
                    value = std::to_string(integer(kv.second, "ulimits." + name));
                }
                std::string flag = name + "=" + value;
                checked(kv.second, "ulimits", [&] { return engine::parse_ulimit(flag); });
                s.ulimits.push_back(flag);
            }
        }
        if (n["sysctls"])
            for (auto& [k, v] : pairs(n["sysctls"], "sysctls")) {
                std::string flag = k + "=" + v.value_or("");
                checked(n["sysctls"], "sysctls", [&] { return engine::parse_sysctl(flag, "bridge"); });
                s.sysctls.push_back(flag);
            }
        if (n["shm_size"]) s.shm_size = str(n["shm_size"], "shm_size");
        if (n["cpuset"]) s.cpuset = str(n["cpuset"], "cpuset");
        if (n["cpu_shares"]) s.cpu_shares = integer(n["cpu_shares"], "cpu_shares");
        if (n["mem_reservation"]) s.mem_reservation = str(n["mem_reservation"], "mem_reservation");
        if (n["memswap_limit"]) s.memswap_limit = str(n["memswap_limit"], "memswap_limit");
        if (n["oom_score_adj"]) s.oom_score_adj = static_cast<int>(integer(n["oom_score_adj"], "oom_score_adj"));
        if (n["group_add"]) s.group_add = strings(n["group_add"], "group_add");
        if (auto d = n["devices"]) {
            if (!d.IsSequence()) fail(d, "devices must be a list");
            for (auto e : d) {
                std::string flag;
                if (e.IsMap()) {  // long syntax: source, target, permissions
                    only_keys(e, "devices[]", {"source", "target", "permissions"});
                    if (!e["source"]) fail(e, "devices: an entry has no source");
                    flag = str(e["source"], "source") + ":" + (e["target"] ? str(e["target"], "target") : str(e["source"], "source"));
                    if (e["permissions"]) flag += ":" + str(e["permissions"], "permissions");
                } else {
                    flag = str(e, "devices");
                }
                // vendor.com/class=name: a CDI device, resolved when the container is made
                bool cdi = flag.find('=') != std::string::npos && !flag.empty() && flag[0] != '/';
                if (!cdi) checked(e, "devices", [&] { return engine::parse_device_flag(flag); });
                s.devices.push_back(flag);
            }
        }
        if (n["device_cgroup_rules"])
            for (auto& rule : strings(n["device_cgroup_rules"], "device_cgroup_rules")) {
                checked(n["device_cgroup_rules"], "device_cgroup_rules", [&] { return engine::parse_device_cgroup_rule(rule); });
                s.device_cgroup_rules.push_back(rule);
            }
        if (n["dns"]) s.dns = strings(n["dns"], "dns");
        if (n["dns_search"]) s.dns_search = strings(n["dns_search"], "dns_search");
        if (n["dns_opt"]) s.dns_options = strings(n["dns_opt"], "dns_opt");
    }

    stdfs::path resolve(const std::string& path) const {
        if (path.rfind("~/", 0) == 0 && env.count("HOME")) return stdfs::path(env.at("HOME")) / path.substr(2);
        stdfs::path pth(path);
        return (pth.is_absolute() ? pth : p.dir / pth).lexically_normal();
    }

    std::string network_name(const YAML::Node& where, const std::string& key) const {
        auto it = p.networks.find(key);
        if (it == p.networks.end()) fail(where, "service refers to undefined network " + key);
        return it->second.name;
    }
    std::string volume_name(const YAML::Node& where, const std::string& key) const {
        auto it = p.volumes.find(key);
        if (it == p.volumes.end()) fail(where, "service refers to undefined volume " + key);
        return it->second.name;
    }

    // "SRC:DST[:MODE]" or a bare "DST" (anonymous) in Docker's -v terms.
    std::string short_volume(const YAML::Node& n, const std::string& spec) const {
        auto first = spec.find(':');
        if (first == std::string::npos) return spec;  // anonymous volume
        std::string src = spec.substr(0, first), rest = spec.substr(first);
        // Docker's rule (engine::is_bind_source), and Compose also expands ~.
        bool path = src[0] == '~' || engine::is_bind_source(src);
        if (path) return resolve(src).string() + rest;
        return volume_name(n, src) + rest;
    }

    void long_volume(const YAML::Node& n, Service& s) const {
        only_keys(n, "services." + s.name + ".volumes[]",
                  {"type", "source", "target", "read_only", "bind", "volume", "tmpfs", "consistency"});
        std::string type = n["type"] ? str(n["type"], "type") : "volume";
        if (!n["target"]) fail(n, "volume: target is required");
        std::string target = str(n["target"], "target");
        bool ro = n["read_only"] && boolean(n["read_only"], "read_only");
        if (type == "tmpfs") {
            std::string opt;
            if (n["tmpfs"] && n["tmpfs"]["size"]) opt = ":size=" + str(n["tmpfs"]["size"], "tmpfs.size");
            s.tmpfs.push_back(target + opt);
            return;
        }
        std::string src = n["source"] ? str(n["source"], "source") : "";
        if (type == "bind") {
            if (src.empty()) fail(n, "a bind volume needs a source");
            s.volumes.push_back(resolve(src).string() + ":" + target + (ro ? ":ro" : ""));
        } else if (type == "volume") {
            s.volumes.push_back((src.empty() ? "" : volume_name(n, src) + ":") + target + (ro ? ":ro" : ""));
        } else {
            fail(n, "volume type " + type + " is not supported (volume, bind or tmpfs)");
        }
    }

    std::string long_port(const YAML::Node& n, const std::string& svc) const {
        only_keys(n, "services." + svc + ".ports[]", {"target", "published", "host_ip", "protocol", "mode", "name", "app_protocol"});
        if (!n["target"]) fail(n, "port: target is required");
        std::string out;
        if (n["host_ip"]) out += str(n["host_ip"], "host_ip") + ":";
        if (n["published"]) out += str(n["published"], "published") + ":";
        else if (!out.empty()) out += ":";
        out += str(n["target"], "target");
        if (n["protocol"]) out += "/" + str(n["protocol"], "protocol");
        return out;
    }

    engine::HealthOverride healthcheck(const YAML::Node& n, const std::string& svc) const {
        only_keys(n, "services." + svc + ".healthcheck", {"test", "interval", "timeout", "start_period", "start_interval", "retries", "disable"});
        engine::HealthOverride h;
        if (n["disable"]) h.disable = boolean(n["disable"], "disable");
        if (n["test"]) {
            if (n["test"].IsScalar()) h.test = {"CMD-SHELL", str(n["test"], "test")};
            else h.test = strings(n["test"], "test");
            if (h.test.empty() || (h.test[0] != "CMD" && h.test[0] != "CMD-SHELL" && h.test[0] != "NONE"))
                fail(n["test"], "healthcheck test must start with CMD, CMD-SHELL or NONE");
            if (h.test[0] == "NONE") h.disable = true;
        }
        // Whole milliseconds, as earlier releases kept them: a service's config hash
        // (apply's "unchanged" test) stays what it was.
        auto dur = [&](const char* k, double default_s) -> int64_t {
            double seconds = default_s;
            if (n[k]) {
                try {
                    seconds = parse_duration_seconds(str(n[k], k));
                } catch (const Error& e) {
                    fail(n[k], std::string(k) + ": " + e.what());
                }
            }
            return static_cast<int64_t>(seconds * 1000) * 1'000'000;
        };
        h.interval_ns = dur("interval", 30);
        h.timeout_ns = dur("timeout", 30);
        if (int64_t start_period = dur("start_period", 0); start_period > 0) h.start_period_ns = start_period;
        h.start_interval_ns = dur("start_interval", 5);
        h.retries = n["retries"] ? static_cast<int>(integer(n["retries"], "retries")) : 3;
        return h;
    }

    Service service(const YAML::Node& key, const YAML::Node& n) {
        std::string name = key.Scalar();
        Service s;
        s.name = name;
        std::string where = "services." + name;
        if (!n.IsMap()) fail(n, where + " must be a map");
        for (auto kv : n) {
            std::string k = kv.first.Scalar();
            if (k.rfind("x-", 0) == 0 || kServiceKeys.count(k)) continue;
            if (kSpecServiceKeys.count(k)) fail(kv.first, where + "." + k + " is not supported by minirun apply");
            fail(kv.first, "unknown key " + where + "." + k);
        }
        if (n["image"]) s.image = str(n["image"], "image");
        if (auto b = n["build"]) {
            BuildSpec bs;
            if (b.IsScalar()) {
                bs.context = str(b, "build");
            } else {
                only_keys(b, where + ".build", {"context", "dockerfile", "args", "target"});
                if (b["context"]) bs.context = str(b["context"], "context");
                if (b["dockerfile"]) bs.dockerfile = str(b["dockerfile"], "dockerfile");
                if (b["target"]) bs.target = str(b["target"], "target");
                if (b["args"]) {
                    for (auto& [k, v] : pairs(b["args"], "args")) {
                        if (v) bs.args.push_back(k + "=" + *v);
                        else if (env.count(k)) bs.args.push_back(k + "=" + env.at(k));
                    }
                }
            }
            bs.context = resolve(bs.context).string();
            s.build = bs;
        }
        if (s.image.empty() && !s.build) fail(key, where + " has neither image nor build");
        if (n["command"]) s.command = command(n["command"], "command");
        if (n["entrypoint"]) s.entrypoint = command(n["entrypoint"], "entrypoint");
        if (auto ef = n["env_file"]) {
            std::vector<std::pair<std::string, bool>> files;
            if (ef.IsScalar()) files.emplace_back(str(ef, "env_file"), true);
            else if (ef.IsSequence()) {
                for (auto e : ef) {
                    if (e.IsMap()) {
                        only_keys(e, where + ".env_file[]", {"path", "required", "format"});
                        files.emplace_back(str(e["path"], "path"), !e["required"] || boolean(e["required"], "required"));
                    } else {
                        files.emplace_back(str(e, "env_file"), true);
                    }
                }
            } else fail(ef, "env_file must be a path or a list");
            for (auto& [f, req] : files) {
                try {
                    for (auto& [k, v] : detail::read_env_file(resolve(f), req)) s.environment.push_back(k + "=" + v);
                } catch (const Error& e) {
                    fail(ef, e.what());
                }
            }
        }
        if (n["environment"]) {
            for (auto& [k, v] : pairs(n["environment"], "environment")) {
                if (v) s.environment.push_back(k + "=" + *v);
                else if (env.count(k)) s.environment.push_back(k + "=" + env.at(k));  // KEY alone: from our environment
            }
        }
        if (auto ports = n["ports"]) {
            if (!ports.IsSequence()) fail(ports, "ports must be a list");
            for (auto e : ports) s.ports.push_back(e.IsMap() ? long_port(e, name) : str(e, "ports"));
        }
        if (n["expose"]) (void)strings(n["expose"], "expose");  // documentation only, as in Docker
        if (auto vols = n["volumes"]) {
            if (!vols.IsSequence()) fail(vols, "volumes must be a list");
            for (auto e : vols) {
                if (e.IsMap()) long_volume(e, s);
                else s.volumes.push_back(short_volume(e, str(e, "volumes")));
            }
        }
        if (n["tmpfs"])
            for (auto& t : strings(n["tmpfs"], "tmpfs")) s.tmpfs.push_back(t);
        if (auto nets = n["networks"]) {
            if (nets.IsSequence()) {
                for (auto e : nets) s.networks[network_name(e, str(e, "networks"))] = {};
            } else if (nets.IsMap()) {
                for (auto kv : nets) {
                    std::string key = kv.first.Scalar();
                    std::vector<std::string> aliases;
                    if (kv.second.IsMap()) {
                        only_keys(kv.second, where + ".networks." + key, {"aliases", "ipv4_address", "priority"});
                        if (kv.second["ipv4_address"]) fail(kv.second["ipv4_address"], "ipv4_address is not supported by minirun apply");
                        if (kv.second["aliases"]) aliases = strings(kv.second["aliases"], "aliases");
                    } else if (!kv.second.IsNull()) {
                        fail(kv.second, "networks." + key + " must be a map or empty");
                    }
                    s.networks[network_name(kv.first, key)] = aliases;
                }
            } else {
                fail(nets, "networks must be a list or a map");
            }
        }
        if (s.networks.empty()) {
            if (!p.networks.count("default")) p.networks["default"] = {p.name + "_default", false};
            s.networks[p.networks["default"].name] = {};
        }
        if (n["restart"]) {
            s.restart = str(n["restart"], "restart");
            bool ok = s.restart == "no" || s.restart == "always" || s.restart == "unless-stopped" ||
                      s.restart.rfind("on-failure", 0) == 0;
            if (!ok) fail(n["restart"], "restart must be no, always, on-failure[:N] or unless-stopped");
        }
        if (auto d = n["depends_on"]) {
            if (d.IsSequence()) {
                for (auto e : d) s.depends_on.push_back({str(e, "depends_on"), "service_started", true});
            } else if (d.IsMap()) {
                for (auto kv : d) {
                    Dependency dep{kv.first.Scalar(), "service_started", true};
                    if (kv.second.IsMap()) {
                        only_keys(kv.second, where + ".depends_on." + dep.service, {"condition", "required", "restart"});
                        if (kv.second["condition"]) dep.condition = str(kv.second["condition"], "condition");
                        if (kv.second["required"]) dep.required = boolean(kv.second["required"], "required");
                    }
                    if (dep.condition != "service_started" && dep.condition != "service_healthy" &&
                        dep.condition != "service_completed_successfully")
                        fail(kv.second["condition"] ? kv.second["condition"] : kv.second,
                             "condition must be service_started, service_healthy or service_completed_successfully");
                    s.depends_on.push_back(dep);
                }
            } else {
                fail(d, "depends_on must be a list or a map");
            }
        }
        if (n["healthcheck"]) s.healthcheck = healthcheck(n["healthcheck"], name);
        if (n["labels"])
            for (auto& [k, v] : pairs(n["labels"], "labels")) s.labels[k] = v.value_or("");
        if (auto l = n["logging"]) {
            only_keys(l, where + ".logging", {"driver", "options"});
            if (l["driver"]) s.log_driver = str(l["driver"], "driver");
            if (l["options"])
                for (auto& [k, v] : pairs(l["options"], "options")) s.log_options[k] = v.value_or("");
        }
        if (n["user"]) s.user = str(n["user"], "user");
        if (n["working_dir"]) s.working_dir = str(n["working_dir"], "working_dir");
        if (n["hostname"]) s.hostname = str(n["hostname"], "hostname");
        if (n["container_name"]) s.container_name = str(n["container_name"], "container_name");
        if (n["extra_hosts"])
            for (auto& [k, v] : pairs(n["extra_hosts"], "extra_hosts", n["extra_hosts"].IsMap() ? '=' : ':')) {
                std::string host = k, ip = v.value_or("");
                if (!v && k.find('=') != std::string::npos) host = k.substr(0, k.find('=')), ip = k.substr(k.find('=') + 1);
                if (ip.empty()) fail(n["extra_hosts"], "extra_hosts entry \"" + k + "\" has no address");
                s.extra_hosts.push_back(host + ":" + ip);
            }
        if (n["mem_limit"]) s.mem_limit = str(n["mem_limit"], "mem_limit");
        if (n["cpus"]) s.cpus = str(n["cpus"], "cpus");
        if (n["pids_limit"]) s.pids_limit = integer(n["pids_limit"], "pids_limit");
        if (n["read_only"]) s.read_only = boolean(n["read_only"], "read_only");
        if (n["init"]) s.init = boolean(n["init"], "init");
        if (n["privileged"]) s.privileged = boolean(n["privileged"], "privileged");
        if (n["cap_add"]) s.cap_add = strings(n["cap_add"], "cap_add");
        if (n["profiles"]) s.profiles = strings(n["profiles"], "profiles");
        if (n["cap_drop"]) s.cap_drop = strings(n["cap_drop"], "cap_drop");
        if (n["stop_signal"]) s.stop_signal = str(n["stop_signal"], "stop_signal");
        resource_keys(n, s);
        if (n["stop_grace_period"]) {
            try {
                s.stop_grace_period_s = static_cast<int>(std::ceil(parse_duration_seconds(str(n["stop_grace_period"], "stop_grace_period"))));
            } catch (const Error& e) {
                fail(n["stop_grace_period"], std::string("stop_grace_period: ") + e.what());
            }
        }
        return s;
    }

    void top_level_objects(const YAML::Node& root, const char* kind, bool networks) {
        auto n = root[kind];
        if (!n) return;
        if (!n.IsMap()) fail(n, std::string(kind) + " must be a map");
        for (auto kv : n) {
            std::string key = kv.first.Scalar();
            std::string name = p.name + "_" + key;
            bool external = false;
            if (kv.second.IsMap()) {
                std::set<std::string> allowed = {"name", "external", "labels", "driver", "driver_opts"};
                if (networks) allowed.insert({"internal", "attachable", "ipam", "enable_ipv6"});
                only_keys(kv.second, std::string(kind) + "." + key, allowed);
                if (kv.second["external"]) external = boolean(kv.second["external"], "external");
                if (kv.second["name"]) name = str(kv.second["name"], "name");
                else if (external) name = key;
                if (kv.second["driver"]) {
                    std::string d = str(kv.second["driver"], "driver");
                    if (d != (networks ? "bridge" : "local"))
                        fail(kv.second["driver"], std::string(kind) + "." + key + ": driver " + d + " is not supported");
                }
            } else if (!kv.second.IsNull()) {
                fail(kv.second, std::string(kind) + "." + key + " must be a map or empty");
            }
            if (networks) p.networks[key] = {name, external};
            else p.volumes[key] = {name, external};
        }
    }
};

// Services in a profile nobody enabled are not part of the project (Compose's profiles);
// an enabled service that needs one of them is an error naming the profile.
void drop_disabled_profiles(Project& p, const std::set<std::string>& enabled) {
    auto active = [&](const Service& s) {
        if (s.profiles.empty() || enabled.count("*")) return true;
        for (auto& pr : s.profiles)
            if (enabled.count(pr)) return true;
        return false;
    };
    std::map<std::string, const Service*> dropped;
    for (auto& s : p.services)
        if (!active(s)) dropped[s.name] = &s;
    for (auto& s : p.services) {
        if (dropped.count(s.name)) continue;
        for (auto& d : s.depends_on)
            if (auto it = dropped.find(d.service); it != dropped.end())
                throw Error(p.file.string() + ": service " + s.name + " depends on " + d.service +
                            ", which is only in profile " + it->second->profiles.front() +
                            " (enable it with --profile or COMPOSE_PROFILES)");
    }
    for (auto& [name, s] : dropped) p.disabled_services.push_back(name);
    std::erase_if(p.services, [&](const Service& s) { return !active(s); });
    if (p.services.empty()) throw Error(p.file.string() + ": every service is in a profile that is not enabled");
}

// Dependencies first, otherwise file order; a cycle is an error naming it.
void order_services(Project& p) {
    std::map<std::string, size_t> index;
    for (size_t i = 0; i < p.services.size(); ++i) index[p.services[i].name] = i;
    for (auto& s : p.services)
        for (auto& d : s.depends_on)
            if (!index.count(d.service))
                throw Error(p.file.string() + ": service " + s.name + " depends on undefined service " + d.service);
    std::vector<Service> out;
    std::vector<int> state(p.services.size(), 0);  // 0 new, 1 visiting, 2 done
    std::function<void(size_t, std::vector<std::string>&)> visit = [&](size_t i, std::vector<std::string>& path) {
        if (state[i] == 2) return;
        path.push_back(p.services[i].name);
        if (state[i] == 1) {
            std::string cycle;
            for (auto& n : path) cycle += (cycle.empty() ? "" : " -> ") + n;
            throw Error(p.file.string() + ": dependency cycle: " + cycle);
        }
        state[i] = 1;
        for (auto& d : p.services[i].depends_on) visit(index[d.service], path);
        state[i] = 2;
        path.pop_back();
        out.push_back(p.services[i]);
    };
    for (size_t i = 0; i < p.services.size(); ++i) {
        std::vector<std::string> path;
        visit(i, path);
    }
    p.services = std::move(out);
}

}  // namespace

std::string normalize_project_name(const std::string& raw) {
    std::string out;
    for (char c : raw) {
        char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if ((l >= 'a' && l <= 'z') || (l >= '0' && l <= '9') || l == '_' || l == '-') out += l;
    }
    while (!out.empty() && (out[0] == '_' || out[0] == '-')) out.erase(0, 1);
    return out;
}

double parse_duration_seconds(const std::string& text) {
    try {
        return static_cast<double>(parse_duration_ns(text, "duration")) / 1e9;
    } catch (const Error&) {
        throw Error("invalid duration \"" + text + "\" (units: h m s ms us ns)");
    }
}

stdfs::path find_compose_file(const stdfs::path& dir) {
    for (auto n : {"compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml"})
        if (stdfs::exists(dir / n)) return dir / n;
    throw Error("no compose.yaml or docker-compose.yml in " + dir.string() + " (use -f FILE)");
}

std::map<std::string, std::string> process_environment() {
    std::map<std::string, std::string> out;
    for (char** e = environ; *e; ++e) {
        std::string kv = *e;
        auto eq = kv.find('=');
        if (eq != std::string::npos) out[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    return out;
}

std::string project_name_of(const stdfs::path& file) {
    return load_project(file, {"", process_environment(), {"*"}}).name;
}

Project load_project(const stdfs::path& file, const LoadOptions& opts) {
    Project p;
    std::error_code ec;
    p.file = stdfs::absolute(file, ec);
    p.dir = p.file.parent_path();
    // The environment wins over .env, as in Compose.
    Env env = detail::read_env_file(p.dir / ".env", false);
    for (auto& [k, v] : opts.environment) env[k] = v;
    YAML::Node root;
    try {
        root = YAML::LoadFile(p.file.string());
    } catch (const YAML::BadFile&) {
        throw Error(file.string() + ": cannot read the Compose file");
    } catch (const YAML::ParserException& e) {
        throw Error(file.string() + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) + ": " + e.msg);
    }
    Loader L{p.file, env, p};
    if (!root.IsMap()) throw Error(file.string() + ": a Compose file is a map with a services key");
    detail::resolve_merge_keys(root, file.string());
    for (auto kv : root) {
        std::string k = kv.first.Scalar();
        if (k == "version") {
            p.warnings.push_back(L.at(kv.first) + ": the attribute `version` is obsolete, it is ignored (as Compose does)");
        } else if (k.rfind("x-", 0) != 0 && k != "services" && k != "networks" && k != "volumes" && k != "name") {
            if (k == "secrets" || k == "configs" || k == "include" || k == "models")
                L.fail(kv.first, k + " is not supported by minirun apply");
            L.fail(kv.first, "unknown top-level key " + k);
        }
    }
    std::string name = opts.project_name;
    if (name.empty() && root["name"]) name = L.str(root["name"], "name");
    if (name.empty() && env.count("COMPOSE_PROJECT_NAME")) name = env["COMPOSE_PROJECT_NAME"];
    if (name.empty()) name = p.dir.filename().string();
    p.name = normalize_project_name(name);
    if (p.name.empty()) throw Error(file.string() + ": project name \"" + name + "\" has no usable characters (use -p)");
    L.top_level_objects(root, "networks", true);
    L.top_level_objects(root, "volumes", false);
    auto services = root["services"];
    if (!services || !services.IsMap() || services.size() == 0) throw Error(file.string() + ": no services defined");
    for (auto kv : services) {
        std::string sname = kv.first.Scalar();
        if (sname.empty() || normalize_project_name(sname) != sname)
            L.fail(kv.first, "service name \"" + sname + "\" must be lowercase letters, digits, - and _");
        p.services.push_back(L.service(kv.first, kv.second));
    }
    std::set<std::string> profiles(opts.profiles.begin(), opts.profiles.end());
    if (profiles.empty() && env.count("COMPOSE_PROFILES")) {
        std::string list = env["COMPOSE_PROFILES"];
        for (size_t start = 0; start <= list.size();) {
            size_t comma = std::min(list.find(',', start), list.size());
            if (comma > start) profiles.insert(list.substr(start, comma - start));
            start = comma + 1;
        }
    }
    drop_disabled_profiles(p, profiles);
    order_services(p);
    return p;
}

}  // namespace minirun::compose
