// A container's network attachment and its hosts files (container_network.hpp), and the
// teardown every way out of a container ends with.
#include "minirun/engine/container_network.hpp"
#include "minirun/network/hosts_files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/common/log.hpp"
#include "minirun/engine/rootfs.hpp"
#include "minirun/network/networks.hpp"
#include "minirun/runtime/container.hpp"
#include "bridge_glue.hpp"

namespace minirun::engine {

namespace stdfs = std::filesystem;

namespace {

// Writes in place: these files are bind-mounted, a rename would detach them.
void write_in_place(const std::string& path, const std::string& text) {
    fs::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd) throw_errno("write " + path);
    fs::write_all(fd.get(), text.data(), text.size(), path);
}

// --add-host / extra_hosts ("host:ip") and the --link lines, as /etc/hosts lines.
std::string extra_hosts_lines(const ContainerRecord& rec) {
    std::string out;
    for (auto& h : rec.extra_hosts) {
        auto colon = h.find(':');
        if (colon != std::string::npos) out += h.substr(colon + 1) + "\t" + h.substr(0, colon) + "\n";
    }
    for (auto& l : rec.link_hosts) out += l + "\n";
    return out;
}

}  // namespace

void ContainerNetwork::resolve_links(ContainerRecord& rec) const {
    // Docker's legacy links: the linked container's address under its alias and name,
    // as it is now (a later change of its address is not followed, as in Docker).
    rec.link_hosts.clear();
    for (auto& l : rec.links) {
        auto colon = l.find(':');
        std::string name = l.substr(0, colon), alias = colon == std::string::npos ? name : l.substr(colon + 1);
        ContainerRecord peer = containers_.find(name);
        if (peer.status != "running" || peer.ip.empty() || peer.network != rec.network)
            throw Error("cannot link to " + name + ": it is not running on network " + rec.network);
        rec.link_hosts.push_back(peer.ip + "\t" + alias + (alias == peer.name ? "" : " " + peer.name));
    }
}

void ContainerNetwork::rewrite_peer_hosts(const std::string& id, const std::string& text) const {
    if (!stdfs::exists(containers_.dir(id) / "hosts")) return;
    std::string extra;
    try {
        extra = extra_hosts_lines(containers_.load(id));
    } catch (const Error&) {
    }
    write_in_place((containers_.dir(id) / "hosts").string(), text + extra);
}

void ContainerNetwork::renamed(const ContainerRecord& rec) {
    network::Networks nets(storage_ / "networks");
    for (auto& net : nets.rename_endpoint(rec.id, rec.name)) {
        for (auto& [id, text] : nets.hosts_files_for(net)) rewrite_peer_hosts(id, text);
        sync_network_dns(storage_, net);
    }
}

std::string ContainerNetwork::own_hosts(const ContainerRecord& rec) const {
    std::string hosts = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";
    if (rec.network == "host") return fs::read_file("/etc/hosts", 1 << 20) + extra_hosts_lines(rec);
    if (rec.network == "none") return hosts + "127.0.1.1\t" + rec.hostname + "\n" + extra_hosts_lines(rec);
    return network::Networks(storage_ / "networks").hosts_file(rec.id) + extra_hosts_lines(rec);
}

void ContainerNetwork::rewrite_own_files(const ContainerRecord& rec) const {
    std::string dir = containers_.dir(rec.id).string();
    write_in_place(dir + "/hosts", own_hosts(rec));
    std::string resolv = rec.network == "host" ? fs::read_file("/etc/resolv.conf", 1 << 20) : network::Networks::resolv_conf();
    // User-defined networks ask their resolver (127.0.0.11), which forwards to --dns.
    resolv = network::uses_embedded_dns(rec.network)
                 ? network::embedded_resolv_conf(resolv, rec.dns_search, rec.dns_options)
                 : network::override_resolv_conf(resolv, rec.dns, rec.dns_search, rec.dns_options);
    write_in_place(dir + "/resolv.conf", resolv);
}

void ContainerNetwork::connect(ContainerRecord& rec) {
    std::string dir = containers_.dir(rec.id).string();
    if (rec.network != "host") {
        network::Networks::create_netns(dir + "/netns");
        if (rec.network != "none") {
            auto peer = [&](const std::string& id, const std::string& text) { rewrite_peer_hosts(id, text); };
            BridgeAttachment a = bridge_attach(storage_, rec, dir + "/netns", peer);
            rec.ip = a.ip;
            rec.mac = a.mac;
            rec.ports = a.ports;
            for (auto& extra : rec.extra_networks) {
                BridgeAttachment e = bridge_attach_extra(storage_, rec, extra, dir + "/netns", peer);
                extra.ip = e.ip;
                extra.mac = e.mac;
            }
        }
    }
    resolve_links(rec);
    rewrite_own_files(rec);
    write_in_place(dir + "/hostname", rec.hostname + "\n");
    containers_.save(rec);
}

namespace {
Error host_network_refusal() {
    return Error("container cannot be disconnected from host network or connected to host network", ErrorKind::Conflict);
}
}  // namespace

