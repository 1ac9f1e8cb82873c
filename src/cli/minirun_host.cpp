// minirun's host-level commands: `boot` (after a reboot) and `generate systemd`.
#include "minirun_host.hpp"

#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/engine/engine.hpp"
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

}  // namespace

void add_host_commands(CLI::App& app, GlobalOptions& g, int& exit_code) {
    add_boot(app, g, exit_code);
    add_generate(app, g);
}

}  // namespace minirun::cli
