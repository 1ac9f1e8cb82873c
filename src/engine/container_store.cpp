#include "minirun/engine/container_store.hpp"

#include <algorithm>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "minirun/common/error.hpp"
#include "minirun/common/events.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/common/log.hpp"

namespace minirun::engine {

namespace stdfs = std::filesystem;
using json = nlohmann::json;

RestartPolicy RestartPolicy::parse(const std::string& text) {
    RestartPolicy p;
    auto colon = text.find(':');
    p.name = text.substr(0, colon);
    if (p.name != "no" && p.name != "on-failure" && p.name != "always" && p.name != "unless-stopped")
        throw Error("invalid --restart \"" + text + "\": use no, on-failure[:N], always or unless-stopped");
    if (colon != std::string::npos) {
        if (p.name != "on-failure") throw Error("invalid --restart \"" + text + "\": only on-failure takes a count");
        try {
            size_t used = 0;
            p.max_retries = std::stoi(text.substr(colon + 1), &used);
            if (used != text.size() - colon - 1 || p.max_retries < 0) throw std::invalid_argument("");
        } catch (const std::exception&) {
            throw Error("invalid --restart \"" + text + "\": the count must be a non-negative number");
        }
    }
    return p;
}

std::string RestartPolicy::str() const {
    return name == "on-failure" && max_retries ? name + ":" + std::to_string(max_retries) : name;
}

namespace {

void name_taken(const std::string& name, const std::string& owner) {
    if (!owner.empty())
        throw Error("the container name \"" + name + "\" is already in use by container " + owner.substr(0, 12) +
                        ": remove or rename that container to reuse the name",
                    ErrorKind::Conflict);
}

// Docker's port map: {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}. PortBindings keeps
// the host address as asked ("" = all), NetworkSettings.Ports shows 0.0.0.0 for it.
json port_map(const std::vector<network::PortMapping>& ports, bool show_any_address) {
    json m = json::object();
    for (const auto& p : ports) {
        std::string ip = show_any_address && network::binds_all_addresses(p.host_ip) ? "0.0.0.0" : p.host_ip;
        m[network::container_port_key(p)].push_back(
            {{"HostIp", ip}, {"HostPort", p.host_port ? std::to_string(p.host_port) : ""}});
    }
    return m;
}

// Reads port_map's form, and the "0.0.0.0:8080->80/tcp" strings of records written before.
std::vector<network::PortMapping> ports_from_json(const json& j) {
    std::vector<network::PortMapping> out;
    if (j.is_array()) {
        for (const auto& s : j) out.push_back(network::parse_formatted_port_mapping(s.get<std::string>()));
        return out;
    }
    if (!j.is_object()) return out;
    for (const auto& [key, bindings] : j.items()) {
        for (const auto& b : bindings) {
            out.push_back(network::port_binding(key, b.value("HostIp", ""), b.value("HostPort", "")));
        }
    }
    return out;
}

json health_json(const std::optional<HealthConfig>& h) {
    if (!h) return nullptr;
    return json{{"Test", h->test}, {"Interval", h->interval_ns}, {"Timeout", h->timeout_ns},
                {"StartPeriod", h->start_period_ns}, {"StartInterval", h->start_interval_ns}, {"Retries", h->retries}};
}

json extra_networks_json(const ContainerRecord& r) {
    json out = json::array();
    for (const auto& e : r.extra_networks)
        out.push_back({{"Network", e.network}, {"Aliases", e.aliases}, {"RequestedIP", e.requested_ip},
                       {"IPAddress", e.ip}, {"MacAddress", e.mac}});
    return out;
}

json to_json(const ContainerRecord& r) {
    return json{{"Id", r.id},
                {"Name", r.name},
                {"Image", r.image},
                {"ImageName", r.image_name},
                {"ImageID", r.image_id},
                {"Layers", r.layers},
                {"Created", r.created},
                {"Command", r.command},
                {"State",
                 {{"Status", r.status},
                  {"Running", r.status == "running"},
                  {"Pid", r.pid},
                  {"PidStart", r.pid_start},
                  {"SupervisorPid", r.supervisor_pid},
                  {"SupervisorStart", r.supervisor_start},
                  {"BootId", r.boot_id},
                  {"ExitCode", r.exit_code},
                  {"OOMKilled", r.oom_killed},
                  {"Error", r.error},
                  {"StartedAt", r.started_at},
                  {"FinishedAt", r.finished_at},
                  {"StopRequested", r.stop_requested}}},
                {"RestartCount", r.restart_count},
                {"HostConfig",
                 {{"RestartPolicy", {{"Name", r.restart.name}, {"MaximumRetryCount", r.restart.max_retries}}},
                  {"AutoRemove", r.auto_remove},
                  {"NetworkMode", r.network},
                  {"PortBindings", port_map(r.ports, false)},
                  {"Binds", r.mounts},
                  {"ExtraHosts", r.extra_hosts},
                  {"Dns", r.dns},
                  {"DnsSearch", r.dns_search},
                  {"DnsOptions", r.dns_options},
                  {"LogConfig", {{"Type", r.log_driver}, {"Config", r.log_opts}}}}},
                {"Config",
                 {{"Labels", r.labels},
                  {"StopSignal", r.stop_signal},
                  {"StopTimeout", r.stop_timeout},
                  {"Tty", r.tty},
                  {"OpenStdin", r.interactive},
                  {"Hostname", r.hostname},
                  {"Healthcheck", health_json(r.health)}}},
                {"NetworkSettings", {{"Network", r.network}, {"IPAddress", r.ip}, {"MacAddress", r.mac},
                                     {"Ports", port_map(r.ports, true)}, {"Aliases", r.network_aliases},
                                     {"IPAMConfig", {{"IPv4Address", r.requested_ip}}},
                                     {"RequestedMacAddress", r.requested_mac}, {"Links", r.links},
                                     {"LinkHosts", r.link_hosts}, {"ExtraNetworks", extra_networks_json(r)}}},
                {"Volumes", r.volumes}};
}

ContainerRecord from_json(const json& j) {
    ContainerRecord r;
    r.id = j.value("Id", "");
    r.name = j.value("Name", "");
    r.image = j.value("Image", "");
    r.image_name = j.value("ImageName", "");
    r.image_id = j.value("ImageID", "");
    r.layers = j.value("Layers", std::vector<std::string>{});
    r.created = j.value("Created", "");
    r.command = j.value("Command", std::vector<std::string>{});
    const json st = j.value("State", json::object());
    r.status = st.value("Status", "created");
    r.pid = st.value("Pid", 0);
    r.pid_start = st.value("PidStart", 0ull);
    r.supervisor_pid = st.value("SupervisorPid", 0);
    r.supervisor_start = st.value("SupervisorStart", 0ull);
    r.boot_id = st.value("BootId", "");
    r.exit_code = st.value("ExitCode", 0);
    r.oom_killed = st.value("OOMKilled", false);
    r.error = st.value("Error", "");
    r.started_at = st.value("StartedAt", "");
    r.finished_at = st.value("FinishedAt", "");
    r.stop_requested = st.value("StopRequested", false);
    r.restart_count = j.value("RestartCount", 0);
    const json hc = j.value("HostConfig", json::object());
    const json rp = hc.value("RestartPolicy", json::object());
    r.restart.name = rp.value("Name", "no");
    r.restart.max_retries = rp.value("MaximumRetryCount", 0);
    r.auto_remove = hc.value("AutoRemove", false);
    r.network = hc.value("NetworkMode", "bridge");
    r.ports = ports_from_json(hc.value("PortBindings", json()));
    r.mounts = hc.value("Binds", std::vector<std::string>{});
    const json lc = hc.value("LogConfig", json::object());
    r.log_driver = lc.value("Type", "json-file");
    r.log_opts = lc.value("Config", std::map<std::string, std::string>{});
    const json cfg = j.value("Config", json::object());
    r.labels = cfg.value("Labels", std::map<std::string, std::string>{});
    r.stop_signal = cfg.value("StopSignal", "SIGTERM");
    r.stop_timeout = cfg.value("StopTimeout", 10);
    r.tty = cfg.value("Tty", false);
    r.interactive = cfg.value("OpenStdin", false);
    r.hostname = cfg.value("Hostname", "");
    if (auto h = cfg.find("Healthcheck"); h != cfg.end() && h->is_object()) {
        HealthConfig hc;
        hc.test = h->value("Test", std::vector<std::string>{});
        hc.interval_ns = h->value("Interval", hc.interval_ns);
        hc.timeout_ns = h->value("Timeout", hc.timeout_ns);
        hc.start_period_ns = h->value("StartPeriod", hc.start_period_ns);
        hc.start_interval_ns = h->value("StartInterval", hc.start_interval_ns);
        hc.retries = h->value("Retries", hc.retries);
        r.health = hc;
    }
    const json ns = j.value("NetworkSettings", json::object());
    r.ip = ns.value("IPAddress", "");
    r.network_aliases = ns.value("Aliases", std::vector<std::string>{});
    r.mac = ns.value("MacAddress", "");
    if (auto ipam = ns.find("IPAMConfig"); ipam != ns.end() && ipam->is_object()) r.requested_ip = ipam->value("IPv4Address", "");
    r.requested_mac = ns.value("RequestedMacAddress", "");
    r.links = ns.value("Links", std::vector<std::string>{});
    r.link_hosts = ns.value("LinkHosts", std::vector<std::string>{});
    if (auto extra = ns.find("ExtraNetworks"); extra != ns.end() && extra->is_array())
        for (const auto& e : *extra)
            if (e.is_object())
                r.extra_networks.push_back({e.value("Network", ""), e.value("Aliases", std::vector<std::string>{}),
                                            e.value("RequestedIP", ""), e.value("IPAddress", ""), e.value("MacAddress", "")});
    r.extra_hosts = hc.value("ExtraHosts", std::vector<std::string>{});
    r.dns = hc.value("Dns", std::vector<std::string>{});
    r.dns_search = hc.value("DnsSearch", std::vector<std::string>{});
    r.dns_options = hc.value("DnsOptions", std::vector<std::string>{});
    r.volumes = j.value("Volumes", std::vector<std::string>{});
    return r;
}

}  // namespace

std::vector<std::string> network_names(const ContainerRecord& r) {
    std::vector<std::string> out = {r.network};
    for (const auto& e : r.extra_networks) out.push_back(e.network);
    std::sort(out.begin(), out.end());
    return out;
}

std::string record_to_json(const ContainerRecord& r, int indent) { return to_json(r).dump(indent); }

std::string current_boot_id() {
    static const std::string id = [] {
        std::ifstream in("/proc/sys/kernel/random/boot_id");
        std::string line;
        std::getline(in, line);
        return line;
    }();
    return id;
}

void container_event(const ContainerStore& store, const ContainerRecord& rec, const std::string& action,
                     const std::map<std::string, std::string>& extra) {
    events::Event e{"container", action, rec.id, rec.labels, 0};
    e.attributes["name"] = rec.name;
    e.attributes["image"] = rec.image;
    for (auto& [k, v] : extra) e.attributes[k] = v;
    events::record(store.root().parent_path(), std::move(e));
}

ContainerStore::ContainerStore(stdfs::path storage_root)
    : root_(storage_root / "containers"), index_(storage_root / "container-index") {
    fs::mkdir_p(root_);
}

const ContainerIndex& ContainerStore::index() const {
    if (!index_.built()) {
        std::vector<ContainerIndex::Entry> entries;
        for (const auto& r : list()) entries.push_back({r.name, r.id, r.auto_remove});
        index_.build(entries);
    }
    return index_;
}

// A create reserves its name just before it writes its record, and a rename just before
// it saves the new name: a young entry whose record does not say so yet is still held.
bool ContainerStore::holds_name(const std::string& owner, const std::string& name, long age_seconds) const {
    constexpr long kReservationGrace = 120;
    if (age_seconds < kReservationGrace) return true;
    if (!exists(owner)) return false;
    try {
        return load(owner).name == name;
    } catch (const Error&) {
        return true;  // unreadable, not gone: `rm -f` frees it
    }
}

stdfs::path ContainerStore::dir(const std::string& id) const { return root_ / id; }

bool ContainerStore::exists(const std::string& id) const { return stdfs::exists(dir(id) / "container.json"); }

void ContainerStore::save(const ContainerRecord& r, bool create) const {
    if (create) fs::mkdir_p(dir(r.id));
    else if (!stdfs::exists(dir(r.id))) throw Error("container " + r.name + " was removed");
    // Atomic (rename) but not fsynced: it changes at every start and exit, and after a
    // crash the next `ps` re-derives the truth from the processes anyway.
    if (create && r.auto_remove) index().mark_auto_remove(r.id);
    std::string text = to_json(r).dump();
    auto path = dir(r.id) / "container.json";
    try {
        fs::write_file_atomic(path, text, 0600, false);
    } catch (const Error&) {
        // A full disk refuses the temp file, not the record's own block: rewrite in place,
        // so a container that filled the disk still gets its exit status recorded.
        fs::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
        if (!fd) throw;
        fs::write_all(fd.get(), text.data(), text.size(), path.string());
        if (::ftruncate(fd.get(), static_cast<off_t>(text.size())) != 0) throw;
    }
}

ContainerRecord ContainerStore::load(const std::string& id) const {
    auto path = dir(id) / "container.json";
    json j = json::parse(fs::read_file(path, 4 << 20), nullptr, false);
    if (j.is_discarded()) throw Error("container " + id + ": corrupt record " + path.string());
    return from_json(j);
}

std::vector<ContainerRecord> ContainerStore::list() const {
    std::vector<ContainerRecord> out;
    std::error_code ec;
    for (auto& e : stdfs::directory_iterator(root_, ec)) {
        if (!stdfs::exists(e.path() / "container.json")) continue;
        try {
            out.push_back(load(e.path().filename()));
        } catch (const Error& err) {
            // Said, not hidden: the others still list, and this one can be repaired or rm'd.
            log::warn(err.what());
        }
    }
    std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.created > b.created; });
    return out;
}

