// minirun-oci: the runtime with runc's command line, for Podman, containerd and
// anything else that drives an OCI runtime. A thin front end over runtime::Runtime.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>

#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/common/log.hpp"
#include "minirun/common/process.hpp"
#include "minirun/common/units.hpp"
#include "minirun/runtime/container.hpp"
#include "minirun/runtime/state.hpp"
#include "minirun/common/time.hpp"

using namespace minirun;
using namespace minirun::runtime;
using json = nlohmann::json;

namespace {

struct Globals {
    std::string root, log_file, log_format = "text";
    bool debug = false, systemd_cgroup = false;
} g;

void log_line(const std::string& level, const std::string& msg) {
    if (g.log_file.empty()) return;
    std::ofstream f(g.log_file, std::ios::app);
    if (g.log_format == "json")
        f << json{{"level", level}, {"msg", msg}, {"time", rfc3339_now()}}.dump() << "\n";
    else
        f << rfc3339_now() << " " << level << ": " << msg << "\n";
}

Runtime open_runtime() {
    if (g.systemd_cgroup && !std::filesystem::exists("/run/systemd/system"))
        throw Error("--systemd-cgroup: this host does not run systemd; use the cgroupfs driver");
    log::set_verbose(g.debug);
    return Runtime(g.root.empty() ? StateStore::default_root() : g.root);
}

std::string read_input(const std::string& path) {
    if (path == "-") return std::string(std::istreambuf_iterator<char>(std::cin), {});
    return fs::read_file(path, 16 << 20);
}

void add_create_options(CLI::App* c, CreateOptions& o) {
    c->add_option("-b,--bundle", o.bundle, "Bundle directory (config.json, rootfs)");
    c->add_option("--pid-file", o.pid_file, "Write the init's pid here");
    c->add_option("--console-socket", o.console_socket, "Unix socket receiving the pty master");
    c->add_flag("--no-pivot", o.no_pivot, "Use chroot instead of pivot_root");
    c->add_flag("--no-new-keyring", o.no_new_keyring, "Keep the caller's session keyring");
    c->add_option("--preserve-fds", o.preserve_fds, "Pass N fds beyond stdio to the container");
    c->add_option("id", o.id, "Container ID")->required();
}

void print_list(Runtime& rt, const std::string& format, bool quiet) {
    auto all = rt.list();
    if (quiet) {
        for (auto& s : all) std::cout << s.id << "\n";
        return;
    }
    if (format == "json") {
        json out = json::array();
        for (auto& s : all) out.push_back(json::parse(state_to_json(s)));
        std::cout << out.dump() << "\n";
        return;
    }
    std::printf("%-20s %-8s %-10s %-40s %-32s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER");
    for (auto& s : all)
        std::printf("%-20s %-8d %-10s %-40s %-32s %s\n", s.id.c_str(), s.status == "stopped" ? 0 : s.pid,
                    s.status.c_str(), s.bundle.c_str(), s.created.c_str(), s.owner.empty() ? "root" : s.owner.c_str());
}

void print_ps(Runtime& rt, const std::string& id, const std::string& format) {
    auto pids = rt.processes(id);
    if (format == "json") {
        std::cout << json(pids).dump() << "\n";
        return;
    }
    ProcessResult r = run_process({"ps", "-ef"});
    std::set<std::string> want;
    for (pid_t p : pids) want.insert(std::to_string(p));
    std::istringstream in(r.out);
    std::string line;
    bool header = true;
    while (std::getline(in, line)) {
        std::istringstream cols(line);
        std::string uid, pid;
        cols >> uid >> pid;
        if (header || want.count(pid)) std::cout << line << "\n";
        header = false;
    }
}

Resources update_from_flags(const std::string& file, const std::map<std::string, std::string>& flags) {
    Resources r = file.empty() ? Resources{} : parse_resources(read_input(file));
    auto get = [&](const char* k) -> const std::string* {
        auto it = flags.find(k);
        return it == flags.end() || it->second.empty() ? nullptr : &it->second;
    };
    if (auto v = get("memory")) {
        if (!r.memory) r.memory = MemoryResources{};
        r.memory->limit = static_cast<int64_t>(parse_size(*v, "--memory"));
    }
    if (auto v = get("pids-limit")) r.pids_limit = std::stoll(*v);
    if (auto v = get("cpu-quota")) {
        if (!r.cpu) r.cpu = CpuResources{};
        r.cpu->quota = std::stoll(*v);
    }
    if (auto v = get("cpu-period")) {
        if (!r.cpu) r.cpu = CpuResources{};
        r.cpu->period = std::stoull(*v);
    }
    if (auto v = get("cpu-shares")) {
        if (!r.cpu) r.cpu = CpuResources{};
        r.cpu->shares = std::stoull(*v);
    }
    if (auto v = get("cpuset-cpus")) {
        if (!r.cpu) r.cpu = CpuResources{};
        r.cpu->cpus = *v;
    }
    return r;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"minirun-oci: an OCI runtime with runc's command line"};
    app.set_version_flag("-v,--version", "minirun-oci version 0.1.0\nspec: 1.1.0");
    app.require_subcommand(1);
    app.add_option("--root", g.root, "State directory (default /run/minirun)");
    app.add_option("--log", g.log_file, "Log file (errors, and debug output with --debug)");
    app.add_option("--log-format", g.log_format, "text or json")->check(CLI::IsMember({"text", "json"}));
    app.add_flag("--debug", g.debug, "Verbose logging");
    app.add_flag("--systemd-cgroup", g.systemd_cgroup, "Accepted; errors when the host has no systemd");
    app.add_option("--criu", [](const CLI::results_t&) { return true; }, "Ignored")->expected(1);
    app.add_flag("--rootless", [](int64_t) {}, "Ignored: decided from the config")->expected(0, 1);

