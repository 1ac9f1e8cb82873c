// Networks: state under one flock'd directory, devices and rules derived from it.
#include "minirun/network/networks.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/common/log.hpp"
#include "minirun/network/addressing.hpp"
#include "minirun/network/hosts_files.hpp"
#include "minirun/network/names.hpp"
#include "minirun/network/netfilter_rules.hpp"
#include "minirun/common/time.hpp"
#include "kernel.hpp"

namespace minirun::network {

namespace stdfs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr const char* kDefaultNetwork = "bridge";
constexpr const char* kDefaultBridge = "minirun0";

struct Endpoint {
    std::string id, name, ip, mac, veth;
    std::string netns;                 // the namespace's path: where the resolver listens
    std::vector<std::string> aliases;
    std::vector<std::string> dns;      // --dns: the resolver's upstreams for this container
    std::vector<PortMapping> ports;
    // The container's default route and published ports go through this endpoint; a
    // container's further networks (`network connect`) have none of either.
    bool gateway = true;
    std::string ifname = "eth0";       // its device inside the namespace
};

struct Record {
    NetworkInfo info;
    std::map<std::string, Endpoint> endpoints;  // by container id
    Subnet subnet() const { return parse_subnet(info.subnet); }
};

std::string name_hex(const std::string& s) { return stable_hex(s, 64); }

std::string random_hex64() {
    unsigned char b[32];
    if (::getrandom(b, sizeof b, 0) != static_cast<ssize_t>(sizeof b)) throw_errno("getrandom");
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (unsigned char c : b) {
        out += hex[c >> 4];
        out += hex[c & 15];
    }
    return out;
}

json port_to_json(const PortMapping& p) {
    return {{"host_ip", p.host_ip}, {"host_port", p.host_port}, {"container_port", p.container_port}, {"protocol", p.protocol}};
}

PortMapping port_from_json(const json& j) {
    PortMapping p;
    p.host_ip = j.value("host_ip", "");
    p.host_port = j.value("host_port", uint16_t{0});
    p.container_port = j.value("container_port", uint16_t{0});
    p.protocol = j.value("protocol", "tcp");
    return p;
}

// NetworkInfo's view of the endpoints, after a change to them.
void list_endpoints(Record& r) {
    r.info.containers.clear();
    r.info.endpoints.clear();
    for (const auto& [id, ep] : r.endpoints) {
        r.info.containers.push_back(id);
        r.info.endpoints.push_back({id, ep.name, ep.ip, ep.mac});
    }
}

json record_to_json(const Record& r) {
    json eps = json::object();
    for (const auto& [id, e] : r.endpoints) {
        json ports = json::array();
        for (const auto& p : e.ports) ports.push_back(port_to_json(p));
        eps[id] = {{"name", e.name}, {"ip", e.ip}, {"mac", e.mac}, {"host_veth", e.veth}, {"aliases", e.aliases}, {"ports", ports},
                   {"netns", e.netns}, {"dns", e.dns}, {"gateway", e.gateway}, {"ifname", e.ifname}};
    }
    return {{"name", r.info.name},       {"id", r.info.id},           {"driver", r.info.driver},
            {"bridge", r.info.bridge},   {"subnet", r.info.subnet},   {"gateway", r.info.gateway},
            {"created", r.info.created}, {"endpoints", eps}};
}

Record record_from_json(const json& j) {
    Record r;
    r.info.name = j.value("name", "");
    r.info.id = j.value("id", "");
    r.info.driver = j.value("driver", "bridge");
    r.info.bridge = j.value("bridge", "");
    r.info.subnet = j.value("subnet", "");
    r.info.gateway = j.value("gateway", "");
    r.info.created = j.value("created", "");
    if (j.contains("endpoints") && j["endpoints"].is_object()) {
        for (const auto& [id, e] : j["endpoints"].items()) {
            Endpoint ep;
            ep.id = id;
            ep.name = e.value("name", "");
            ep.ip = e.value("ip", "");
            ep.mac = e.value("mac", "");
            ep.veth = e.value("host_veth", "");
            ep.aliases = e.value("aliases", std::vector<std::string>{});
            ep.netns = e.value("netns", "");
            ep.dns = e.value("dns", std::vector<std::string>{});
            ep.gateway = e.value("gateway", true);  // records from before several networks: all were
            ep.ifname = e.value("ifname", "eth0");
            if (e.contains("ports"))
                for (const auto& p : e["ports"]) ep.ports.push_back(port_from_json(p));
            r.endpoints[id] = ep;
        }
    }
    list_endpoints(r);
    return r;
}

// ---- the state directory ----

class State {
public:
    explicit State(const stdfs::path& dir) : dir_(dir) {}