ContainerRecord ContainerStore::find(const std::string& key) const {
    if (key.empty()) throw Error("no such container: (empty)", ErrorKind::NotFound);
    bool plain = key.find('/') == std::string::npos && key != "." && key != "..";
    if (plain && key.size() == 64 && exists(key)) return load(key);
    if (std::string owner = index().name_owner(key); !owner.empty() && exists(owner)) {
        ContainerRecord r = load(owner);
        if (r.name == key) return r;
    }
    // An id prefix: the directory names say which, only the match is read.
    std::string match;
    std::error_code ec;
    if (plain)
        for (auto& e : stdfs::directory_iterator(root_, ec)) {
            std::string id = e.path().filename();
            if (id.rfind(key, 0) != 0 || !exists(id)) continue;
            if (!match.empty()) throw Error("container id prefix \"" + key + "\" is ambiguous");
            match = id;
        }
    if (match.empty()) throw Error("no such container: " + key, ErrorKind::NotFound);
    return load(match);
}

void ContainerStore::check_name_free(const std::string& name) const {
    name_taken(name, index().holder(name, [&](const std::string& o, long age) { return holds_name(o, name, age); }));
}

void ContainerStore::claim_name(const std::string& name, const std::string& id) const {
    name_taken(name, index().reserve_name(name, id, [&](const std::string& o, long age) { return holds_name(o, name, age); }));
}

