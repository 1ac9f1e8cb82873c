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

BridgeAttachment bridge_attach(const std::filesystem::path& storage, const ContainerRecord& rec,
                               const std::string& netns_path,
                               const std::function<void(const std::string&, const std::string&)>& peer_hosts) {
    Networks nets(storage / "networks");
    network::EndpointOptions opts{rec.network_aliases, rec.dns, rec.requested_ip, rec.requested_mac};
    network::Attachment a = nets.connect(rec.network, rec.id, rec.name, netns_path, rec.ports, opts);
    // Before the container starts, so its first query finds 127.0.0.11 listening.
    sync_network_dns(storage, a.network);
    network_event(storage, nets, "connect", a.network, rec);
    BridgeAttachment out{a.ip, a.mac, a.ports, nets.hosts_file(rec.id)};
    for (auto& [id, text] : nets.hosts_files_for(rec.network)) peer_hosts(id, text);
    return out;
}

void bridge_detach(const std::filesystem::path& storage, const ContainerRecord& rec,
                   const std::function<void(const std::string&, const std::string&)>& peer_hosts) {
    Networks nets(storage / "networks");
    nets.disconnect(rec.id);
    network_event(storage, nets, "disconnect", rec.network, rec);
    // The resolver follows the state file by itself; a sync makes the name's removal
    // visible before this returns.
    sync_network_dns(storage, rec.network);
    for (auto& [id, text] : nets.hosts_files_for(rec.network)) peer_hosts(id, text);
}


}  // namespace minirun::engine