    fs::FileLock lock() const {
        fs::mkdir_p(dir_, 0700);
        return fs::FileLock(dir_ / ".lock");
    }

    std::vector<Record> load_all() const {
        std::vector<Record> out;
        std::error_code ec;
        if (!stdfs::is_directory(dir_, ec)) return out;
        for (const auto& ent : stdfs::directory_iterator(dir_)) {
            std::string fname = ent.path().filename().string();
            if (fname.empty() || fname[0] == '.' || ent.path().extension() != ".json") continue;
            json j = json::parse(fs::read_file(ent.path()), nullptr, false);
            if (j.is_discarded() || !j.is_object()) throw Error("network state " + ent.path().string() + " is corrupt");
            out.push_back(record_from_json(j));
        }
        std::sort(out.begin(), out.end(), [](const Record& a, const Record& b) { return a.info.name < b.info.name; });
        return out;
    }

    void save(Record& r) const {
        list_endpoints(r);
        fs::write_file_atomic(path(r.info.name), record_to_json(r).dump(2) + "\n", 0644);
    }

    void erase(const std::string& name) const {
        if (::unlink(path(name).c_str()) != 0 && errno != ENOENT) throw_errno("remove " + path(name).string());
    }

private:
    stdfs::path path(const std::string& name) const { return dir_ / (name + ".json"); }
    stdfs::path dir_;
};

// A name, a full id or a unique id prefix.
Record* find(std::vector<Record>& recs, const std::string& key) {
    if (key.empty()) return nullptr;
    for (auto& r : recs)
        if (r.info.name == key || r.info.id == key) return &r;
    Record* found = nullptr;
    for (auto& r : recs) {
        if (r.info.id.rfind(key, 0) != 0) continue;
        if (found) throw Error("network id prefix \"" + key + "\" is ambiguous");
        found = &r;
    }
    return found;
}

bool predefined(const std::string& name) { return name == "bridge" || name == "host" || name == "none"; }

NetworkInfo pseudo_network(const std::string& name) {
    NetworkInfo n;
    n.name = name;
    n.id = name_hex(name);
    n.driver = name == "host" ? "host" : "null";
    return n;
}

// Subnets in use: other networks' and the host's routes (except our own bridges').
std::vector<Subnet> taken_subnets(const std::vector<Record>& recs, const std::string& except) {
    std::vector<Subnet> taken;
    std::set<std::string> ours = {kDefaultBridge};
    for (const auto& r : recs) {
        ours.insert(r.info.bridge);
        if (r.info.name != except) taken.push_back(r.subnet());
    }
    for (const auto& rt : parse_routes(kernel::routes_text()))
        if (!ours.count(rt.dev)) taken.push_back(rt.dst);
    return taken;
}

std::string configured_default_subnet(const NetworkConfig& cfg) {
    if (!cfg.default_subnet.empty()) return cfg.default_subnet;
    const char* env = std::getenv("MINIRUN_BRIDGE_SUBNET");
    return env ? env : "";
}

// The default network, created (or re-addressed while unused) under the caller's lock.
void ensure_default(const State& st, std::vector<Record>& recs, const NetworkConfig& cfg) {
    std::string wanted = configured_default_subnet(cfg);
    Record* cur = find(recs, kDefaultNetwork);
    if (cur && (wanted.empty() || cur->info.subnet == wanted)) return;
    Subnet sub;
    if (!wanted.empty()) {
        try {
            sub = parse_subnet(wanted);
        } catch (const Error& e) {
            throw Error(std::string("default network: ") + e.what());
        }
        for (const auto& r : recs)
            if (r.info.name != kDefaultNetwork && overlaps(sub, r.subnet()))
                throw Error("default network: subnet " + wanted + " overlaps network " + r.info.name + " (" +
                            r.info.subnet + ")");
        if (cur && !cur->endpoints.empty()) {
            log::warn("default network keeps " + cur->info.subnet + " while containers are attached (wanted " +
                      wanted + ")");
            return;
        }
    } else {
        auto pools = default_pools();
        auto picked = pick_subnet(pools, taken_subnets(recs, kDefaultNetwork));
        if (!picked) throw Error("default network: no free subnet in the default pools; set MINIRUN_BRIDGE_SUBNET");
        sub = *picked;
    }
    if (!cur) {
        Record r;
        r.info.name = kDefaultNetwork;
        r.info.id = random_hex64();
        r.info.bridge = kDefaultBridge;
        r.info.created = rfc3339_now();
        recs.push_back(r);
        cur = &recs.back();
    }
    // A changed subnet reaches the bridge device at the next connect (ensure_bridge).
    cur->info.subnet = sub.str();
    cur->info.gateway = format_ipv4(sub.gateway());
    st.save(*cur);
    std::sort(recs.begin(), recs.end(), [](const Record& a, const Record& b) { return a.info.name < b.info.name; });
}

NetRules rules_of(const Record& r) { return {r.info.name, r.info.bridge, r.subnet()}; }

// Removes what an endpoint put in the kernel; the record is the caller's business.
void teardown(const Endpoint& ep) {
    kernel::delete_link(ep.veth);
    if (!ep.gateway) return;  // the container's rules (its ports) belong to its gateway endpoint
    RuleChange ch;
    ch.drop_tags = {container_tag(ep.id)};
    kernel::netfilter_apply(ch);
}

// The container's /etc/hosts over all its networks: its own address on each (the
// gateway endpoint's first) and, on user-defined networks, every peer by name.
std::string hosts_text(const std::vector<Record>& recs, const std::string& id) {
    std::vector<HostEntry> selves, peers;
    for (const auto& r : recs) {
        auto self = r.endpoints.find(id);
        if (self == r.endpoints.end()) continue;
        HostEntry me{self->second.ip, {id.substr(0, 12), self->second.name}};
        me.names.insert(me.names.end(), self->second.aliases.begin(), self->second.aliases.end());
        selves.insert(self->second.gateway ? selves.begin() : selves.end(), me);
        // Docker: name resolution between containers on user-defined networks only.
        if (r.info.name == kDefaultNetwork) continue;
        for (const auto& [peer_id, ep] : r.endpoints) {
            if (peer_id == id) continue;
            HostEntry e{ep.ip, {ep.name, peer_id.substr(0, 12)}};
            e.names.insert(e.names.end(), ep.aliases.begin(), ep.aliases.end());
            peers.push_back(e);
        }
    }
    if (selves.empty()) return render_hosts(std::nullopt, peers);
    peers.insert(peers.begin(), selves.begin() + 1, selves.end());
    return render_hosts(selves.front(), peers);
}

// Published ports checked against every other container's and the host's; host port 0
// becomes a free one.
std::vector<PortMapping> resolve_ports(const std::vector<PortMapping>& ports, const std::vector<Record>& recs,
                                       const std::string& container_id) {
    std::vector<Published> published;
    for (const auto& r : recs)
        for (const auto& [id, ep] : r.endpoints)
            if (id != container_id)
                for (const auto& p : ep.ports) published.push_back({id, ep.name, p});
    std::vector<PortMapping> resolved;
    for (auto p : ports) {
        if (p.host_ip == "0.0.0.0") p.host_ip.clear();
        if (p.container_port == 0) throw Error("container port 0 is invalid");
        if (p.protocol != "tcp" && p.protocol != "udp" && p.protocol != "sctp") throw Error("unknown protocol " + p.protocol);
        resolved.push_back(p);
    }
    check_port_conflicts(resolved, published);
    std::vector<PortMapping> avoid;
    for (const auto& pub : published) avoid.push_back(pub.port);
    for (auto& p : resolved) {
        if (p.host_port == 0) p.host_port = kernel::pick_host_port(p, avoid);
        else kernel::probe_host_port(p);
        avoid.push_back(p);
    }
    return resolved;
}

// The network rules, and the container's own (DNAT of its ports) when `ep` is its
// gateway endpoint, replacing what was there.
void apply_endpoint_rules(const Record& r, const Endpoint& ep) {
    RuleChange ch;
    ch.ensure_base = true;
    ch.drop_tags = {network_tag(r.info.name)};
    ch.add = network_rules(rules_of(r));
    if (ep.gateway) {
        ch.drop_tags.insert(container_tag(ep.id));
        for (auto& [table, lines] : container_rules(rules_of(r), ep.id, ep.ip, ep.ports))
            ch.add[table].insert(ch.add[table].end(), lines.begin(), lines.end());
    }
    kernel::netfilter_apply(ch);
}

Attachment attachment_of(const Record& r, const Endpoint& ep) {
    Attachment at;
    at.network = r.info.name;
    at.ip = ep.ip;
    at.gateway = r.info.gateway;
    at.mac = ep.mac;
    at.prefix_len = r.subnet().prefix;
    at.host_veth = ep.veth;
    at.ports = ep.ports;
    at.network_id = r.info.id;
    at.aliases = ep.aliases;
    at.is_gateway = ep.gateway;
    return at;
}

}  // namespace