void ContainerStore::release_name(const std::string& name, const std::string& id) const { index().release_name(name, id); }

void ContainerStore::save_claimed(const ContainerRecord& r, bool create) const {
    try {
        save(r, create);
    } catch (...) {
        release_name(r.name, r.id);
        throw;
    }
}

std::vector<ContainerRecord> ContainerStore::auto_remove_records() const {
    std::vector<ContainerRecord> out;
    for (const auto& id : index().auto_remove_ids()) {
        if (!exists(id)) {
            if (!stdfs::exists(dir(id))) index_.unmark_auto_remove(id);  // its removal was cut short
            continue;
        }
        try {
            out.push_back(load(id));
        } catch (const Error& err) {
            log::warn(err.what());
        }
    }
    return out;
}

void ContainerStore::remove(const std::string& id) const {
    std::optional<std::string> name;
    try {
        name = load(id).name;
    } catch (const Error&) {
        // unreadable (rm -f of a damaged record): its name is found by its id below
    }
    remove_dir(id);
    if (name) release_name(*name, id);
    else index().release_names_of(id);
    index_.unmark_auto_remove(id);
}

void ContainerStore::remove_dir(const std::string& id) const {
    // A supervisor that is still winding down (its container just killed) may write or
    // rename files in the directory while it goes: an entry that vanishes or appears under
    // remove_all is that race, not a failure, so try again for a short while.
    std::error_code ec;
    for (int attempt = 0; attempt < 100; ++attempt) {
        ec.clear();
        stdfs::remove_all(dir(id), ec);
        if (!ec) return;
        if (ec != std::errc::no_such_file_or_directory && ec != std::errc::directory_not_empty) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    throw Error("remove container " + id + ": " + ec.message());
}

std::string ContainerStore::new_id() {
    std::random_device rd;
    static const char* hex = "0123456789abcdef";
    std::string id;
    for (int i = 0; i < 64; ++i) id += hex[rd() & 15];
    return id;
}

std::string ContainerStore::claim_free_name(const std::string& id) const {
    static const char* adjectives[] = {"brave", "calm", "eager", "fancy", "gentle", "happy", "jolly", "keen",
                                       "lucid", "merry", "nifty", "proud", "quiet", "rapid", "sharp", "witty"};
    static const char* nouns[] = {"turing", "hopper", "lovelace", "ritchie", "thompson", "torvalds", "knuth",
                                  "dijkstra", "liskov", "hamilton", "kernighan", "stallman", "pike", "wirth"};
    std::random_device rd;
    for (int attempt = 0; attempt < 100; ++attempt) {
        std::string n = std::string(adjectives[rd() % 16]) + "_" + nouns[rd() % 14];
        if (attempt > 10) n += "_" + std::to_string(rd() % 1000);
        auto holds = [&](const std::string& o, long age) { return holds_name(o, n, age); };
        if (index().reserve_name(n, id, holds).empty()) return n;
    }
    std::string n = "c_" + id.substr(0, 12);
    claim_name(n, id);
    return n;
}

}  // namespace minirun::engine
