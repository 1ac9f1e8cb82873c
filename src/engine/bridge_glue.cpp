#include "bridge_glue.hpp"

#include "minirun/common/error.hpp"
#include "minirun/common/events.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/engine/container_store.hpp"

#include "minirun/network/dns_resolver.hpp"
#include "minirun/network/networks.hpp"

namespace minirun::engine {

using network::Networks;

namespace {
// Docker's network connect/disconnect event: the network as actor, the container named.
void network_event(const std::filesystem::path& storage, Networks& nets, const char* action, const std::string& network,
                   const ContainerRecord& rec) {
    std::string id = network;
    try {
        id = nets.inspect(network).id;
    } catch (const Error&) {
    }
    events::record(storage, {"network", action, id, {{"container", rec.id}, {"name", network}, {"type", "bridge"}}, 0});
}
}  // namespace

void sync_network_dns(const std::filesystem::path& storage, const std::string& network) {
    if (network::uses_embedded_dns(network))
        network::ensure_resolver(storage / "networks", network, fs::self_exe_dir() / "minirun-dns");
}

void check_network_exists(const std::filesystem::path& storage, const std::string& network) {
    if (network == "bridge" || network == "host" || network == "none") return;
    Networks(storage / "networks").inspect(network);
}

std::vector<network::PortMapping> parse_published_ports(const std::vector<std::string>& publish) {
    std::vector<network::PortMapping> out;
    for (auto& p : publish) out.push_back(network::parse_port_mapping(p));
    return out;
}

namespace {
// After a change on `network`: its resolver serves the change, the event is journalled,
// and every member's /etc/hosts is rewritten.
// `others`: the container is on further networks, whose resolvers must learn the change
// too (any of them may answer it, with the names of all its networks). The first
// network's connect at a start has none: the start path reads no more state for them.
void after_change(const std::filesystem::path& storage, Networks& nets, const char* action, const std::string& network,
                  const ContainerRecord& rec, const PeerHosts& peer_hosts, bool others = true) {
    // Before the container goes on, so its next query finds the resolver up to date.
    sync_network_dns(storage, network);
    if (others)
        for (auto& a : nets.attachments(rec.id))
            if (a.network != network) sync_network_dns(storage, a.network);
    network_event(storage, nets, action, network, rec);
    for (auto& [id, text] : nets.hosts_files_for(network))
        if (id != rec.id) peer_hosts(id, text);
}

BridgeAttachment result(Networks& nets, const network::Attachment& a, const ContainerRecord& rec) {
    return BridgeAttachment{a.ip, a.mac, a.ports, nets.hosts_file(rec.id)};
}
}  // namespace

BridgeAttachment bridge_attach(const std::filesystem::path& storage, const ContainerRecord& rec,
                               const std::string& netns_path, const PeerHosts& peer_hosts) {
    Networks nets(storage / "networks");
    network::EndpointOptions opts{rec.network_aliases, rec.dns, rec.requested_ip, rec.requested_mac};
    network::Attachment a = nets.connect(rec.network, rec.id, rec.name, netns_path, rec.ports, opts);
    after_change(storage, nets, "connect", a.network, rec, peer_hosts, false);
    return result(nets, a, rec);
}

BridgeAttachment bridge_attach_extra(const std::filesystem::path& storage, const ContainerRecord& rec,
                                     const ExtraNetwork& extra, const std::string& netns_path, const PeerHosts& peer_hosts) {
    Networks nets(storage / "networks");
    network::EndpointOptions opts{extra.aliases, rec.dns, extra.requested_ip, ""};
    opts.gateway = false;
    network::Attachment a = nets.connect(extra.network, rec.id, rec.name, netns_path, {}, opts);
    after_change(storage, nets, "connect", a.network, rec, peer_hosts);
    return result(nets, a, rec);
}

BridgeAttachment bridge_promote(const std::filesystem::path& storage, const ContainerRecord& rec,
                                const std::string& network, const PeerHosts& peer_hosts) {
    Networks nets(storage / "networks");
    network::Attachment a = nets.promote(network, rec.id, rec.ports);
    for (auto& [id, text] : nets.hosts_files_for(network))
        if (id != rec.id) peer_hosts(id, text);
    return result(nets, a, rec);
}

void bridge_detach(const std::filesystem::path& storage, const ContainerRecord& rec, const PeerHosts& peer_hosts,
                   const std::string& network) {
    Networks nets(storage / "networks");
    // The networks it really left (the state's), not the record's: a network connected
    // while a supervisor held an older copy of the record is left too.
    for (auto& left : nets.disconnect(rec.id, network)) {
        // The resolver follows the state file by itself; a sync makes the name's removal
        // visible before this returns.
        after_change(storage, nets, "disconnect", left, rec, peer_hosts);
    }
}

}  // namespace minirun::engine