Networks::Networks(stdfs::path state_dir, NetworkConfig config) : state_dir_(std::move(state_dir)), config_(std::move(config)) {}

NetworkInfo Networks::create(const std::string& name, const std::string& subnet) {
    const std::string what = "network create " + name + ": ";
    if (predefined(name)) throw Error(what + name + " is a pre-defined network");
    if (!valid_network_name(name)) throw Error(what + "invalid name (use [a-zA-Z0-9][a-zA-Z0-9_.-]*, up to 64)");
    State st(state_dir_);
    auto lk = st.lock();
    auto recs = st.load_all();
    ensure_default(st, recs, config_);
    if (std::any_of(recs.begin(), recs.end(), [&](const Record& r) { return r.info.name == name; }))
        throw Error(what + "network with name " + name + " already exists");
    Subnet sub;
    if (!subnet.empty()) {
        try {
            sub = parse_subnet(subnet);
        } catch (const Error& e) {
            throw Error(what + e.what());
        }
        for (const auto& r : recs)
            if (overlaps(sub, r.subnet()))
                throw Error(what + "subnet " + subnet + " overlaps network " + r.info.name + " (" + r.info.subnet + ")");
    } else {
        auto picked = pick_subnet(default_pools(), taken_subnets(recs, ""));
        if (!picked) throw Error(what + "no free subnet in the default pools; pass a subnet");
        sub = *picked;
    }
    Record r;
    r.info.name = name;
    r.info.id = random_hex64();
    r.info.bridge = bridge_name(r.info.id);
    r.info.subnet = sub.str();
    r.info.gateway = format_ipv4(sub.gateway());
    r.info.created = rfc3339_now();
    st.save(r);
    return r.info;
}

