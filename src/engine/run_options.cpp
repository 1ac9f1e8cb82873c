// RunRequest options checked and typed, command and environment (see run_options.hpp).
#include "minirun/engine/run_options.hpp"

#include <cstdlib>

#include "bridge_glue.hpp"
#include "minirun/common/env_file.hpp"
#include "minirun/common/error.hpp"
#include "minirun/common/process.hpp"
#include "minirun/common/strings.hpp"
#include "minirun/common/units.hpp"
#include "minirun/engine/image_config.hpp"
#include "minirun/engine/logs.hpp"

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
        else
            throw Error("unsupported --security-opt \"" + opt + "\"", ErrorKind::InvalidArgument);
    }
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
