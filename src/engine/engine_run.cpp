// `run`: from an image and flags to a prepared container (record, rootfs, config.json),
// then started in the foreground or handed to a detached supervisor.
#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "minirun/common/env_file.hpp"
#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/common/log.hpp"
#include "minirun/common/names.hpp"
#include "minirun/common/process.hpp"
#include "minirun/common/time.hpp"
#include "minirun/common/units.hpp"
#include "minirun/engine/engine.hpp"
#include "minirun/engine/image_config.hpp"
#include "minirun/engine/logs.hpp"
#include "minirun/engine/rootfs.hpp"
#include "minirun/engine/spec_builder.hpp"
#include "minirun/image/manifest.hpp"
#include "minirun/image/reference.hpp"
#include "minirun/image/store.hpp"
#include "minirun/image/stored_image.hpp"
#include "minirun/registry/pull.hpp"
#include "minirun/runtime/cgroups.hpp"
#include "minirun/runtime/state.hpp"
#include "bridge_glue.hpp"

namespace minirun::engine {

namespace stdfs = std::filesystem;

// An error that maps to a Docker exit status (125 ours, 126 cannot execute, 127 not found).
struct RunFailure : Error {
    RunFailure(const std::string& m, int code) : Error(m), code(code) {}
    int code;
};

struct Engine::Prepared {
    ContainerRecord rec;
};


namespace {

std::map<std::string, std::string> key_values(const std::vector<std::string>& items, const char* what) {
    std::map<std::string, std::string> out;
    for (auto& i : items) {
        auto eq = i.find('=');
        if (eq == std::string::npos || eq == 0) throw Error(std::string("invalid ") + what + " \"" + i + "\": expected key=value");
        out[i.substr(0, eq)] = i.substr(eq + 1);
    }
    return out;
}

// KEY=VALUE lines; "KEY" alone takes the caller's value, as Docker does.
void add_env(std::vector<std::string>& env, const std::string& item) {
    std::string key = item.substr(0, item.find('='));
    std::string full = item;
    if (item.find('=') == std::string::npos) {
        const char* v = std::getenv(item.c_str());
        if (!v) return;
        full = item + "=" + v;
    }
    std::erase_if(env, [&](const std::string& e) { return e.substr(0, e.find('=')) == key; });
    env.push_back(full);
}

void add_env_file(std::vector<std::string>& env, const std::string& path) {
    try {
        for (auto& e : read_env_file(path, EnvFileDialect::docker)) add_env(env, e.value ? e.name + "=" + *e.value : e.name);
    } catch (const Error& e) {
        throw wrap_error(e, "--env-file");
    }
}

runtime::Mount bind_mount(const std::string& src, const std::string& dst, bool ro) {
    runtime::Mount m{dst, "bind", src, {"rbind", "rprivate"}};
    if (ro) m.options.push_back("ro");
    return m;
}

}  // namespace

namespace {

// The image's HEALTHCHECK with the --health-* flags given over it (Docker merges them the
// same way); --no-healthcheck or a NONE test: no check.
std::optional<HealthConfig> effective_health(const RunRequest& req, const std::optional<HealthConfig>& image) {
    if (req.no_healthcheck) return std::nullopt;
    std::optional<HealthConfig> h = image;
    bool flags = !req.health_test.empty() || !req.health_interval.empty() || !req.health_timeout.empty() ||
                 !req.health_start_period.empty() || !req.health_start_interval.empty() || req.health_retries;
    if (!flags) return h && !h->test.empty() && h->test[0] != "NONE" ? h : std::nullopt;
    if (!h) h = HealthConfig{};
    if (!req.health_test.empty()) h->test = req.health_test;
    auto dur = [](const std::string& v, const char* flag, int64_t& out) {
        if (v.empty()) return;
        out = parse_duration_ns(v, flag);
        if (out <= 0) throw Error(std::string("invalid ") + flag + " \"" + v + "\": must be positive");
    };
    dur(req.health_interval, "--health-interval", h->interval_ns);
    dur(req.health_timeout, "--health-timeout", h->timeout_ns);
    dur(req.health_start_period, "--health-start-period", h->start_period_ns);
    dur(req.health_start_interval, "--health-start-interval", h->start_interval_ns);
    if (req.health_retries) {
        if (*req.health_retries < 1) throw Error("invalid --health-retries: must be at least 1");
        h->retries = *req.health_retries;
    }
    if (h->test.empty()) throw Error("--health-* options need a health check: --health-cmd, or a HEALTHCHECK in the image");
    if (h->test[0] == "NONE") return std::nullopt;
    return h;
}

}  // namespace

Engine::Prepared Engine::prepare(const RunRequest& req) {
    log::debug("prepare: start");
    reap_orphans();
    image::Store store(storage_);
    registry::PullPolicy pull = registry::parse_pull_policy(req.pull);
    RestartPolicy restart = RestartPolicy::parse(req.restart);
    if (req.remove && restart.name != "no") throw Error("conflicting options: --restart and --rm");
    std::map<std::string, std::string> log_opts = key_values(req.log_opts, "--log-opt");
    validate_log_options(req.log_driver, log_opts);
    std::vector<network::PortMapping> ports = parse_published_ports(req.publish);
    std::optional<int64_t> memory;
    if (!req.memory.empty()) {
        memory = static_cast<int64_t>(parse_size(req.memory, "--memory"));
        if (*memory < 6 * 1024 * 1024)
            throw Error("invalid --memory \"" + req.memory + "\": the minimum allowed memory limit is 6MB");
    }
    std::optional<double> cpus;
    if (!req.cpus.empty()) {
        char* end = nullptr;
        double v = std::strtod(req.cpus.c_str(), &end);
        if (*end || v <= 0) throw Error("invalid --cpus \"" + req.cpus + "\": expected a positive number");
        long host = ::sysconf(_SC_NPROCESSORS_ONLN);
        if (host > 0 && v > static_cast<double>(host))
            throw Error("invalid --cpus \"" + req.cpus + "\": range of CPUs is from 0.01 to " + std::to_string(host) +
                        ", as there are only " + std::to_string(host) + " CPUs available");
        cpus = v;
    }
    if (!req.name.empty()) {
        if (!is_valid_object_name(req.name)) throw Error("invalid container name \"" + req.name + "\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
        if (containers_.name_in_use(req.name))
            throw Error("the container name \"" + req.name + "\" is already in use");
    }
    if (!req.user.empty()) check_user_spec(req.user);
    for (auto& e : req.env)
        if (e.empty() || e[0] == '=') throw Error("invalid -e \"" + e + "\": the variable name is empty");
    check_network_exists(storage_, req.network);
    if ((req.network == "host" || req.network == "none") && !ports.empty())
        throw Error("published ports need a bridge network, not --network " + req.network);

    // The image: pulled as --pull says.
    registry::PullOptions po;
    po.registry = registry_;
    po.progress = req.quiet_pull ? registry::ProgressMode::quiet : registry::ProgressMode::automatic;
    if (!req.platform.empty()) po.platform = image::Platform::parse(req.platform);
    image::ImageRecord img = registry::ensure_image(store, req.image, pull, po, [&](const image::Reference& ref) {
        if (req.on_pull) req.on_pull(ref.familiar());
    });
    image::StoredImage stored = image::load_stored_image(store, img);
    image::require_layers(store, stored);
    const image::ContainerConfig& ic = stored.config.config;
    log::debug("image config loaded");
    if (req.publish_all) {
        // -P: every EXPOSEd port on a random host port.
        std::vector<std::string> exposed;
        for (auto& e : ic.exposed_ports) exposed.push_back(e);  // "80/tcp": random host port
        auto more = parse_published_ports(exposed);
        ports.insert(ports.end(), more.begin(), more.end());
        if ((req.network == "host" || req.network == "none") && !more.empty())
            throw Error("published ports need a bridge network, not --network " + req.network);
    }

    ContainerRecord rec;
    rec.id = ContainerStore::new_id();
    rec.name = req.name.empty() ? containers_.free_name() : req.name;
    rec.image = req.image;
    rec.image_name = img.name;
    rec.image_id = stored.id();
    rec.created = rfc3339_now();
    rec.restart = restart;
    rec.auto_remove = req.remove;
    rec.network = req.network;
    rec.labels = key_values(req.labels, "--label");
    rec.stop_signal = !req.stop_signal.empty() ? req.stop_signal : !ic.stop_signal.empty() ? ic.stop_signal : "SIGTERM";
    rec.stop_timeout = req.stop_timeout.value_or(10);
    rec.log_driver = req.log_driver;
    rec.log_opts = log_opts;
    rec.tty = req.tty;
    rec.interactive = req.interactive;
    rec.hostname = req.hostname.empty() ? rec.id.substr(0, 12) : req.hostname;
    rec.ports = ports;
    rec.network_aliases = req.network_aliases;
    for (auto& h : req.add_hosts) {
        auto colon = h.find(':');
        if (colon == std::string::npos || colon == 0 || colon + 1 == h.size())
            throw Error("invalid --add-host \"" + h + "\": expected host:ip");
        rec.extra_hosts.push_back(h);
    }
    rec.health = effective_health(req, health_from_image(ic.healthcheck));
    std::string dir = containers_.dir(rec.id);
    containers_.save(rec, /*create=*/true);
    try {
        rec.layers = stored.config.diff_ids;
        mount_rootfs((storage_ / "layers").string(), stored.config.diff_ids, dir);
        log::debug("rootfs mounted");
        std::string rootfs = dir + "/rootfs";

        // Command: --entrypoint replaces the image's and drops its Cmd, as Docker does.
        std::vector<std::string> entry = ic.entrypoint, cmd = req.command.empty() ? ic.cmd : req.command;
        if (req.entrypoint) {
            entry = req.entrypoint->empty() ? std::vector<std::string>{} : std::vector<std::string>{*req.entrypoint};
            if (req.command.empty()) cmd.clear();
        }
        RunSettings s;
        s.args = entry;
        s.args.insert(s.args.end(), cmd.begin(), cmd.end());
        if (s.args.empty()) throw RunFailure("no command specified for " + req.image, 125);
        rec.command = s.args;
        if (req.init) {
            s.args.insert(s.args.begin(), {"/run/minirun-init", "--"});
            s.mounts.push_back(bind_mount(fs::self_exe_dir().string() + "/minirun-init", "/run/minirun-init", true));
        }
        s.user = resolve_user(rootfs, req.user.empty() ? ic.user : req.user);
        s.env = ic.env;
        if (!has_env(s.env, "PATH")) s.env.push_back(std::string("PATH=") + kDefaultPath);
        s.env.push_back("HOSTNAME=" + rec.hostname);
        if (req.tty) s.env.push_back("TERM=xterm");
        for (auto& f : req.env_files) add_env_file(s.env, f);
        for (auto& e : req.env) add_env(s.env, e);
        if (!has_env(s.env, "HOME")) s.env.push_back("HOME=" + s.user.home);
        s.cwd = !req.workdir.empty() ? req.workdir : !ic.working_dir.empty() ? ic.working_dir : "/";
        if (s.cwd[0] != '/') throw Error("invalid --workdir \"" + s.cwd + "\": must be absolute");
        s.tty = req.tty;
        // The pty gets our terminal's size before the process runs (a first `stty size`
        // must not see 0 0); later changes follow through SIGWINCH in the foreground.
        winsize ws{};
        if (req.tty && ::isatty(STDIN_FILENO) && ::ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
            s.tty_rows = ws.ws_row, s.tty_cols = ws.ws_col;
        s.hostname = rec.hostname;
        s.read_only = req.read_only;
        s.privileged = req.privileged;
        s.cap_add = req.cap_add;
        s.cap_drop = req.cap_drop;
        s.memory = memory;
        s.cpus = cpus;
        s.pids_limit = req.pids_limit;
        s.cgroups_path = "/minirun/" + rec.id;
        s.annotations = rec.labels;
        for (auto& o : req.security_opts) {
            if (o == "no-new-privileges" || o == "no-new-privileges:true" || o == "no-new-privileges=true") s.no_new_privileges = true;
            else if (o == "seccomp=unconfined" || o == "seccomp:unconfined") s.seccomp_unconfined = true;
            else throw Error("unsupported --security-opt \"" + o + "\"");
        }
        s.host_network = req.network == "host";
        if (!s.host_network) s.netns_path = dir + "/netns";
        // Volumes and mounts.
        auto volume_dir = [&](const std::string& name) {
            std::string v = (storage_ / "volumes" / name / "_data").string();
            bool fresh = !stdfs::exists(v);
            fs::mkdir_p(v);
            return std::pair{v, fresh};
        };
        std::vector<std::string> mounted;
        auto add_mount = [&](MountRequest m) {
            if (m.kind == MountRequest::Kind::Tmpfs) {
                s.mounts.push_back({m.destination, "tmpfs", "tmpfs", m.tmpfs_options});
                return;
            }
            if (m.kind == MountRequest::Kind::Volume && m.source.empty())
                m.source = rec.id.substr(0, 12) + "-" + std::to_string(mounted.size());
            if (m.kind == MountRequest::Kind::Bind) {
                std::string abs = stdfs::absolute(m.source).lexically_normal().string();
                if (abs.size() > 1 && abs.back() == '/') abs.pop_back();
                if (!stdfs::exists(abs)) {
                    if (m.source_must_exist) throw Error("invalid mount config: bind source path does not exist: " + abs);
                    fs::mkdir_p(abs);
                }
                s.mounts.push_back(bind_mount(abs, m.destination, m.read_only));
            } else {
                auto [path, fresh] = volume_dir(m.source);
                if (fresh) seed_volume(rootfs, m.destination, path);
                s.mounts.push_back(bind_mount(path, m.destination, m.read_only));
                rec.volumes.push_back(m.source);
            }
            rec.mounts.push_back(m.spec);
            mounted.push_back(m.destination);
        };
        for (auto& m : req.mounts) add_mount(m);
        // The image's VOLUMEs become anonymous volumes unless something is mounted there.
        for (auto& v : ic.volumes)
            if (std::find(mounted.begin(), mounted.end(), v) == mounted.end()) add_mount(anonymous_volume(v));
        for (auto f : {"hosts", "hostname", "resolv.conf"}) {
            fs::write_file_atomic(dir + "/" + f, "", 0644, false);
            // A user's own bind over one of these files wins over the generated one.
            std::string target = std::string("/etc/") + f;
            if (std::find(mounted.begin(), mounted.end(), target) == mounted.end())
                s.mounts.push_back(bind_mount(dir + "/" + f, target, false));
        }
        fs::write_file_atomic(dir + "/config.json", build_config_json(s), 0600, false);
        log::debug("config.json written");
        containers_.save(rec);
    } catch (...) {
        try {
            unmount_rootfs(dir);
        } catch (...) {
        }
        containers_.remove(rec.id);
        throw;
    }
    return Prepared{rec};
}

RunResult Engine::run(const RunRequest& req) {
    // The container's cgroup join (by us or the supervisor) shares the grace period this
    // starts while the image, rootfs and network are prepared.
    runtime::CgroupMigrationPrimer primer;
    Prepared p;
    try {
        p = prepare(req);
    } catch (const RunFailure& e) {
        return RunResult{"", e.code, e.what()};
    }
    ContainerRecord& rec = p.rec;
    if (!req.detach) return RunResult{rec.id, run_foreground(rec), ""};
    SupervisorReply reply = spawn_supervisor(rec.id);
    if (reply.started) return RunResult{rec.id, 0, ""};
    return RunResult{rec.id, reply.failure.status, reply.failure.message};
}

}  // namespace minirun::engine
