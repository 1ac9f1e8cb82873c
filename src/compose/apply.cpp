// minirun apply / down: converge the host to a Compose project.
#include "minirun/compose/apply.hpp"

#include <algorithm>
#include <chrono>
#include <functional>
#include <iostream>
#include <map>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "minirun/common/fs.hpp"
#include "minirun/common/process.hpp"
#include "minirun/common/error.hpp"
#include "minirun/common/sha256.hpp"
#include "minirun/engine/compose_labels.hpp"
#include "minirun/engine/engine.hpp"
#include "minirun/network/networks.hpp"
#include "minirun/image/reference.hpp"
#include "minirun/image/store.hpp"
#include "minirun/registry/pull.hpp"

namespace minirun::compose {

namespace stdfs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr const char* kProject = engine::kComposeProjectLabel;
constexpr const char* kService = engine::kComposeServiceLabel;
constexpr const char* kHash = "com.docker.compose.config-hash";
constexpr const char* kImage = "com.docker.compose.image";

std::string image_ref(const Project& p, const Service& s) { return s.image.empty() ? p.name + "-" + s.name : s.image; }

// The image the service runs, built or pulled as asked; returns its id (config digest).
std::string ensure_image(const stdfs::path& storage, const Project& p, const Service& s, const ApplyOptions& o) {
    image::Store store(storage);
    std::string ref = image_ref(p, s);
    auto have = store.lookup(ref);
    if (s.build && (o.build || !have)) {
        // The imgbuild beside us builds it: minirun keeps its small static archive reader
        // (the builder writes every tar and compression format), and a build keeps
        // imgbuild's own signal handling (a killed build tags nothing).
        std::vector<std::string> argv{(fs::self_exe_dir() / "imgbuild").string(), "--storage", storage.string()};
        for (auto& r : o.registry.insecure_registries) argv.insert(argv.end(), {"--insecure-registry", r});
        argv.insert(argv.end(), {"build", "-q", "-t", ref});
        if (!s.build->dockerfile.empty()) argv.insert(argv.end(), {"-f", (stdfs::path(s.build->context) / s.build->dockerfile).string()});
        for (auto& a : s.build->args) argv.insert(argv.end(), {"--build-arg", a});
        if (!s.build->target.empty()) argv.insert(argv.end(), {"--target", s.build->target});
        argv.push_back(s.build->context);
        auto r = run_process(argv);
        if (r.exit_code != 0) {
            std::string why = r.err.size() > 2000 ? r.err.substr(r.err.size() - 2000) : r.err;
            while (!why.empty() && why.back() == '\n') why.pop_back();
            throw Error("build of " + ref + " failed: " + why);
        }
    } else if (!s.build) {
        registry::PullOptions po;
        po.registry = o.registry;
        po.progress = registry::ProgressMode::quiet;
        registry::ensure_image(store, ref, registry::parse_pull_policy(o.pull), po);
    }
    have = store.lookup(ref);
    if (!have) throw Error("image " + ref + " is not in the store");
    return store.image_id(*have);
}


// What decides "unchanged": every field of the request apply makes, in a fixed order.
// Mounts count as the service file wrote them, so hashes stay what they were.
std::string config_hash(const engine::RunRequest& r, const Service& s) {
    // Durations as the strings earlier releases hashed ("30000ms", "" when unset).
    auto ms = [](const std::optional<int64_t>& ns) { return ns ? std::to_string(*ns / 1'000'000) + "ms" : std::string(); };
    json j{{"image", r.image},       {"name", r.name},         {"command", r.command},   {"env", r.env},
           {"publish", r.publish},   {"volumes", s.volumes},   {"tmpfs", s.tmpfs},       {"labels", r.labels},
           {"restart", r.restart},   {"network", r.network},   {"aliases", r.network_aliases},
           {"hostname", r.hostname}, {"hosts", r.add_hosts},   {"memory", r.memory},     {"cpus", r.cpus},
           {"read_only", r.read_only}, {"init", r.init},       {"privileged", r.privileged}, {"cap_add", r.cap_add},
           {"cap_drop", r.cap_drop}, {"user", r.user},         {"workdir", r.workdir},   {"stop_signal", r.stop_signal},
           {"log_driver", r.log_driver}, {"log_opts", r.log_opts}, {"health", r.health.test},
           {"health_timing", {ms(r.health.interval_ns), ms(r.health.timeout_ns), ms(r.health.start_period_ns),
                              ms(r.health.start_interval_ns)}},
           {"no_healthcheck", r.health.disable}};
    // Only a service on several networks hashes them: the hashes of one-network services
    // stay what they were, so an upgrade recreates nothing.
    if (!r.extra_networks.empty()) {
        json extra = json::array();
        for (auto& e : r.extra_networks) extra.push_back({e.network, e.aliases});
        j["extra_networks"] = extra;
    }
    j["entrypoint"] = r.entrypoint ? json(*r.entrypoint) : json(nullptr);
    j["pids_limit"] = r.pids_limit ? json(*r.pids_limit) : json(nullptr);
    j["stop_timeout"] = r.stop_timeout ? json(*r.stop_timeout) : json(nullptr);
    j["health_retries"] = r.health.retries ? json(*r.health.retries) : json(nullptr);
    // Keys added later count only when set, so services without them keep their hash.
    auto add_if = [&](const char* key, const json& v, bool set) {
        if (set) j[key] = v;
    };
    add_if("ulimits", r.ulimits, !r.ulimits.empty());
    add_if("sysctls", r.sysctls, !r.sysctls.empty());
    add_if("group_add", r.group_add, !r.group_add.empty());
    add_if("devices", r.devices, !r.devices.empty());
    add_if("device_cgroup_rules", r.device_cgroup_rules, !r.device_cgroup_rules.empty());
    add_if("dns", r.dns, !r.dns.empty());
    add_if("dns_search", r.dns_search, !r.dns_search.empty());
    add_if("dns_options", r.dns_options, !r.dns_options.empty());
    add_if("shm_size", r.shm_size, !r.shm_size.empty());
    add_if("cpuset", r.cpuset_cpus, !r.cpuset_cpus.empty());
    add_if("mem_reservation", r.memory_reservation, !r.memory_reservation.empty());
    add_if("memswap_limit", r.memory_swap, !r.memory_swap.empty());
    add_if("cpu_shares", r.cpu_shares.value_or(0), r.cpu_shares.has_value());
    add_if("oom_score_adj", r.oom_score_adj.value_or(0), r.oom_score_adj.has_value());
    return sha256_digest(j.dump()).substr(7);
}

// Waits for a dependency's condition; throws naming it when it cannot be met.
void wait_for(engine::Engine& e, const std::string& container, const Dependency& d, double timeout_s) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
    if (d.condition == "service_healthy") {
        try {
            e.wait_healthy(container, timeout_s);
        } catch (const Error& err) {
            throw Error("dependency " + d.service + " did not become healthy: " + err.what());
        }
        return;
    }
    for (;;) {
        engine::ContainerRecord rec = e.refresh(e.containers().find(container));
        if (d.condition == "service_started" && rec.status == "running") return;
        if (d.condition == "service_completed_successfully" && rec.status == "exited") {
            if (rec.exit_code == 0) return;
            throw Error("dependency " + d.service + " exited with code " + std::to_string(rec.exit_code));
        }
        if (d.condition == "service_started" && rec.status == "exited")
            throw Error("dependency " + d.service + " exited with code " + std::to_string(rec.exit_code));
        if (std::chrono::steady_clock::now() > deadline)
            throw Error("dependency " + d.service + " did not reach " + d.condition + " within " +
                        std::to_string(static_cast<int>(timeout_s)) + "s");
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
}

void ensure_networks(const stdfs::path& storage, const Project& p, const std::set<std::string>& used) {
    network::Networks nets(storage / "networks");
    std::set<std::string> have;
    for (auto& n : nets.list()) have.insert(n.name);
    for (auto& [key, spec] : p.networks) {
        if (!used.count(spec.name) || have.count(spec.name)) continue;
        if (spec.external) throw Error("network " + spec.name + " declared as external, but could not be found");
        nets.create(spec.name);
    }
}

}  // namespace