void Networks::remove(const std::string& name) {
    const std::string what = "network remove " + name + ": ";
    if (predefined(name)) throw Error(what + name + " is a pre-defined network and cannot be removed");
    State st(state_dir_);
    auto lk = st.lock();
    auto recs = st.load_all();
    Record* r = find(recs, name);
    if (!r) throw Error(what + "no such network");
    if (predefined(r->info.name))
        throw Error(what + r->info.name + " is a pre-defined network and cannot be removed");
    if (!r->endpoints.empty()) {
        std::string names;
        for (const auto& [id, ep] : r->endpoints) names += (names.empty() ? "" : ", ") + (ep.name.empty() ? id.substr(0, 12) : ep.name);
        throw Error(what + "containers are still attached (" + names + ")");
    }
    try {
        if (::geteuid() == 0) {
            RuleChange ch;
            ch.drop_tags = {network_tag(r->info.name)};
            kernel::netfilter_apply(ch);
        }
        kernel::delete_link(r->info.bridge);
    } catch (const Error& e) {
        throw Error(what + e.what());
    }
    st.erase(r->info.name);
}

std::vector<NetworkInfo> Networks::list() {
    State st(state_dir_);
    std::vector<Record> recs;
    {
        auto lk = st.lock();
        recs = st.load_all();
        ensure_default(st, recs, config_);
    }
    std::vector<NetworkInfo> out;
    for (const auto& r : recs) out.push_back(r.info);
    out.push_back(pseudo_network("host"));
    out.push_back(pseudo_network("none"));
    std::sort(out.begin(), out.end(), [](const NetworkInfo& a, const NetworkInfo& b) { return a.name < b.name; });
    return out;
}

