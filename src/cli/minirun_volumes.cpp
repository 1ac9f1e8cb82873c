// Volumes as Docker's `volume` commands manage them: flags → VolumeStore calls.
#include "minirun_volumes.hpp"

#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "listing_rows.hpp"
#include "minirun/common/error.hpp"
#include "minirun/engine/volumes.hpp"
#include "minirun/format/table_format.hpp"
#include "minirun_containers.hpp"

namespace minirun::cli {

using json = nlohmann::json;

namespace {

std::map<std::string, std::string> key_values(const std::vector<std::string>& items, const char* flag) {
    std::map<std::string, std::string> out;
    for (auto& kv : items) {
        auto eq = kv.find('=');
        if (eq == 0) throw Error(std::string("invalid ") + flag + " \"" + kv + "\": no key", ErrorKind::InvalidArgument);
        out[kv.substr(0, eq)] = eq == std::string::npos ? "" : kv.substr(eq + 1);
    }
    return out;
}

json inspect_json(const engine::VolumeInfo& v) {
    return {{"CreatedAt", v.created}, {"Driver", v.driver},     {"Labels", v.labels}, {"Mountpoint", v.mountpoint},
            {"Name", v.name},         {"Options", v.options},   {"Scope", "local"}};
}

// volume ls --filter: name (substring), label, dangling, driver; one key's values: any.
bool volume_matches(const std::vector<std::string>& filters, const engine::VolumeInfo& v, bool in_use) {
    std::map<std::string, bool> hit_by_key;
    for (auto& f : filters) {
        auto eq = f.find('=');
        if (eq == std::string::npos) throw Error("bad format of filter \"" + f + "\" (expected name=value)", ErrorKind::InvalidArgument);
        std::string key = f.substr(0, eq), value = f.substr(eq + 1);
        bool hit;
        if (key == "name") hit = v.name.find(value) != std::string::npos;
        else if (key == "driver") hit = v.driver == value;
        else if (key == "dangling") {
            if (value != "true" && value != "false" && value != "1" && value != "0")
                throw Error("invalid filter \"" + f + "\" (dangling is true or false)", ErrorKind::InvalidArgument);
            hit = (value == "true" || value == "1") == !in_use;
        } else if (key == "label") {
            auto e2 = value.find('=');
            auto it = v.labels.find(value.substr(0, e2));
            hit = it != v.labels.end() && (e2 == std::string::npos || it->second == value.substr(e2 + 1));
            if (!hit) return false;  // labels: every one must hold
        } else {
            throw Error("invalid filter \"" + key + "\" (valid: name, label, dangling, driver)", ErrorKind::InvalidArgument);
        }
        hit_by_key[key] = hit_by_key[key] || hit;
    }
    for (auto& [k, hit] : hit_by_key)
        if (!hit) return false;
    return true;
}

}  // namespace

void add_volume_commands(CLI::App& app, GlobalOptions& g, int& exit_code) {
    auto* vol = app.add_subcommand("volume", "Manage named volumes");
    vol->require_subcommand(1);
    auto store = [&g] { return engine::VolumeStore(storage_root(g)); };
    auto containers = [&g] { return open_engine(g).containers().list(); };

    static std::string create_name, create_driver = "local";
    static std::vector<std::string> create_labels, create_opts;
    auto* create = vol->add_subcommand("create", "Create a volume (a random name when none is given)");
    create->add_option("name", create_name);
    create->add_option("-d,--driver", create_driver, "local (the only driver)");
    create->add_option("-l,--label", create_labels, "KEY=VALUE (repeatable)")->allow_extra_args(false);
    create->add_option("-o,--opt", create_opts, "Driver option KEY=VALUE")->allow_extra_args(false);
    create->callback([store] {
        if (create_driver != "local")
            throw Error("volume driver \"" + create_driver + "\" is not available (minirun has the local driver)",
                        ErrorKind::InvalidArgument);
        auto v = store().create(create_name, key_values(create_labels, "--label"), key_values(create_opts, "--opt"));
        std::cout << v.name << "\n";
    });

    static std::string ls_format;
    static bool ls_quiet = false;
    static std::vector<std::string> ls_filters;
    auto* ls = vol->add_subcommand("ls", "List volumes")->alias("list");
    ls->add_option("--format", ls_format, "A Go template ({{.Name}}, table {{.Name}}\\t{{.Mountpoint}}, {{json .}})");
    ls->add_flag("-q,--quiet", ls_quiet, "Only names");
    ls->add_option("-f,--filter", ls_filters, "name=, label=, dangling=true|false, driver=")->allow_extra_args(false);
    ls->callback([store, containers] {
        auto all = containers();
        std::vector<json> rows;
        for (auto& v : store().list()) {
            if (!volume_matches(ls_filters, v, !engine::volume_users(v.name, all).empty())) continue;
            if (ls_quiet) std::cout << v.name << "\n";
            else rows.push_back(volume_row(v));
        }
        if (!ls_quiet) std::cout << format::format_rows(ls_format, volume_listing(), rows) << std::flush;
    });

    static std::vector<std::string> inspect_names;
    static std::string inspect_format;
    auto* inspect = vol->add_subcommand("inspect", "Show volumes as JSON");
    inspect->add_option("name", inspect_names)->required();
    inspect->add_option("-f,--format", inspect_format, "A Go template per volume ({{.Mountpoint}}, {{json .Labels}})");
    inspect->callback([store, &exit_code] {
        json out = json::array();
        auto s = store();
        for (auto& n : inspect_names) {
            auto v = s.find(n);
            if (!v) {
                std::cerr << "Error: no such volume: " << n << "\n";
                exit_code = 1;
                continue;
            }
            out.push_back(inspect_json(*v));
        }
        if (!inspect_format.empty()) {
            for (auto& v : out) std::cout << format::format_value(inspect_format, v);
        } else if (!out.empty() || exit_code == 0) {
            std::cout << out.dump(4) << "\n";
        }
    });

    static std::vector<std::string> rm_names;
    static bool rm_force = false;
    auto* rm = vol->add_subcommand("rm", "Remove volumes no container uses")->alias("remove");
    rm->add_option("name", rm_names)->required();
    rm->add_flag("-f,--force", rm_force, "Remove even while containers use them");
    rm->callback([store, containers, &exit_code] {
        auto all = containers();
        auto s = store();
        for (auto& n : rm_names) {
            try {
                s.remove(n, all, rm_force);
                std::cout << n << "\n";
            } catch (const Error& e) {
                std::cerr << "Error: " << e.what() << "\n";
                exit_code = 1;
            }
        }
    });

    static bool prune_all = false, prune_yes = false;
    auto* prune = vol->add_subcommand("prune", "Remove unused anonymous volumes (all unused ones with -a)");
    prune->add_flag("-a,--all", prune_all, "Named volumes too");
    prune->add_flag("-f,--force", prune_yes, "Do not prompt (there is no prompt; accepted for Docker's scripts)");
    prune->callback([store, containers] {
        uint64_t bytes = 0;
        auto removed = store().prune(containers(), prune_all, bytes);
        std::cout << "Deleted Volumes:\n";
        for (auto& n : removed) std::cout << n << "\n";
        std::cout << "\nTotal reclaimed space: " << docker_size(static_cast<double>(bytes)) << "\n";
    });
}

}  // namespace minirun::cli