engine::RunRequest run_request(const Project& p, const Service& s) {
    engine::RunRequest r;
    r.image = image_ref(p, s);
    r.name = container_name(p, s);
    r.detach = true;
    r.quiet_pull = true;
    r.pull = "never";  // ensure_image did what --pull asked
    if (s.entrypoint) {
        r.entrypoint = s.entrypoint->empty() ? "" : s.entrypoint->front();
        if (s.entrypoint->size() > 1) r.command.assign(s.entrypoint->begin() + 1, s.entrypoint->end());
    }
    if (s.command) r.command.insert(r.command.end(), s.command->begin(), s.command->end());
    r.env = s.environment;
    r.publish = s.ports;
    for (auto& v : s.volumes) r.mounts.push_back(engine::parse_volume_flag(v));
    for (auto& t : s.tmpfs) r.mounts.push_back(engine::parse_tmpfs_flag(t));
    for (auto& [k, v] : s.labels) r.labels.push_back(k + "=" + v);
    r.restart = s.restart;
    // The first network (by name, as Compose orders equal priorities) holds the default
    // route and the ports; on every network the service answers to its name and aliases.
    for (auto& [net, aliases] : s.networks) {
        std::vector<std::string> names = {s.name};
        names.insert(names.end(), aliases.begin(), aliases.end());
        if (net == s.networks.begin()->first) {
            r.network = net;
            r.network_aliases = names;
        } else {
            r.extra_networks.push_back({net, names, "", "", ""});
        }
    }
    r.hostname = s.hostname;
    r.add_hosts = s.extra_hosts;
    r.memory = s.mem_limit;
    r.cpus = s.cpus;
    r.pids_limit = s.pids_limit;
    r.read_only = s.read_only;
    r.init = s.init;
    r.privileged = s.privileged;
    r.cap_add = s.cap_add;
    r.cap_drop = s.cap_drop;
    r.user = s.user;
    r.workdir = s.working_dir;
    r.stop_signal = s.stop_signal;
    r.stop_timeout = s.stop_grace_period_s;
    r.ulimits = s.ulimits;
    r.sysctls = s.sysctls;
    r.group_add = s.group_add;
    r.devices = s.devices;
    r.device_cgroup_rules = s.device_cgroup_rules;
    r.dns = s.dns;
    r.dns_search = s.dns_search;
    r.dns_options = s.dns_options;
    r.shm_size = s.shm_size;
    r.cpuset_cpus = s.cpuset;
    r.memory_reservation = s.mem_reservation;
    r.memory_swap = s.memswap_limit;
    r.cpu_shares = s.cpu_shares;
    r.oom_score_adj = s.oom_score_adj;
    if (!s.log_driver.empty()) r.log_driver = s.log_driver;
    for (auto& [k, v] : s.log_options) r.log_opts.push_back(k + "=" + v);
    if (s.healthcheck) {
        r.health = *s.healthcheck;
        if (r.health.disable) r.health = {}, r.health.disable = true;  // nothing else counts then
    }
    return r;
}

