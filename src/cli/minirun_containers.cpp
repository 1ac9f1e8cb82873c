// minirun's container commands (run, ps, logs, stop, …, network): flags → engine calls.
#include "minirun_containers.hpp"

#include <CLI/CLI.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <optional>
#include <thread>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "cdi_flags.hpp"
#include "cli_common.hpp"
#include "listing_rows.hpp"
#include "minirun/engine/attach.hpp"
#include "minirun/engine/list_filters.hpp"
#include "minirun/format/table_format.hpp"
#include "minirun/common/error.hpp"
#include "minirun/common/events.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/common/units.hpp"
#include "minirun/compose/apply.hpp"
#include "minirun/compose/project.hpp"
#include "minirun/engine/compose_labels.hpp"
#include "minirun/engine/container_copy.hpp"
#include "minirun/engine/engine.hpp"
#include "minirun/image/store.hpp"
#include "minirun/network/addressing.hpp"
#include "minirun/network/networks.hpp"
#include "minirun/runtime/container.hpp"

namespace minirun::cli {

using json = nlohmann::json;

namespace {

// Repeatable options (-e, -v, -p) take one value per occurrence, as in Docker: the
// image and its command must never be swallowed as extra values.
void one_value_each(CLI::App* c) {
    for (auto* o : c->get_options())
        if (o->get_positional() == false) o->allow_extra_args(false);
}

std::vector<std::string> g_command_tail;
std::vector<std::string> g_raw_args;

}  // namespace

engine::Engine open_engine(GlobalOptions& g) {
    registry::RegistryOptions ro;
    ro.insecure_registries = insecure_registries(g);
    return engine::Engine(storage_root(g), ro);
}

namespace {

// Attaches and returns what the command exits with: the container's status, or 0 after
// the detach keys (Docker's).
int attach_exit_code(engine::Engine& e, const std::string& name, const engine::AttachOptions& ao) {
    int status = engine::attach_container(e, name, ao);
    return status < 0 ? 0 : status;
}

// `run`, and `create` with the same flags (one set of variables: one callback runs).
void add_run(CLI::App& app, GlobalOptions& g, int& exit_code, const std::string& verb) {
    static engine::RunRequest r;
    static std::string entrypoint;
    static std::vector<std::string> volumes, mounts, tmpfs;  // parsed into r.mounts before run
    static std::vector<std::string> networks;                // the first is r.network
    static std::string run_detach_keys;
    static int64_t pids = 0;
    static int stop_timeout = -1;
    bool create_only = verb == "create";
    auto* c = app.add_subcommand(verb, create_only ? "Create a new container (start runs it)" : "Run a command in a new container");
    c->set_help_flag("--help", "Print this help");  // -h is --hostname, as in Docker
    if (!create_only) c->add_flag("-d,--detach", r.detach, "Run in the background and print the container ID");
    c->add_flag("-i,--interactive", r.interactive, "Keep stdin open");
    if (!create_only)
        c->add_option("--detach-keys", run_detach_keys, "With -it: keys that detach and leave it running (default ctrl-p,ctrl-q)");
    c->add_flag("-t,--tty", r.tty, "Allocate a pseudo-TTY");
    c->add_flag("--rm", r.remove, "Remove the container when it exits");
    c->add_option("--name", r.name, "Container name");
    c->add_option("-e,--env", r.env, "Set an environment variable (KEY=VALUE, or KEY to copy ours)");
    c->add_option("--env-file", r.env_files, "Read environment variables from a file");
    c->add_option("-p,--publish", r.publish, "Publish a port: [ip:]host:container[/tcp|udp]");
    c->add_flag("-P,--publish-all", r.publish_all, "Publish all exposed ports to random host ports");
    c->add_option("-v,--volume", volumes, "Bind mount or named volume: src:dst[:ro]");
    c->add_option("--mount", mounts, "type=bind|volume|tmpfs,source=…,target=…[,readonly]");
    c->add_option("--tmpfs", tmpfs, "Mount a tmpfs: /path[:options]");
    c->add_option("-w,--workdir", r.workdir, "Working directory inside the container");
    c->add_option("-u,--user", r.user, "user[:group] (names or ids)");
    c->add_option("--entrypoint", entrypoint, "Override the image's entrypoint");
    c->add_option("-h,--hostname", r.hostname, "Container host name");
    c->add_option("-m,--memory", r.memory, "Memory limit (e.g. 512m)");
    c->add_option("--cpus", r.cpus, "Number of CPUs (e.g. 1.5)");
    c->add_option("--pids-limit", pids, "Limit the number of processes");
    c->add_option("--restart", r.restart, "no | on-failure[:N] | always | unless-stopped");
    c->add_option("--network,--net", networks, "bridge (default) | host | none | NAME; again for more networks");
    c->add_flag("--read-only", r.read_only, "Mount the root filesystem read-only");
    c->add_option("--cap-add", r.cap_add, "Add a capability");
    c->add_option("--cap-drop", r.cap_drop, "Drop a capability");
    c->add_flag("--privileged", r.privileged, "All capabilities, no seccomp or masked paths");
    c->add_flag("--init", r.init, "Run a reaper as PID 1");
    c->add_option("--stop-signal", r.stop_signal, "Signal to stop the container");
    c->add_option("--stop-timeout", stop_timeout, "Seconds to wait before killing on stop");
    c->add_option("-l,--label", r.labels, "KEY=VALUE metadata");
    c->add_option("--log-driver", r.log_driver, "json-file | syslog | none");
    c->add_option("--log-opt", r.log_opts, "Log driver option KEY=VALUE");
    c->add_option("--userns", r.userns, "host: the host's user namespace (the only one supported yet)");
    c->add_option("--security-opt", r.security_opts, "no-new-privileges | seccomp=unconfined|FILE | apparmor=… and label=… (ignored, with a warning)");
    c->add_option("--pull", r.pull, "missing | always | never");
    c->add_option("--platform", r.platform, "os/arch[/variant] when pulling");
    c->add_flag("-q,--quiet", r.quiet_pull, "No pull progress");
    c->add_option("--network-alias", r.network_aliases, "Another name peers on the network resolve to this container");
    c->add_option("--add-host", r.add_hosts, "Add host:ip to /etc/hosts");
    c->add_option("--ip", r.ip, "The container's IPv4 address (user-defined networks)");
    c->add_option("--mac-address", r.mac_address, "The container's MAC address (xx:xx:xx:xx:xx:xx)");
    c->add_option("--link", r.links, "NAME[:ALIAS]: the running container NAME in /etc/hosts as ALIAS");
    c->add_option("--dns", r.dns, "A nameserver for /etc/resolv.conf (repeatable)");
    c->add_option("--dns-search", r.dns_search, "A search domain for /etc/resolv.conf (\".\" for none)");
    c->add_option("--dns-option", r.dns_options, "A resolver option for /etc/resolv.conf (e.g. ndots:2)");
    c->add_option("--ulimit", r.ulimits, "A resource limit: NAME=SOFT[:HARD] (nofile, nproc, core, …; -1 unlimited)");
    c->add_option("--sysctl", r.sysctls, "A namespaced kernel parameter KEY=VALUE (net.*, kernel.shm*, …)");
    c->add_option("--shm-size", r.shm_size, "Size of /dev/shm (default 64m)");
    c->add_option("--cpuset-cpus", r.cpuset_cpus, "CPUs the container may run on (0-2,4)");
    c->add_option("--cpuset-mems", r.cpuset_mems, "Memory nodes the container may use (0-1)");
    static int64_t cpu_shares = 0;
    static int oom_score_adj = 0;
    auto* shares_opt = c->add_option("-c,--cpu-shares", cpu_shares, "Relative CPU weight (default 1024)");
    c->add_option("--memory-swap", r.memory_swap, "Memory plus swap (-1: unlimited swap); needs --memory");
    c->add_option("--memory-reservation", r.memory_reservation, "Soft memory limit");
    auto* oom_opt = c->add_option("--oom-score-adj", oom_score_adj, "The container's OOM score adjustment (-1000 to 1000)");
    c->add_option("--group-add", r.group_add, "Another group for the container's process (name or id)");
    c->add_option("--device", r.devices, "A host device HOST[:CONTAINER][:rwm], or a CDI device vendor.com/class=name");
    static std::string gpus;
    c->add_option("--gpus", gpus, "GPUs as nvidia.com/gpu CDI devices: all, a count, or device=ID[,ID]");
    c->add_option("--device-cgroup-rule", r.device_cgroup_rules, "Allow device access: \"c MAJOR:MINOR rwm\"");
    static std::string cidfile;
    c->add_option("--cidfile", cidfile, "Write the container ID to this file (which must not exist)");
    static std::string health_cmd;
    static int health_retries = 0;
    // --health-interval and friends: flag name → its text, parsed into the request's durations.
    static std::map<std::string, std::string> health_durations;
    c->add_option("--health-cmd", health_cmd, "Command to run to check health (through /bin/sh -c)");
    c->add_option("--health-interval", health_durations["--health-interval"], "Time between checks (e.g. 30s)");
    c->add_option("--health-timeout", health_durations["--health-timeout"], "Longest a check may run (e.g. 30s)");
    c->add_option("--health-start-period", health_durations["--health-start-period"],
                  "Start-up time whose failures do not count");
    c->add_option("--health-start-interval", health_durations["--health-start-interval"],
                  "Time between checks during the start period");
    c->add_option("--health-retries", health_retries, "Consecutive failures that make it unhealthy");
    c->add_flag("--no-healthcheck", r.health.disable, "Disable the image's HEALTHCHECK");
    c->add_option("image", r.image, "Image")->required();
    one_value_each(c);
    c->prefix_command();
    c->callback([&g, &exit_code, c, shares_opt, oom_opt, create_only] {
        // main() gave the parser argv up to the image: anything left over came before the
        // image and is an unknown flag; the command is the words after the image.
        if (auto left = c->remaining(); !left.empty()) {
            std::cerr << "Error: unknown flag: " << left[0] << "\nSee 'minirun " << (create_only ? "create" : "run") << " --help'.\n";
            exit_code = 125;
            return;
        }
        r.command = g_command_tail;
        if (shares_opt->count()) r.cpu_shares = cpu_shares;
        if (oom_opt->count()) r.oom_score_adj = oom_score_adj;
        r.cidfile = cidfile;
        if (c->count("--entrypoint")) r.entrypoint = entrypoint;
        if (!health_cmd.empty()) r.health.test = {"CMD-SHELL", health_cmd};
        if (c->count("--health-retries")) r.health.retries = health_retries;
        if (pids != 0) r.pids_limit = pids;
        if (stop_timeout >= 0) r.stop_timeout = stop_timeout;
        if (!r.quiet_pull)
            r.on_pull = [](const std::string& image) { std::cerr << "Unable to find image '" << image << "' locally; pulling\n"; };
        try {
            auto duration = [](const std::string& flag) -> std::optional<int64_t> {
                const std::string& text = health_durations.at(flag);
                if (text.empty()) return std::nullopt;
                return parse_duration_ns(text, flag);
            };
            r.health.interval_ns = duration("--health-interval");
            r.health.timeout_ns = duration("--health-timeout");
            r.health.start_period_ns = duration("--health-start-period");
            r.health.start_interval_ns = duration("--health-start-interval");
            if (!networks.empty()) r.network = networks.front();
            for (size_t i = 1; i < networks.size(); ++i) r.extra_networks.push_back({networks[i], {}, "", "", ""});
            r.mounts.clear();
            for (auto& v : volumes) r.mounts.push_back(engine::parse_volume_flag(v));
            for (auto& m : mounts) r.mounts.push_back(engine::parse_mount_flag(m));
            for (auto& t : tmpfs) r.mounts.push_back(engine::parse_tmpfs_flag(t));
            apply_cdi_devices(r, gpus);
            auto e = open_engine(g);
            if (!run_detach_keys.empty()) engine::parse_detach_keys(run_detach_keys);  // a bad one before anything runs
            engine::RunResult run = create_only ? e.create(r) : e.run(r);
            exit_code = run.status;
            if (!run.error.empty()) std::cerr << "Error: " << run.error << "\n";
            else if (r.detach || create_only) std::cout << run.container_id << "\n";
            else if (run.attach) {
                // `run -it`: attached to the supervisor that holds it; the detach keys
                // leave it running (exit 0), else its status.
                engine::AttachOptions ao;
                if (!run_detach_keys.empty()) ao.detach_keys = run_detach_keys;
                ao.replay = true;  // from its first output
                exit_code = attach_exit_code(e, run.container_id, ao);
            }
        } catch (const std::exception& e) {
            std::cerr << "Error: " << e.what() << "\n";
            exit_code = 125;
        }
    });
}

void add_ps(CLI::App& app, GlobalOptions& g) {
    static bool all = false, quiet = false, no_trunc = false, latest = false;
    static int last = -1;
    static std::string format;
    auto* c = app.add_subcommand("ps", "List containers");
    c->add_flag("-a,--all", all, "Include stopped containers");
    c->add_flag("-q,--quiet", quiet, "Only IDs");
    c->add_flag("--no-trunc", no_trunc, "Full IDs and commands");
    c->add_option("-n,--last", last, "The N most recently created containers (all states)");
    c->add_flag("-l,--latest", latest, "The most recently created container (all states)");
    c->add_option("--format", format,
                  "A Go template ({{.Names}}, table {{.ID}}\\t{{.Status}}, {{json .}}), or json: the full records "
                  "as one array");
    static std::vector<std::string> filters;
    c->add_option("-f,--filter", filters,
                  "KEY=VALUE: id, name, label, status, ancestor, network, volume, health, exited, before, since; "
                  "or a Compose file: that project's containers")
        ->allow_extra_args(false);
    c->callback([&g] {
        auto e = open_engine(g);
        e.reap_orphans();
        std::vector<std::string> docker_filters;
        for (auto& f : filters)  // a Compose file names its project
            docker_filters.push_back(f.find('=') == std::string::npos
                                         ? std::string("label=") + engine::kComposeProjectLabel + "=" + compose::project_name_of(f)
                                         : f);
        auto parsed = engine::parse_container_filters(docker_filters);
        if (latest) last = 1;
        auto rows = e.ps(all || parsed.wants_stopped() || last > 0);
        engine::ContainerFacts facts;
        facts.health = [&e](const engine::ContainerRecord& r) { return e.health_status(r); };
        facts.container = [&e](const std::string& n) { return e.containers().find(n); };
        std::optional<image::Store> store;
        facts.image_id = [&](const std::string& ref) -> std::optional<std::string> {
            if (!store) store.emplace(storage_root(g));
            auto rec = store->lookup(ref);
            if (!rec) return std::nullopt;
            return store->image_id(*rec);
        };
        std::erase_if(rows, [&](const engine::PsRow& r) { return !engine::matches(parsed, r.rec, facts); });
        if (last > 0 && rows.size() > static_cast<size_t>(last)) rows.resize(static_cast<size_t>(last));  // newest first
        if (quiet) {
            for (auto& r : rows) std::cout << (no_trunc ? r.rec.id : r.rec.id.substr(0, 12)) << "\n";
            return;
        }
        if (format == "json") {  // podman's array of whole records, which minirun's tools read
            json out = json::array();
            for (auto& r : rows) {
                json j = json::parse(engine::record_to_json(r.rec));
                j["Status"] = r.status_text;
                out.push_back(j);
            }
            std::cout << out.dump(2) << "\n";
            return;
        }
        std::vector<json> data;
        for (auto& r : rows) data.push_back(container_row(r, !no_trunc));
        std::cout << format::format_rows(format, container_listing(), data) << std::flush;
    });
}

// Docker's way with several names: each is tried, up to `at_once` of them together, and
// reported in the order given: its name on stdout when it worked, its error on stderr
// when not; the command fails (exit 1) if any did. `stop` of many containers waits for
// them together, as Docker's CLI does.
void each_name(const std::vector<std::string>& names, int& exit_code, const std::function<void(const std::string&)>& fn,
               size_t at_once = 1) {
    for (size_t first = 0; first < names.size(); first += at_once) {
        size_t end = std::min(names.size(), first + at_once);
        std::vector<std::string> errors(end - first);
        std::vector<char> failed(end - first, 0);
        auto attempt = [&](size_t i) {
            try {
                fn(names[i]);
            } catch (const std::exception& e) {
                errors[i - first] = e.what();
                failed[i - first] = 1;
            }
        };
        if (end - first == 1) {
            attempt(first);
        } else {
            std::vector<std::thread> batch;
            for (size_t i = first; i < end; ++i) batch.emplace_back(attempt, i);
            for (auto& t : batch) t.join();
        }
        for (size_t i = first; i < end; ++i) {
            if (failed[i - first]) {
                std::cerr << "Error: " << errors[i - first] << "\n";
                exit_code = 1;
            } else {
                std::cout << names[i] << std::endl;
            }
        }
    }
}

void add_simple(CLI::App& app, GlobalOptions& g, int& exit_code) {
    static std::vector<std::string> stop_names, start_names, restart_names, kill_names, rm_names, wait_names;
    static int stop_t = -1, restart_t = -1;
    static std::string kill_sig = "KILL";
    static bool rm_force = false, rm_volumes = false;
    auto* stop = app.add_subcommand("stop", "Stop running containers (signal, then SIGKILL after a timeout)");
    stop->add_option("-t,--time", stop_t, "Seconds to wait before killing");
    stop->add_option("container", stop_names)->required();
    stop->callback([&g, &exit_code] {
        auto e = open_engine(g);
        constexpr size_t kStopsAtOnce = 16;
        each_name(
            stop_names, exit_code,
            [&](const std::string& n) { e.stop(n, stop_t >= 0 ? std::optional<int>(stop_t) : std::nullopt); }, kStopsAtOnce);
    });
    static std::string pidfile;
    static bool start_attach = false, start_interactive = false;
    static std::string start_detach_keys = "ctrl-p,ctrl-q";
    auto* start = app.add_subcommand("start", "Start stopped containers");
    start->add_option("--pidfile", pidfile, "Write the supervisor's pid here (a systemd unit's PIDFile=)");
    start->add_flag("-a,--attach", start_attach, "Attach to its output (and exit with its status)");
    start->add_flag("-i,--interactive", start_interactive, "Attach stdin too (the container's ends with ours)");
    start->add_option("--detach-keys", start_detach_keys, "Keys that detach and leave it running (default ctrl-p,ctrl-q)");
    start->add_option("container", start_names)->required();
    start->callback([&g, &exit_code] {
        auto e = open_engine(g);
        if (start_attach || start_interactive) {
            if (start_names.size() != 1) throw Error("start -a: you cannot start and attach several containers at once",
                                                     ErrorKind::InvalidArgument);
            engine::AttachOptions ao;
            ao.detach_keys = start_detach_keys;
            engine::parse_detach_keys(ao.detach_keys);  // a typo fails before anything starts
            ao.stdin = start_interactive;
            ao.replay = true;
            ao.close_stdin_on_eof = true;
            e.start(start_names[0]);
            exit_code = attach_exit_code(e, start_names[0], ao);
            return;
        }
        if (!pidfile.empty() && start_names.size() != 1) throw Error("--pidfile: give one container");
        each_name(start_names, exit_code, [&](const std::string& n) {
            e.start(n);
            if (!pidfile.empty())
                fs::write_file_atomic(pidfile, std::to_string(e.containers().find(n).supervisor_pid) + "\n");
        });
    });
    static std::string attach_name, attach_detach_keys = "ctrl-p,ctrl-q";
    static bool attach_no_stdin = false, attach_sig_proxy = true;
    auto* att = app.add_subcommand("attach", "Attach this terminal to a running container's input and output");
    att->add_option("--detach-keys", attach_detach_keys, "Keys that detach and leave it running (default ctrl-p,ctrl-q)");
    att->add_flag("--no-stdin", attach_no_stdin, "Do not send our input to it");
    att->add_option("--sig-proxy", attach_sig_proxy, "Send the signals we get to it (without a tty; default true)");
    att->add_option("container", attach_name)->required();
    att->callback([&g, &exit_code] {
        auto e = open_engine(g);
        engine::AttachOptions ao;
        ao.detach_keys = attach_detach_keys;
        ao.stdin = !attach_no_stdin;
        ao.sig_proxy = attach_sig_proxy;
        exit_code = attach_exit_code(e, attach_name, ao);
    });
    auto* restart = app.add_subcommand("restart", "Restart containers");
    restart->add_option("-t,--time", restart_t, "Seconds to wait before killing");
    restart->add_option("container", restart_names)->required();
    restart->callback([&g, &exit_code] {
        auto e = open_engine(g);
        each_name(restart_names, exit_code, [&](const std::string& n) {
            e.restart(n, restart_t >= 0 ? std::optional<int>(restart_t) : std::nullopt);
        });
    });
    auto* kill = app.add_subcommand("kill", "Send a signal to containers (default KILL)");
    kill->add_option("-s,--signal", kill_sig, "Signal name or number");
    kill->add_option("container", kill_names)->required();
    kill->callback([&g, &exit_code] {
        auto e = open_engine(g);
        each_name(kill_names, exit_code, [&](const std::string& n) {
            e.kill(n, kill_sig);
        });
    });
    auto* rm = app.add_subcommand("rm", "Remove containers");
    rm->add_flag("-f,--force", rm_force, "Kill a running container first");
    rm->add_flag("-v,--volumes", rm_volumes, "Remove its anonymous volumes");
    rm->add_option("container", rm_names)->required();
    rm->callback([&g, &exit_code] {
        auto e = open_engine(g);
        each_name(rm_names, exit_code, [&](const std::string& n) {
            e.remove(n, rm_force, rm_volumes);
        });
    });
    static std::string condition = "not-running";
    static double wait_timeout = 0;
    auto* wait = app.add_subcommand("wait", "Wait for containers to stop (print their exit codes), or to be healthy");
    wait->add_option("container", wait_names)->required();
    wait->add_option("--condition", condition, "not-running (default) or healthy");
    wait->add_option("--timeout", wait_timeout, "With --condition healthy: give up after this many seconds");
    wait->callback([&g] {
        auto e = open_engine(g);
        if (condition == "healthy") {
            for (auto& n : wait_names) e.wait_healthy(n, wait_timeout);
            return;
        }
        if (condition != "not-running") throw Error("invalid --condition \"" + condition + "\": use not-running or healthy");
        for (auto& n : wait_names) std::cout << e.wait(n) << "\n";
    });
}

// A Compose project's logs: each container's lines behind "service-1  | ", as Compose
// prints them; with --follow one reader per container, until all have stopped.
void project_logs(engine::Engine& e, const std::string& project, const std::vector<std::string>& services,
                  engine::LogReadOptions o) {
    auto by_service = compose::project_containers(e, project);
    for (auto& s : services)
        if (!by_service.count(s)) throw Error("no container for service " + s + " in project " + project);
    if (!services.empty())
        std::erase_if(by_service, [&](auto& kv) { return std::find(services.begin(), services.end(), kv.first) == services.end(); });
    if (by_service.empty()) throw Error("project " + project + " has no containers");
    size_t width = 0;
    for (auto& [service, r] : by_service) width = std::max(width, service.size());
    auto prefix = [&](const std::string& service) {
        return service + "-1" + std::string(width - service.size() + 2, ' ') + "| ";
    };
    if (!o.follow) {
        for (auto& [service, r] : by_service) {
            o.prefix = prefix(service);
            e.logs(r.id, o);
        }
        return;
    }
    std::vector<pid_t> readers;
    for (auto& [service, r] : by_service) {
        o.prefix = prefix(service);
        pid_t pid = ::fork();
        if (pid < 0) throw Error("fork: " + std::string(std::strerror(errno)));
        if (pid == 0) {
            try {
                e.logs(r.id, o);
            } catch (const Error& err) {
                std::fprintf(stderr, "Error: %s\n", err.what());
                ::_exit(1);
            }
            ::_exit(0);
        }
        readers.push_back(pid);
    }
    for (pid_t pid : readers) ::waitpid(pid, nullptr, 0);
}

void add_logs_exec(CLI::App& app, GlobalOptions& g, int& exit_code) {
    static std::string since, file, project;
    static std::vector<std::string> names;
    static bool follow = false, timestamps = false;
    static std::string tail = "all";
    auto* logs = app.add_subcommand("logs", "Show a container's output, or a Compose project's");
    logs->add_flag("-f,--follow", follow, "Follow new output");
    logs->add_flag("-t,--timestamps", timestamps, "Show timestamps");
    logs->add_option("-n,--tail", tail, "Lines from the end (number or all)");
    logs->add_option("--since", since, "RFC 3339 time or duration (10m, 2h)");
    logs->add_option("--file", file, "A Compose file: its project's logs (also `logs -f FILE.yaml [SERVICE...]`)");
    logs->add_option("-p,--project-name", project, "A Compose project's logs");
    logs->add_option("container", names, "A container, or with a Compose file or project: services (default all)");
    logs->callback([&g] {
        engine::LogReadOptions o;
        o.follow = follow, o.timestamps = timestamps, o.since = since;
        o.tail = tail == "all" ? -1 : std::stol(tail);
        // `logs -f compose.yaml`: -f is Docker's --follow, but a YAML file right after it
        // that names no container is the Compose form (Compose's own -f FILE).
        if (file.empty() && project.empty() && follow && !names.empty() && std::filesystem::is_regular_file(names[0]) &&
            (names[0].ends_with(".yaml") || names[0].ends_with(".yml"))) {
            auto& raw = raw_args();
            auto it = std::find(raw.begin(), raw.end(), names[0]);
            if (it != raw.begin() && (*(it - 1) == "-f" || *(it - 1) == "--follow")) {
                file = names[0];
                names.erase(names.begin());
                // follow only when asked for apart from the file's -f (`--follow -f FILE`)
                o.follow = std::count_if(raw.begin(), raw.end(), [](const std::string& a) {
                               return a == "-f" || a == "--follow";
                           }) > 1;
            }
        }
        auto e = open_engine(g);
        if (!file.empty() || !project.empty()) {
            std::string name = project.empty() ? compose::project_name_of(file) : compose::normalize_project_name(project);
            project_logs(e, name, names, o);
            return;
        }
        if (names.size() != 1) throw Error("logs: give one container (or --file/-p and services)");
        e.logs(names[0], o);
    });
    static engine::ExecRequest x;
    auto* exec = app.add_subcommand("exec", "Run a command in a running container");
    exec->add_flag("-i,--interactive", x.interactive, "Keep stdin open");
    exec->add_flag("-t,--tty", x.tty, "Allocate a pseudo-TTY");
    exec->add_flag("-d,--detach", x.detach, "Run in the background");
    exec->add_option("-e,--env", x.env, "Set an environment variable");
    exec->add_option("-u,--user", x.user, "user[:group]");
    exec->add_option("-w,--workdir", x.workdir, "Working directory");
    exec->add_option("container", x.container)->required();
    one_value_each(exec);
    exec->prefix_command();
    exec->callback([&g, &exit_code, exec] {
        if (auto left = exec->remaining(); !left.empty())
            throw Error("exec: unknown flag: " + left[0], ErrorKind::InvalidArgument);
        x.command = g_command_tail;
        if (x.command.empty()) throw Error("exec: no command given");
        try {
            exit_code = open_engine(g).exec(x);
        } catch (const minirun::runtime::InitError& e) {
            // A missing or non-executable command is the process's 127/126, as in Docker.
            if (e.status != 126 && e.status != 127) throw;
            std::cerr << "Error: " << e.what() << "\n";
            exit_code = e.status;
        }
    });
}

std::string format_stats(const std::vector<engine::ContainerStats>& rows, const std::string& format) {
    if (format == "json") {  // one array per sample, as before
        json out = json::array();
        for (auto& r : rows)
            out.push_back({{"ID", r.id}, {"Name", r.name}, {"CPUPerc", r.cpu_percent}, {"MemUsage", r.memory_usage},
                           {"MemLimit", r.memory_limit}, {"MemPerc", r.memory_percent}, {"PIDs", r.pids}});
        return out.dump(2) + "\n";
    }
    std::vector<json> data;
    for (auto& r : rows) data.push_back(stats_row(r));
    return format::format_rows(format, stats_listing(), data);
}

void add_info(CLI::App& app, GlobalOptions& g) {
    static std::vector<std::string> stats_names;
    static bool no_stream = false;
    static std::string stats_format, top_name;
    auto* stats = app.add_subcommand("stats", "CPU, memory and pids of running containers");
    stats->add_flag("--no-stream", no_stream, "Print one sample and exit");
    stats->add_option("--format", stats_format, "A Go template ({{.Name}} {{.MemUsage}}, table …), or json");
    stats->add_option("container", stats_names);
    stats->callback([&g] {
        auto e = open_engine(g);
        do {
            std::cout << format_stats(e.stats(stats_names), stats_format) << std::flush;
        } while (!no_stream);
    });
    auto* top = app.add_subcommand("top", "Processes of a container");
    top->add_option("container", top_name)->required();
    top->callback([&g] { std::cout << open_engine(g).top(top_name); });
    static std::string port_name, port_private;
    auto* port = app.add_subcommand("port", "List a container's published ports, or the host address of one");
    port->add_option("container", port_name)->required();
    port->add_option("private_port", port_private, "PORT[/PROTO]: print only where it is published");
    port->callback([&g] {
        auto ports = open_engine(g).ports(port_name);
        if (port_private.empty()) {
            for (auto& p : ports) std::cout << network::format_port_line(p) << "\n";
            return;
        }
        auto chosen = network::select_container_port(ports, port_private);
        if (chosen.empty()) {
            std::string key = port_private.find('/') == std::string::npos ? port_private + "/tcp" : port_private;
            throw Error("no public port '" + key + "' published for " + port_name, ErrorKind::NotFound);
        }
        for (auto& p : chosen)
            std::cout << (network::binds_all_addresses(p.host_ip) ? std::string("0.0.0.0") : p.host_ip) << ":"
                      << p.host_port << "\n";
    });
    static std::string rename_from, rename_to;
    auto* rename = app.add_subcommand("rename", "Give a container a new name");
    rename->add_option("container", rename_from)->required();
    rename->add_option("new_name", rename_to)->required();
    rename->callback([&g] { open_engine(g).rename(rename_from, rename_to); });
    static std::string cp_src, cp_dst;
    static bool cp_archive = false, cp_follow = false, cp_quiet = false;
    auto* cp = app.add_subcommand("cp", "Copy files between a container and the host (CONTAINER:PATH either side)");
    cp->add_option("src", cp_src, "CONTAINER:PATH, a host path (ending in /. : a directory's contents), or - (a tar stream on stdin, extracted into DEST's directory)")->required();
    cp->add_option("dest", cp_dst, "CONTAINER:PATH, a host path, or - (SRC as a tar stream on stdout)")->required();
    cp->add_flag("-a,--archive", cp_archive, "Keep owners (default: root in the container, you on the host)");
    cp->add_flag("-L,--follow-link", cp_follow, "Copy what a symlink SRC points at");
    cp->add_flag("-q,--quiet", cp_quiet, "Accepted for Docker's scripts (nothing is printed)");
    cp->callback([&g] {
        engine::CopyRequest req;
        req.src = engine::parse_copy_end(cp_src);
        req.dst = engine::parse_copy_end(cp_dst);
        req.archive = cp_archive;
        req.follow_link = cp_follow;
        auto eng = open_engine(g);
        engine::copy_files(eng, req);
    });
    auto* container = app.add_subcommand("container", "Manage containers");
    container->require_subcommand(1);
    // Spelled as Docker spells them; main() turns them into the verbs before parsing.
    for (const char* verb : {"ls", "run", "start", "stop", "restart", "kill", "rm", "logs", "exec", "inspect", "port", "top",
                             "stats", "wait", "rename", "cp", "commit", "export", "attach", "create"})
        container->add_subcommand(verb, std::string("Same as `minirun ") + (std::string(verb) == "ls" ? "ps" : verb) + "`");
    container->add_subcommand("prune", "Remove all stopped containers")->callback([&g] {
        auto removed = open_engine(g).prune();
        std::cout << "Deleted Containers:\n";
        for (auto& id : removed) std::cout << id << "\n";
    });
}

void add_network(CLI::App& app, GlobalOptions& g) {
    static std::string name, subnet;
    auto* net = app.add_subcommand("network", "Manage networks");
    net->require_subcommand(1);
    auto nets = [&g] { return network::Networks(std::filesystem::path(storage_root(g)) / "networks"); };
    auto* create = net->add_subcommand("create", "Create a bridge network");
    create->add_option("--subnet", subnet, "CIDR, e.g. 10.89.0.0/24");
    create->add_option("name", name)->required();
    create->callback([nets, &g] {
        auto info = nets().create(name, subnet);
        events::record(storage_root(g), {"network", "create", info.id, {{"name", info.name}, {"type", "bridge"}}, 0});
        std::cout << info.id << "\n";
    });
    static std::string ls_format;
    static bool ls_quiet = false, ls_no_trunc = false;
    static std::vector<std::string> ls_filters;
    auto* ls = net->add_subcommand("ls", "List networks")->alias("list");
    ls->add_option("--format", ls_format, "A Go template ({{.Name}}, table {{.ID}}\\t{{.Name}}…)");
    ls->add_flag("-q,--quiet", ls_quiet, "Only network IDs");
    ls->add_flag("--no-trunc", ls_no_trunc, "Full network IDs");
    ls->add_option("-f,--filter", ls_filters, "name=N, id=ID, driver=D (Docker's)")->allow_extra_args(false);
    ls->callback([nets] {
        std::vector<json> data;
        for (auto& n : nets().list()) {
            bool keep = true;
            std::map<std::string, bool> key_matched;
            for (auto& f : ls_filters) {
                auto eq = f.find('=');
                std::string key = f.substr(0, eq), value = eq == std::string::npos ? "" : f.substr(eq + 1);
                bool hit;
                if (key == "name") hit = n.name.find(value) != std::string::npos;
                else if (key == "id") hit = n.id.rfind(value, 0) == 0;
                else if (key == "driver") hit = n.driver == value;
                else throw Error("invalid filter \"" + f + "\" (network ls takes name=, id=, driver=)", ErrorKind::InvalidArgument);
                key_matched[key] = key_matched[key] || hit;  // one key's values: any; keys: all
            }
            for (auto& [k, hit] : key_matched) keep = keep && hit;
            if (!keep) continue;
            if (ls_quiet) std::cout << (ls_no_trunc ? n.id : n.id.substr(0, 12)) << "\n";
            else data.push_back(network_row(n, !ls_no_trunc));
        }
        if (!ls_quiet) std::cout << format::format_rows(ls_format, network_listing(), data) << std::flush;
    });
    static std::vector<std::string> rm_names;
    static std::string inspect_name;
    auto* rm = net->add_subcommand("rm", "Remove networks")->alias("remove");
    rm->add_option("name", rm_names)->required();
    rm->callback([nets, &g] {
        // Docker's: each in turn, a line per failure, a failed status at the end.
        std::optional<Error> last;
        for (auto& name : rm_names) {
            try {
                auto info = nets().inspect(name);
                nets().remove(name);
                events::record(storage_root(g), {"network", "destroy", info.id, {{"name", info.name}, {"type", "bridge"}}, 0});
                std::cout << name << "\n";
            } catch (const Error& e) {
                if (last) std::cerr << "Error: " << last->what() << "\n";
                last = e;
            }
        }
        if (last) throw *last;
    });
    static std::string member_network, member_container, connect_ip;
    static std::vector<std::string> connect_aliases;
    static bool disconnect_force = false;
    auto* connect = net->add_subcommand("connect", "Connect a container to a network (at once when it runs)");
    connect->add_option("--alias", connect_aliases, "A name peers on this network resolve to the container");
    connect->add_option("--ip", connect_ip, "Its IPv4 address on this network (user-defined networks)");
    connect->add_option("network", member_network)->required();
    connect->add_option("container", member_container)->required();
    connect->callback([&g] { open_engine(g).network_connect(member_network, member_container, connect_aliases, connect_ip); });
    auto* disconnect = net->add_subcommand("disconnect", "Disconnect a container from a network");
    disconnect->add_flag("-f,--force", disconnect_force, "Accepted for Docker's CLI (the container's record is the truth)");
    disconnect->add_option("network", member_network)->required();
    disconnect->add_option("container", member_container)->required();
    disconnect->callback([&g] { open_engine(g).network_disconnect(member_network, member_container); });
    static std::string inspect_format;
    auto* inspect = net->add_subcommand("inspect", "Show a network");
    inspect->add_option("name", inspect_name)->required();
    inspect->add_option("-f,--format", inspect_format, "A Go template over the network ({{.Subnet}}, {{json .}})");
    inspect->callback([nets] {
        auto n = nets().inspect(inspect_name);
        // Docker's Containers: by container id, each endpoint's name and addresses.
        json members = json::object();
        int prefix = n.subnet.empty() ? 0 : network::parse_subnet(n.subnet).prefix;  // host and none have none
        for (auto& e : n.endpoints)
            members[e.container_id] = {{"Name", e.name},
                                       {"MacAddress", e.mac},
                                       {"IPv4Address", e.ip + "/" + std::to_string(prefix)},
                                       {"IPv6Address", ""}};
        json j{{"Name", n.name},       {"Id", n.id},           {"Driver", n.driver},         {"Scope", "local"},
               {"Bridge", n.bridge},   {"Subnet", n.subnet},   {"Gateway", n.gateway},       {"Containers", members},
               {"Created", n.created}, {"IPAM", {{"Driver", "default"}, {"Config", json::array({{{"Subnet", n.subnet}, {"Gateway", n.gateway}}})}}}};
        if (!inspect_format.empty()) std::cout << format::format_value(inspect_format, j);
        else std::cout << json::array({j}).dump(4) << "\n";
    });
}

}  // namespace

void set_command_tail(std::vector<std::string> tail) { g_command_tail = std::move(tail); }
void set_raw_args(int argc, char** argv) { g_raw_args.assign(argv, argv + argc); }
const std::vector<std::string>& raw_args() { return g_raw_args; }

void add_container_commands(CLI::App& app, GlobalOptions& g, int& exit_code) {
    add_run(app, g, exit_code, "run");
    add_run(app, g, exit_code, "create");
    add_ps(app, g);
    add_simple(app, g, exit_code);
    add_logs_exec(app, g, exit_code);
    add_info(app, g);
    add_network(app, g);
}

std::optional<std::string> inspect_container(GlobalOptions& g, const std::string& name) {
    engine::Engine e = open_engine(g);
    try {
        return e.inspect(name);
    } catch (const Error& err) {
        if (err.kind() == ErrorKind::NotFound) return std::nullopt;
        throw;
    }
}

}  // namespace minirun::cli