    int exit_code = 0;
    CreateOptions create_opts;
    auto* create = app.add_subcommand("create", "Create a container (it waits for start)");
    add_create_options(create, create_opts);
    create->callback([&] { open_runtime().create(create_opts); });

    std::string start_id;
    auto* start = app.add_subcommand("start", "Start a created container");
    start->add_option("id", start_id)->required();
    start->callback([&] { open_runtime().start(start_id); });

    CreateOptions run_opts;
    bool run_detach = false, run_keep = false;
    auto* run = app.add_subcommand("run", "Create and start a container; wait unless detached");
    add_create_options(run, run_opts);
    run->add_flag("-d,--detach", run_detach, "Return once started");
    run->add_flag("--keep", run_keep, "Ignored (containers are removed after exit)");
    run->callback([&] { exit_code = open_runtime().run(run_opts, run_detach); });

    std::string state_id;
    auto* state = app.add_subcommand("state", "Print a container's state (runtime-spec JSON)");
    state->add_option("id", state_id)->required();
    state->callback([&] { std::cout << state_to_json(open_runtime().state(state_id)) << "\n"; });

    std::string kill_id, kill_sig = "SIGTERM";
    bool kill_all = false;
    auto* kill = app.add_subcommand("kill", "Send a signal to the container's init (or all processes)");
    kill->add_flag("-a,--all", kill_all, "Signal every process in the container");
    kill->add_option("id", kill_id)->required();
    kill->add_option("signal", kill_sig, "Name or number (default SIGTERM)");
    kill->callback([&] { open_runtime().kill(kill_id, parse_signal(kill_sig), kill_all); });

    std::string delete_id;
    bool delete_force = false;
    auto* del = app.add_subcommand("delete", "Delete a stopped container (--force: any)");
    del->add_flag("-f,--force", delete_force, "Kill it first; succeed when it is already gone");
    del->add_option("id", delete_id)->required();
    del->callback([&] { open_runtime().remove(delete_id, delete_force); });