std::string container_name(const Project& p, const Service& s) {
    return s.container_name.empty() ? p.name + "-" + s.name + "-1" : s.container_name;
}

bool ApplyResult::changed() const {
    for (auto& a : actions)
        if (a.action != "unchanged") return true;
    return false;
}

bool ApplyResult::ok() const {
    for (auto& a : actions)
        if (!a.error.empty()) return false;
    return true;
}

std::string ApplyResult::to_json() const {
    json services = json::array();
    for (auto& a : actions) {
        json s{{"service", a.service}, {"container", a.container}, {"action", a.action}};
        if (!a.error.empty()) s["error"] = a.error;
        services.push_back(s);
    }
    return json{{"project", project}, {"changed", changed()}, {"ok", ok()}, {"services", services}}.dump(2);
}

ApplyResult apply(engine::Engine& e, const stdfs::path& storage, const Project& p, const ApplyOptions& o) {
    ApplyResult out;
    out.project = p.name;
    // The services asked for, and everything they depend on.
    std::set<std::string> selected;
    std::function<void(const std::string&)> select = [&](const std::string& name) {
        if (!selected.insert(name).second) return;
        for (auto& s : p.services)
            if (s.name == name)
                for (auto& d : s.depends_on) select(d.service);
    };
    for (auto& name : o.services) {
        bool known = std::any_of(p.services.begin(), p.services.end(), [&](const Service& s) { return s.name == name; });
        if (!known) throw Error("no such service: " + name);
        select(name);
    }
    if (o.services.empty())
        for (auto& s : p.services) selected.insert(s.name);

    auto existing = project_containers(e, p.name);
    std::set<std::string> used_networks;
    for (auto& s : p.services)
        if (selected.count(s.name))
            for (auto& [net, _] : s.networks) used_networks.insert(net);
    if (!o.dry_run) ensure_networks(storage, p, used_networks);
    std::set<std::string> failed;
    for (auto& s : p.services) {  // dependencies first
        if (!selected.count(s.name)) continue;
        ServiceAction a{s.name, container_name(p, s), "", ""};
        try {
            for (auto& d : s.depends_on) {
                if (failed.count(d.service)) throw Error("dependency " + d.service + " failed");
                if (o.dry_run) continue;
                for (auto& dep : p.services)
                    if (dep.name == d.service) wait_for(e, container_name(p, dep), d, o.wait_timeout_s);
            }
            std::string image_id = o.dry_run ? "" : ensure_image(storage, p, s, o);
            engine::RunRequest req = run_request(p, s);
            std::string hash = config_hash(req, s);
            req.labels.push_back(std::string(kProject) + "=" + p.name);
            req.labels.push_back(std::string(kService) + "=" + s.name);
            req.labels.push_back("com.docker.compose.container-number=1");
            req.labels.push_back("com.docker.compose.project.config_files=" + p.file.string());
            req.labels.push_back(std::string(kHash) + "=" + hash);
            req.labels.push_back(std::string(kImage) + "=" + image_id);
            if (o.resolve_devices) o.resolve_devices(req);  // before an old container is removed
            auto it = existing.find(s.name);
            if (it != existing.end()) {
                auto& rec = it->second;
                bool config_changed = rec.labels[kHash] != hash;
                bool image_changed = !o.dry_run && rec.labels[kImage] != image_id;
                if (!config_changed && !image_changed) {
                    bool down = rec.status != "running" && rec.status != "restarting";
                    // A one-shot that finished well stays finished (a rerun changes nothing).
                    bool done = rec.status == "exited" && rec.exit_code == 0 && rec.restart.name == "no";
                    if (down && !done) {
                        a.action = "started";
                        if (!o.dry_run) e.start(rec.id);
                    } else {
                        a.action = "unchanged";
                    }
                    out.actions.push_back(a);
                    continue;
                }
                a.action = std::string("recreated (") +
                           (config_changed && image_changed ? "config and image changed"
                            : config_changed                ? "config changed"
                                                            : "image changed") +
                           ")";
                if (!o.dry_run) e.remove(rec.id, /*force=*/true, /*volumes=*/false);
            } else {
                a.action = "created";
            }
            if (!o.dry_run) {
                engine::RunResult run = e.run(req);
                if (run.status != 0)
                    throw Error(run.error.empty() ? "the container did not start (exit " + std::to_string(run.status) + ")"
                                                  : run.error);
            }
        } catch (const Error& err) {
            a.action = "failed";
            a.error = err.what();
            failed.insert(s.name);
        }
        out.actions.push_back(a);
    }
    if (o.remove_orphans && o.services.empty()) {
        for (auto& [service, rec] : existing) {
            bool declared = std::any_of(p.services.begin(), p.services.end(), [&](const Service& s) { return s.name == service; }) ||
                            std::count(p.disabled_services.begin(), p.disabled_services.end(), service);
            if (declared) continue;
            ServiceAction a{service, rec.name, "removed", ""};
            try {
                if (!o.dry_run) e.remove(rec.id, true, false);
            } catch (const Error& err) {
                a.action = "failed", a.error = err.what();
            }
            out.actions.push_back(a);
        }
    }
    return out;
}

