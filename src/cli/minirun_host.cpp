// minirun's host-level commands: `boot` (after a reboot) and `generate systemd`.
#include "minirun_host.hpp"

#include <CLI/CLI.hpp>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "minirun/common/error.hpp"
#include "minirun/common/events.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/common/process.hpp"
#include "minirun/engine/engine.hpp"
#include "minirun/format/table_format.hpp"
#include "minirun/image/store.hpp"
#include "minirun/runtime/cgroups.hpp"
#include "minirun_containers.hpp"

namespace minirun::cli {

using json = nlohmann::json;

namespace {

void add_boot(CLI::App& app, GlobalOptions& g, int& exit_code) {
    static std::string format = "text";
    auto* boot = app.add_subcommand("boot", "After a reboot: sweep stale state, start the containers that should run");
    boot->add_option("--format", format, "text (default) or json");
    boot->callback([&g, &exit_code] {
        auto actions = open_engine(g).boot();
        bool failed = false;
        json list = json::array();
        for (auto& a : actions) {
            failed |= a.action == "failed";
            json j{{"container", a.container}, {"action", a.action}};
            if (!a.error.empty()) j["error"] = a.error;
            list.push_back(j);
            if (format != "json") std::cout << a.container << ": " << a.action << (a.error.empty() ? "" : ": " + a.error) << "\n";
        }
        if (format == "json") std::cout << json{{"ok", !failed}, {"containers", list}}.dump(2) << "\n";
        if (failed) exit_code = 1;
    });
}

// A unit that runs one container as a systemd service: systemd tracks its supervisor
// (Type=forking + PIDFile), restarts it on failure, and stops it with the container's grace.
std::string systemd_unit(const engine::ContainerRecord& rec, const std::string& exe, const std::string& storage,
                         const std::string& restart, int stop_timeout) {
    std::string global = storage == "/var/lib/minirun" ? "" : " --storage " + storage;
    std::string base = exe + global;
    std::string t = std::to_string(stop_timeout);
    return "# container-" + rec.name + ".service, from `minirun generate systemd " + rec.name + "`\n"
           "[Unit]\n"
           "Description=minirun container " + rec.name + "\n"
           "Wants=network-online.target\n"
           "After=network-online.target minirun-boot.service\n"
           "RequiresMountsFor=" + storage + "\n"
           "\n"
           "[Service]\n"
           "Type=forking\n"
           "Restart=" + restart + "\n"
           "TimeoutStopSec=" + std::to_string(stop_timeout + 10) + "\n"
           "PIDFile=%t/minirun-" + rec.name + ".pid\n"
           "ExecStart=" + base + " start --pidfile %t/minirun-" + rec.name + ".pid " + rec.name + "\n"
           "ExecStop=" + base + " stop -t " + t + " " + rec.name + "\n"
           "ExecStopPost=" + base + " stop -t " + t + " " + rec.name + "\n"
           "\n"
           "[Install]\n"
           "WantedBy=multi-user.target\n";
}

void add_generate(CLI::App& app, GlobalOptions& g) {
    static std::string name, restart = "on-failure";
    static int stop_timeout = -1;
    static bool files = false;
    auto* gen = app.add_subcommand("generate", "Generate files for other tools");
    gen->require_subcommand(1);
    auto* sd = gen->add_subcommand("systemd", "A systemd unit that runs a container as a service");
    sd->add_option("--restart-policy", restart, "The unit's Restart= (default on-failure)")
        ->check(CLI::IsMember({"no", "on-success", "on-failure", "on-abnormal", "on-watchdog", "on-abort", "always"}));
    sd->add_option("-t,--time", stop_timeout, "Stop timeout in seconds (default: the container's)");
    sd->add_flag("--files", files, "Write container-NAME.service here instead of printing it");
    sd->add_option("container", name)->required();
    sd->callback([&g] {
        std::string storage = storage_root(g);
        engine::ContainerRecord rec = open_engine(g).containers().find(name);
        if (rec.restart.name != "no")
            std::cerr << "WARN: " << rec.name << " has restart policy " << rec.restart.str()
                      << ": the unit restarts it, and minirun-boot would start it too; recreate it with --restart no\n";
        std::string exe = (fs::self_exe_dir() / "minirun").string();
        std::string unit = systemd_unit(rec, exe, storage, restart, stop_timeout >= 0 ? stop_timeout : rec.stop_timeout);
        if (!files) {
            std::cout << unit;
            return;
        }
        std::string path = "container-" + rec.name + ".service";
        fs::write_file_atomic(path, unit);
        std::cout << std::filesystem::absolute(path).string() << "\n";
    });
}

std::string go_arch(const std::string& machine) {  // Go's GOARCH names, as Docker's OS/Arch prints
    if (machine == "x86_64") return "amd64";
    if (machine == "aarch64") return "arm64";
    if (machine == "i686" || machine == "i386") return "386";
    if (machine.rfind("armv", 0) == 0) return "arm";
    return machine;
}

json version_json() {
    utsname u{};
    ::uname(&u);
    json side{{"Version", kVersion},
              {"ApiVersion", kVersion},
              {"Os", "linux"},
              {"Arch", go_arch(u.machine)},
              {"OsArch", "linux/" + go_arch(u.machine)},
              {"KernelVersion", u.release},
              {"Platform", {{"Name", "minirun"}}},
              {"Components", json::array({{{"Name", "minirun-oci"}, {"Version", kVersion}}})}};
    // Daemonless: the "server" is this same program, as with podman.
    return {{"Client", side}, {"Server", side}};
}

void add_version(CLI::App& app) {
    static std::string format;
    auto* cmd = app.add_subcommand("version", "Show the version of minirun and its parts");
    cmd->add_option("-f,--format", format, "A Go template ({{.Client.Version}}, {{json .}})");
    cmd->callback([] {
        json v = version_json();
        if (!format.empty()) {
            std::cout << format::format_value(format, v);
            return;
        }
        const json& c = v["Client"];
        std::cout << "Client:\n"
                  << " Version:           " << c["Version"].get<std::string>() << "\n"
                  << " OS/Arch:           " << c["OsArch"].get<std::string>() << "\n"
                  << " Runtime:           minirun-oci " << c["Version"].get<std::string>() << "\n"
                  << " Kernel Version:    " << c["KernelVersion"].get<std::string>() << "\n"
                  << "\nServer: none (minirun has no daemon)\n";
    });
}

std::string os_release_name() {
    std::ifstream in("/etc/os-release");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("PRETTY_NAME=", 0) == 0) {
            std::string v = line.substr(12);
            if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'')) v = v.substr(1, v.size() - 2);
            return v;
        }
    return "Linux";
}