NetworkInfo Networks::inspect(const std::string& name) {
    if (name == "host" || name == "none") return pseudo_network(name);
    State st(state_dir_);
    std::vector<Record> recs;
    {
        auto lk = st.lock();
        recs = st.load_all();
        ensure_default(st, recs, config_);
    }
    Record* r = find(recs, name);
    if (!r) throw Error("no such network: " + name);
    return r->info;
}

void Networks::create_netns(const std::string& netns_path) {
    const std::string what = "create network namespace " + netns_path;
    struct statfs sfs {};
    if (::statfs(netns_path.c_str(), &sfs) == 0 && sfs.f_type == NSFS_MAGIC) return;  // already one
    fs::mkdir_p(stdfs::path(netns_path).parent_path());
    {
        fs::UniqueFd f(::open(netns_path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0444));
        if (!f) throw_errno(what);
    }
    // A helper thread unshares and bind-mounts its new namespace: a network namespace is
    // per thread, so the process keeps its own, and a thread costs a fraction of a fork.
    int step = 0, err = 0;
    std::thread helper([&] {
        if (::unshare(CLONE_NEWNET) != 0) {
            step = 1, err = errno;
        } else if (::mount("/proc/thread-self/ns/net", netns_path.c_str(), "none", MS_BIND, nullptr) != 0) {
            step = 2, err = errno;
        } else {
            fs::UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
            ifreq ifr{};
            std::memcpy(ifr.ifr_name, "lo", 3);
            if (!s || ::ioctl(s.get(), SIOCGIFFLAGS, &ifr) != 0) {
                step = 3, err = errno;
            } else {
                ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
                if (::ioctl(s.get(), SIOCSIFFLAGS, &ifr) != 0) step = 3, err = errno;
            }
        }
    });
    helper.join();
    if (step != 0) {
        if (step == 3) {
            delete_netns(netns_path);
        } else {
            ::unlink(netns_path.c_str());
        }
        static const char* steps[] = {"", "unshare", "bind mount", "bring lo up"};
        throw Error(errno_message(what + ": " + steps[step], err));
    }
}