ApplyResult down(engine::Engine& e, const stdfs::path& storage, const std::string& project, bool volumes) {
    ApplyResult out;
    out.project = project;
    std::set<std::string> networks;
    for (auto& [service, rec] : project_containers(e, project)) {
        ServiceAction a{service, rec.name, "removed", ""};
        try {
            for (auto& n : engine::network_names(rec)) networks.insert(n);
            e.remove(rec.id, true, volumes);
            if (volumes)
                for (auto& v : rec.volumes)
                    if (v.rfind(project + "_", 0) == 0) stdfs::remove_all(storage / "volumes" / v);
        } catch (const Error& err) {
            a.action = "failed", a.error = err.what();
        }
        out.actions.push_back(a);
    }
    network::Networks nets(storage / "networks");
    for (auto& n : networks)
        if (n.rfind(project + "_", 0) == 0) {
            try {
                nets.remove(n);
            } catch (const Error&) {
            }
        }
    return out;
}

std::map<std::string, engine::ContainerRecord> project_containers(engine::Engine& e, const std::string& project) {
    std::map<std::string, engine::ContainerRecord> out;  // by service
    for (auto& row : e.ps(true)) {
        auto it = row.rec.labels.find(kProject);
        if (it != row.rec.labels.end() && it->second == project) out[row.rec.labels[kService]] = row.rec;
    }
    return out;
}

}  // namespace minirun::compose