json info_json(GlobalOptions& g) {
    std::string root = storage_root(g);
    auto e = open_engine(g);
    e.reap_orphans();
    size_t running = 0, stopped = 0, total = 0;
    for (auto& r : e.ps(true)) {
        ++total;
        if (r.running) ++running;
        else if (r.rec.status != "restarting") ++stopped;
    }
    image::Store store(root);
    utsname u{};
    ::uname(&u);
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
    auto layout = runtime::detect_cgroup_layout();
    std::string machine_id;
    std::ifstream("/etc/machine-id") >> machine_id;
    return {{"ID", machine_id},
            {"Containers", total},
            {"ContainersRunning", running},
            {"ContainersPaused", 0},
            {"ContainersStopped", stopped},
            {"Images", store.list_images().size()},
            {"Driver", "overlay"},
            {"LoggingDriver", "json-file"},
            {"CgroupDriver", "cgroupfs"},
            {"CgroupVersion", layout == runtime::CgroupLayout::v2 ? "2" : "1"},  // hybrid: the controllers are v1
            {"CgroupLayout", runtime::to_string(layout)},
            {"KernelVersion", u.release},
            {"OperatingSystem", os_release_name()},
            {"OSType", "linux"},
            {"Architecture", u.machine},
            {"NCPU", ::sysconf(_SC_NPROCESSORS_ONLN)},
            {"MemTotal", static_cast<int64_t>(pages) * page},
            {"DockerRootDir", root},
            {"Name", host},
            {"ServerVersion", kVersion},
            {"DefaultRuntime", "minirun-oci"},
            {"Runtimes", {{"minirun-oci", {{"path", (fs::self_exe_dir() / "minirun-oci").string()}}}}},
            {"SecurityOptions", json::array({"name=seccomp,profile=builtin"})},
            {"Debug", g.debug}};
}