void Networks::delete_netns(const std::string& netns_path) {
    if (::umount2(netns_path.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
        throw_errno("unmount network namespace " + netns_path);
    if (::unlink(netns_path.c_str()) != 0 && errno != ENOENT) throw_errno("remove " + netns_path);
}

Attachment Networks::connect(const std::string& network, const std::string& container_id,
                             const std::string& container_name, const std::string& netns_path,
                             const std::vector<PortMapping>& ports, const EndpointOptions& options) {
    const std::string who = container_name.empty() ? container_id.substr(0, 12) : container_name;
    const std::string what = "connect " + who + " to network " + network + ": ";
    if (container_id.empty()) throw Error(what + "no container id");
    if (network == "host") {
        if (!ports.empty()) log::warn("published ports are discarded when using the host network");
        Attachment at;
        at.network = "host";
        return at;
    }
    if (network == "none") {
        if (!ports.empty()) throw Error(what + "ports cannot be published on the none network");
        Attachment at;
        at.network = "none";
        return at;
    }
    if (netns_path.empty()) throw Error(what + "no network namespace");
    State st(state_dir_);
    auto lk = st.lock();
    auto recs = st.load_all();
    if (network == kDefaultNetwork) ensure_default(st, recs, config_);
    Record* rec = find(recs, network);
    if (!rec) throw Error(what + "no such network");

    std::optional<Endpoint> old;
    std::set<std::string> veths;
    for (auto& r : recs) {
        for (auto it = r.endpoints.begin(); it != r.endpoints.end();) {
            const Endpoint& ep = it->second;
            if (it->first == container_id && r.info.name == rec->info.name) {
                old = ep;  // a reconnect (new namespace after a restart): replaced below
            } else if (it->first == container_id && options.gateway && ep.gateway) {
                // A gateway endpoint elsewhere left by a run that died: the container's
                // first network is connected first, so this one is stale.
                try {
                    teardown(ep);
                } catch (const Error& e) {
                    log::warn(what + "a stale endpoint on " + r.info.name + ": " + e.what());
                }
                it = r.endpoints.erase(it);
                st.save(r);
                continue;
            } else {
                veths.insert(ep.veth);
            }
            ++it;
        }
    }
    try {
        if (!options.gateway && !ports.empty()) throw Error("ports are published on the container's first network only");
        if (old) {
            teardown(*old);
            rec->endpoints.erase(container_id);
            st.save(*rec);
        }
        std::vector<PortMapping> resolved = resolve_ports(ports, recs, container_id);

        // Address: the previous one on a reconnect if still free, else the lowest free.
        Subnet sub = rec->subnet();
        std::set<uint32_t> used;
        for (const auto& [id, ep] : rec->endpoints)
            if (auto a = parse_ipv4(ep.ip)) used.insert(*a);
        std::optional<uint32_t> addr;
        if (!options.ip.empty()) {
            // Docker's rules for --ip: user-defined networks only, inside the subnet, free.
            if (rec->info.name == kDefaultNetwork)
                throw Error("user specified IP address is supported on user defined networks only");
            auto want = parse_ipv4(options.ip);
            if (!want) throw Error("invalid --ip \"" + options.ip + "\"");
            if (!sub.contains(*want) || *want == sub.addr || *want == sub.broadcast() || *want == sub.gateway())
                throw Error("--ip " + options.ip + " is not a host address of " + rec->info.subnet + " (or is its gateway)");
            if (used.count(*want)) throw Error("address " + options.ip + " is already in use");
            addr = want;
        }
        if (!addr && old)
            if (auto a = parse_ipv4(old->ip); a && sub.contains(*a) && !used.count(*a) && *a != sub.gateway()) addr = a;
        if (!addr) addr = allocate_address(sub, used);
        if (!addr) throw Error("no free address in " + rec->info.subnet);

        Endpoint ep;
        ep.id = container_id;
        ep.name = container_name;
        ep.ip = format_ipv4(*addr);
        ep.mac = options.mac.empty() ? mac_for(*addr) : options.mac;
        // The gateway endpoint's host end is named after the container alone (a sweep
        // finds it without the state); a further network's after the pair.
        ep.veth = veth_name(options.gateway ? container_id : name_hex(rec->info.id + container_id));
        if (veths.count(ep.veth)) ep.veth = veth_name(name_hex(ep.veth + container_id));
        ep.aliases = options.aliases;
        ep.netns = netns_path;
        ep.dns = options.dns;
        ep.ports = resolved;
        ep.gateway = options.gateway;
        ep.ifname = options.gateway ? "eth0" : kernel::free_ifname(netns_path);
        // The record first: a crash from here on leaves something disconnect can clean up.
        rec->endpoints[container_id] = ep;
        st.save(*rec);
        try {
            kernel::ensure_bridge(rec->info.bridge, rec->info.gateway, sub.prefix);
            kernel::create_endpoint(rec->info.bridge, ep.veth, netns_path, ep.ifname, ep.mac, ep.ip, sub.prefix,
                                    ep.gateway ? rec->info.gateway : "");
            apply_endpoint_rules(*rec, ep);
        } catch (...) {
            try {
                teardown(ep);
            } catch (const Error& e) {
                log::warn("roll back " + who + ": " + e.what());
            }
            rec->endpoints.erase(container_id);
            st.save(*rec);
            throw;
        }
        return attachment_of(*rec, ep);
    } catch (const Error& e) {
        throw Error(what + e.what());
    }
}

Attachment Networks::promote(const std::string& network, const std::string& container_id,
                             const std::vector<PortMapping>& ports) {
    const std::string what = "make " + network + " the first network of " + container_id.substr(0, 12) + ": ";
    State st(state_dir_);
    auto lk = st.lock();
    auto recs = st.load_all();
    Record* rec = find(recs, network);
    if (!rec || !rec->endpoints.count(container_id)) throw Error(what + "not connected");
    Endpoint& ep = rec->endpoints[container_id];
    if (ep.gateway) return attachment_of(*rec, ep);
    try {
        ep.ports = resolve_ports(ports, recs, container_id);
        ep.gateway = true;
        kernel::set_default_route(ep.netns, ep.ip, rec->info.gateway);
        apply_endpoint_rules(*rec, ep);
    } catch (const Error& e) {
        throw Error(what + e.what());
    }
    st.save(*rec);
    return attachment_of(*rec, ep);
}

std::vector<std::string> Networks::rename_endpoint(const std::string& container_id, const std::string& new_name) {
    State st(state_dir_);
    auto lk = st.lock();
    auto recs = st.load_all();
    std::vector<std::string> out;
    for (auto& r : recs) {
        auto it = r.endpoints.find(container_id);
        if (it == r.endpoints.end()) continue;
        it->second.name = new_name;
        st.save(r);
        out.push_back(r.info.name);
    }
    return out;
}

std::vector<std::string> Networks::disconnect(const std::string& container_id, const std::string& network) {
    std::vector<std::string> left;
    if (container_id.empty()) return left;
    State st(state_dir_);
    auto lk = st.lock();
    auto recs = st.load_all();
    std::set<std::string> other_veths;
    for (auto& r : recs) {
        auto it = r.endpoints.find(container_id);
        for (const auto& [id, ep] : r.endpoints)
            if (id != container_id) other_veths.insert(ep.veth);
        if (it == r.endpoints.end() || (!network.empty() && r.info.name != network)) continue;
        try {
            teardown(it->second);
        } catch (const Error& e) {
            throw Error("disconnect " + container_id.substr(0, 12) + " from network " + r.info.name + ": " + e.what());
        }
        r.endpoints.erase(it);
        st.save(r);
        left.push_back(r.info.name);
    }
    if (!left.empty() || !network.empty() || ::geteuid() != 0) return left;
    // Not in the state (a crash between kernel changes and the record?): sweep by name and tag.
    Endpoint ep;
    ep.id = container_id;
    ep.veth = veth_name(container_id);
    if (other_veths.count(ep.veth)) ep.veth.clear();
    try {
        if (!ep.veth.empty()) kernel::delete_link(ep.veth);
        RuleChange ch;
        ch.drop_tags = {container_tag(container_id)};
        kernel::netfilter_apply(ch);
    } catch (const Error& e) {
        throw Error("disconnect " + container_id.substr(0, 12) + ": " + e.what());
    }
    return left;
}

std::string Networks::hosts_file(const std::string& container_id) {
    return hosts_text(State(state_dir_).load_all(), container_id);
}

std::vector<std::pair<std::string, std::string>> Networks::hosts_files_for(const std::string& network) {
    State st(state_dir_);
    auto recs = st.load_all();
    std::vector<std::pair<std::string, std::string>> out;
    Record* r = find(recs, network);
    if (!r) {
        if (predefined(network)) return out;
        throw Error("no such network: " + network);
    }
    for (const auto& [id, ep] : r->endpoints) out.emplace_back(id, hosts_text(recs, id));
    return out;
}

std::vector<Attachment> Networks::attachments(const std::string& container_id) const {
    std::vector<Attachment> out;
    for (const auto& r : State(state_dir_).load_all()) {
        auto it = r.endpoints.find(container_id);
        if (it != r.endpoints.end()) out.push_back(attachment_of(r, it->second));
    }
    return out;
}

std::map<std::string, std::vector<Member>> Networks::all_members() const {
    std::map<std::string, std::vector<Member>> out;
    std::vector<Record> recs;
    try {
        recs = State(state_dir_).load_all();
    } catch (const Error&) {
        return out;  // a file being replaced: the caller reloads on the next change
    }
    for (const auto& r : recs) {
        auto& members = out[r.info.name];
        for (const auto& [id, ep] : r.endpoints) members.push_back({id, ep.name, ep.ip, ep.netns, ep.aliases, ep.dns});
    }
    return out;
}

std::optional<std::vector<Member>> Networks::members(const std::string& network) const {
    json j;
    try {
        j = json::parse(fs::read_file(state_dir_ / (network + ".json"), 16 << 20), nullptr, false);
    } catch (const Error&) {
        return std::nullopt;
    }
    if (j.is_discarded() || !j.is_object()) return std::nullopt;
    Record r = record_from_json(j);
    std::vector<Member> out;
    for (const auto& [id, ep] : r.endpoints) out.push_back({id, ep.name, ep.ip, ep.netns, ep.aliases, ep.dns});
    return out;
}

bool uses_embedded_dns(const std::string& network) { return !predefined(network) && !network.empty(); }

std::string Networks::resolv_conf() {
    auto read = [](const char* p) -> std::string {
        try {
            return fs::read_file(p, 1 << 20);
        } catch (const Error&) {
            return "";
        }
    };
    std::string text = read("/etc/resolv.conf");
    if (is_systemd_resolved_stub(text)) {
        std::string upstream = read("/run/systemd/resolve/resolv.conf");
        if (!upstream.empty()) text = upstream;
    }
    return rewrite_resolv_conf(text);
}

}  // namespace minirun::network