void ContainerNetwork::join(ContainerRecord& rec, const std::string& network, const std::vector<std::string>& aliases,
                            const std::string& ip, bool running) {
    if (rec.network == "host" || network == "host") throw host_network_refusal();
    if (network == "none")
        throw Error("container cannot be connected to multiple networks with one of the networks in private (none) mode",
                    ErrorKind::Conflict);
    std::string net = network::Networks(storage_ / "networks").inspect(network).name;
    bool joined = net == rec.network;
    for (auto& e : rec.extra_networks) joined = joined || e.network == net;
    if (joined)
        throw Error("endpoint with name " + rec.name + " already exists in network " + net, ErrorKind::Conflict);
    if (!network::uses_embedded_dns(net) && !aliases.empty())
        throw Error("network-scoped alias is supported only for containers in user defined networks", ErrorKind::InvalidArgument);
    std::string netns = containers_.dir(rec.id).string() + "/netns";
    auto peer = [&](const std::string& id, const std::string& text) { rewrite_peer_hosts(id, text); };
    if (rec.network == "none") {
        ContainerRecord before = rec;
        rec.network = net;
        rec.network_aliases = aliases;
        rec.requested_ip = ip;
        if (running) {
            try {
                BridgeAttachment a = bridge_attach(storage_, rec, netns, peer);
                rec.ip = a.ip;
                rec.mac = a.mac;
                rec.ports = a.ports;
            } catch (...) {
                rec = before;
                throw;
            }
        }
    } else {
        ExtraNetwork extra{net, aliases, ip, "", ""};
        if (running) {
            BridgeAttachment a = bridge_attach_extra(storage_, rec, extra, netns, peer);
            extra.ip = a.ip;
            extra.mac = a.mac;
        }
        rec.extra_networks.push_back(extra);
    }
    if (running) rewrite_own_files(rec);
}

void ContainerNetwork::leave(ContainerRecord& rec, const std::string& network, bool running) {
    if (rec.network == "host" || network == "host") throw host_network_refusal();
    std::string net = network;
    try {
        net = network::Networks(storage_ / "networks").inspect(network).name;
    } catch (const Error&) {  // removed since: the record may still name it
    }
    auto peer = [&](const std::string& id, const std::string& text) { rewrite_peer_hosts(id, text); };
    auto extra = std::find_if(rec.extra_networks.begin(), rec.extra_networks.end(),
                              [&](const ExtraNetwork& e) { return e.network == net || e.network == network; });
    if (extra != rec.extra_networks.end()) {
        if (running) bridge_detach(storage_, rec, peer, extra->network);
        rec.extra_networks.erase(extra);
    } else if ((net == rec.network || network == rec.network) && rec.network != "none") {
        if (running) bridge_detach(storage_, rec, peer, rec.network);
        if (rec.extra_networks.empty()) {
            rec.network = "none";
            rec.ip.clear(), rec.mac.clear(), rec.requested_ip.clear();
            rec.network_aliases.clear();
        } else {
            // The next network becomes the first: default route and published ports.
            ExtraNetwork next = rec.extra_networks.front();
            rec.extra_networks.erase(rec.extra_networks.begin());
            rec.network = next.network;
            rec.network_aliases = next.aliases;
            rec.requested_ip = next.requested_ip;
            rec.ip = next.ip;
            rec.mac = next.mac;
            if (running) rec.ports = bridge_promote(storage_, rec, next.network, peer).ports;
        }
    } else {
        throw Error("container " + rec.name + " is not connected to network " + network, ErrorKind::NotFound);
    }
    if (running) rewrite_own_files(rec);
}

void ContainerNetwork::disconnect(ContainerRecord& rec) {
    std::string dir = containers_.dir(rec.id).string();
    // The namespace file exists from connect until the end of this function: without it
    // there is nothing to undo (the supervisor already disconnected before --rm's teardown).
    if (rec.network != "host" && !stdfs::exists(dir + "/netns")) return;
    // The record on disk: a supervisor's copy predates a `network connect` made while it ran.
    std::string network = rec.network;
    try {
        network = containers_.load(rec.id).network;
    } catch (const Error&) {
    }
    try {
        // Every network it is on, by the networks' state (not only the first).
        if (network != "host" && network != "none")
            bridge_detach(storage_, rec, [&](const std::string& id, const std::string& text) { rewrite_peer_hosts(id, text); });
        if (network != "host") network::Networks::delete_netns(dir + "/netns");
    } catch (const Error& e) {
        log::warn("network cleanup of " + rec.name + ": " + e.what());
    }
}

void teardown_container(const stdfs::path& storage, ContainerStore& containers, ContainerRecord& rec, bool remove_dir) {
    runtime::Runtime rt((storage / "run").string());
    try {
        rt.remove(rec.id, true);
    } catch (const Error& e) {
        log::warn(e.what());
    }
    log::debug("cleanup: runtime removed");
    ContainerNetwork(storage, containers).disconnect(rec);
    log::debug("cleanup: network gone");
    unmount_rootfs(containers.dir(rec.id).string());
    log::debug("cleanup: rootfs unmounted");
    if (remove_dir) {
        containers.remove(rec.id);
        container_event(containers, rec, "destroy");
    }
    log::debug("cleaned up");
}

}  // namespace minirun::engine