void add_info(CLI::App& app, GlobalOptions& g) {
    static std::string format;
    auto* cmd = app.add_subcommand("info", "Show this host's containers, images, kernel and store");
    cmd->add_option("-f,--format", format, "A Go template ({{.ServerVersion}}, {{.CgroupVersion}}, {{json .}})");
    cmd->callback([&g] {
        json i = info_json(g);
        if (!format.empty()) {
            std::cout << format::format_value(format, i);
            return;
        }
        auto str = [&](const char* k) { return i[k].is_string() ? i[k].get<std::string>() : i[k].dump(); };
        char mem[32];
        std::snprintf(mem, sizeof mem, "%.2fGiB", static_cast<double>(i["MemTotal"].get<int64_t>()) / (1 << 30));
        std::cout << "Client:\n Version:    " << kVersion << "\n Debug Mode: " << (g.debug ? "true" : "false") << "\n\n"
                  << "Server:\n"
                  << " Containers: " << str("Containers") << "\n"
                  << "  Running: " << str("ContainersRunning") << "\n"
                  << "  Paused: 0\n"
                  << "  Stopped: " << str("ContainersStopped") << "\n"
                  << " Images: " << str("Images") << "\n"
                  << " Server Version: " << kVersion << "\n"
                  << " Storage Driver: overlay\n"
                  << " Logging Driver: json-file\n"
                  << " Cgroup Driver: cgroupfs\n"
                  << " Cgroup Version: " << str("CgroupVersion") << " (" << str("CgroupLayout") << " layout)\n"
                  << " Runtimes: minirun-oci\n"
                  << " Default Runtime: minirun-oci\n"
                  << " Security Options:\n  seccomp\n   Profile: builtin\n"
                  << " Kernel Version: " << str("KernelVersion") << "\n"
                  << " Operating System: " << str("OperatingSystem") << "\n"
                  << " OSType: linux\n"
                  << " Architecture: " << str("Architecture") << "\n"
                  << " CPUs: " << str("NCPU") << "\n"
                  << " Total Memory: " << mem << "\n"
                  << " Name: " << str("Name") << "\n"
                  << " ID: " << str("ID") << "\n"
                  << " Docker Root Dir: " << str("DockerRootDir") << "\n"
                  << " Debug Mode: " << (g.debug ? "true" : "false") << "\n";
    });
}

void add_events(CLI::App& app, GlobalOptions& g) {
    static std::string since, until, format;
    static std::vector<std::string> filters;
    auto* c = app.add_subcommand("events", "Show lifecycle events from this host's journal (follows without --until)");
    c->add_option("--since", since, "From this time (RFC 3339, Unix seconds, or a duration ago: 10m)");
    c->add_option("--until", until, "Up to this time; without it, new events are followed");
    c->add_option("-f,--filter", filters, "KEY=VALUE: type, event, container, image, label, volume, network")
        ->allow_extra_args(false);
    c->add_option("--format", format, "A Go template ({{.Type}} {{.Action}} {{.Actor.ID}}), or json");
    c->callback([&g] {
        auto filter = events::parse_filters(filters);
        auto now = [] {
            return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
                .count();
        };
        // Docker: without --since only what happens from now on.
        int64_t from = since.empty() ? now() : events::parse_event_time(since, "--since");
        std::optional<int64_t> to;
        if (!until.empty()) to = events::parse_event_time(until, "--until");
        std::filesystem::path storage = storage_root(g);
        auto print = [&](const events::Event& e) {
            if (!events::matches(filter, e)) return;
            if (format.empty()) {
                std::cout << events::docker_line(e) << "\n";
            } else if (format == "json") {
                std::cout << events::docker_json(e) << "\n";
            } else {
                std::string text = format::format_value(format, nlohmann::json::parse(events::docker_json(e)));
                std::cout << text << (text.ends_with('\n') ? "" : "\n");
            }
            std::cout << std::flush;
        };
        for (;;) {
            // 100 ms behind the clock: an event stamped just before a read may land just
            // after it, and must not fall behind `from`.
            int64_t upto = now() - 100'000'000;
            if (to) upto = std::min(*to, upto);
            for (auto& e : events::read(storage, from, upto)) print(e);
            from = std::max(from, upto);
            if (to && from >= *to) return;
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
    });
}

}  // namespace