    ExecOptions exec_opts;
    auto* exec = app.add_subcommand("exec", "Run a process in a container");
    exec->add_option("-p,--process", exec_opts.process_file, "process.json");
    exec->add_flag("-t,--tty", exec_opts.tty, "Allocate a pseudo-TTY");
    exec->add_flag("-d,--detach", exec_opts.detach, "Return once started");
    exec->add_option("--pid-file", exec_opts.pid_file);
    exec->add_option("--console-socket", exec_opts.console_socket);
    exec->add_option("--cwd", exec_opts.cwd);
    exec->add_option("-e,--env", exec_opts.env);
    exec->add_option("-u,--user", exec_opts.user, "uid[:gid]");
    exec->add_option("-c,--cap", exec_opts.caps);
    exec->add_flag("--no-new-privs", exec_opts.no_new_privs);
    exec->add_option("--preserve-fds", exec_opts.preserve_fds);
    exec->add_option("--apparmor,--process-label", [](const CLI::results_t&) { return true; })->expected(1);
    exec->add_option("id", exec_opts.id)->required();
    for (auto* o : exec->get_options())
        if (!o->get_positional()) o->allow_extra_args(false);
    exec->prefix_command();
    exec->callback([&] {
        exec_opts.args = exec->remaining();
        exit_code = open_runtime().exec(exec_opts);
    });

    std::string list_format = "table";
    bool list_quiet = false;
    auto* list = app.add_subcommand("list", "List containers");
    list->alias("ls");
    list->add_option("-f,--format", list_format)->check(CLI::IsMember({"table", "json"}));
    list->add_flag("-q,--quiet", list_quiet);
    list->callback([&] {
        Runtime rt = open_runtime();
        print_list(rt, list_format, list_quiet);
    });

    std::string ps_id, ps_format = "table";
    auto* ps = app.add_subcommand("ps", "Processes of a container");
    ps->add_option("-f,--format", ps_format)->check(CLI::IsMember({"table", "json"}));
    ps->add_option("id", ps_id)->required();
    ps->allow_extras();
    ps->callback([&] {
        Runtime rt = open_runtime();
        print_ps(rt, ps_id, ps_format);
    });

    std::string pause_id, resume_id;
    app.add_subcommand("pause", "Freeze a container")->callback([&] { open_runtime().pause(pause_id); })
        ->add_option("id", pause_id)->required();
    app.add_subcommand("resume", "Thaw a container")->callback([&] { open_runtime().resume(resume_id); })
        ->add_option("id", resume_id)->required();

    std::string update_id, update_file;
    std::map<std::string, std::string> update_flags;
    auto* update = app.add_subcommand("update", "Change a container's resource limits");
    update->add_option("-r,--resources", update_file, "linux.resources JSON file, or - for stdin");
    for (const char* f : {"memory", "pids-limit", "cpu-quota", "cpu-period", "cpu-shares", "cpuset-cpus"})
        update->add_option(std::string("--") + f, update_flags[f]);
    update->add_option("id", update_id)->required();
    update->callback([&] { open_runtime().update(update_id, update_from_flags(update_file, update_flags)); });

    std::string spec_bundle = ".";
    bool spec_rootless = false;
    auto* spec = app.add_subcommand("spec", "Write a default config.json");
    spec->add_option("-b,--bundle", spec_bundle);
    spec->add_flag("--rootless", spec_rootless);
    spec->callback([&] {
        std::string path = spec_bundle + "/config.json";
        if (std::filesystem::exists(path)) throw Error("File " + path + " exists. Remove it first");
        fs::write_file_atomic(path, default_spec_json(spec_rootless) + "\n", 0644);
    });

    app.add_subcommand("features", "Print what this runtime supports (JSON)")->callback([] {
        std::cout << features_json() << "\n";
    });

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    } catch (const std::exception& e) {
        std::cerr << "minirun-oci: " << e.what() << "\n";
        log_line("error", e.what());
        return 1;
    }
    return exit_code;
}