void add_host_commands(CLI::App& app, GlobalOptions& g, int& exit_code) {
    add_boot(app, g, exit_code);
    add_generate(app, g);
    add_version(app);
    add_events(app, g);
    add_info(app, g);
}

size_t command_index(const std::vector<std::string>& args) {
    // The first word that is not a global option (or its value) is the command.
    size_t i = 1;
    while (i < args.size() && args[i].size() > 1 && args[i][0] == '-') {
        bool takes_value = (args[i] == "--storage" || args[i] == "--insecure-registry");
        i += takes_value ? 2 : 1;
    }
    return i;
}

void hand_over_to_imgbuild(const std::vector<std::string>& args) {
    size_t i = command_index(args);
    if (i >= args.size()) return;
    // `cp CONTAINER:PATH -` writes a tar stream too.
    bool tar_out = args[i] == "cp" && args.back() == "-" && args.size() > i + 2;
    if (args[i] != "commit" && args[i] != "export" && args[i] != "import" && !tar_out) return;
    // imgbuild writes layers and tar (its shared libarchive has the writers); minirun keeps
    // its small static reader. Same global options, same store.
    std::vector<std::string> argv = args;
    argv[0] = (fs::self_exe_dir() / "imgbuild").string();
    auto exec_args = to_exec_array(argv);
    ::execv(argv[0].c_str(), exec_args.data());
    throw_errno("run " + argv[0] + " for `" + args[i] + "`");
}

std::vector<std::string> docker_aliases(std::vector<std::string> args) {
    size_t i = command_index(args);
    if (i + 1 >= args.size()) return args;
    static const std::map<std::string, std::map<std::string, std::vector<std::string>>> groups = {
        {"container",
         {{"ls", {"ps"}}, {"list", {"ps"}}, {"ps", {"ps"}}, {"run", {"run"}}, {"start", {"start"}}, {"stop", {"stop"}},
          {"restart", {"restart"}}, {"kill", {"kill"}}, {"rm", {"rm"}}, {"logs", {"logs"}}, {"exec", {"exec"}},
          {"inspect", {"inspect", "--type", "container"}}, {"port", {"port"}}, {"top", {"top"}}, {"stats", {"stats"}},
          {"wait", {"wait"}}, {"rename", {"rename"}}, {"cp", {"cp"}}, {"attach", {"attach"}}, {"create", {"create"}},
          {"commit", {"commit"}}, {"export", {"export"}}}},
        {"image",
         {{"ls", {"images"}}, {"list", {"images"}}, {"rm", {"rmi"}}, {"remove", {"rmi"}}, {"pull", {"pull"}},
          {"push", {"push"}}, {"tag", {"tag"}}, {"inspect", {"inspect", "--type", "image"}},
          {"history", {"history"}}, {"save", {"save"}}, {"load", {"load"}},
          {"import", {"import"}}}}};
    auto group = groups.find(args[i]);
    if (group == groups.end()) return args;
    auto verb = group->second.find(args[i + 1]);
    if (verb == group->second.end()) return args;  // `container prune` and the like stay as they are
    std::vector<std::string> out(args.begin(), args.begin() + static_cast<long>(i));
    out.insert(out.end(), verb->second.begin(), verb->second.end());
    out.insert(out.end(), args.begin() + static_cast<long>(i) + 2, args.end());
    return out;
}

}  // namespace minirun::cli
