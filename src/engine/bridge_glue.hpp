#pragma once
// The engine's view of bridge networking (default bridge and user networks), kept in
// one place so run/start/stop do not depend on how networks are built.
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "minirun/network/ports.hpp"

namespace minirun::engine {

struct ContainerRecord;
struct ExtraNetwork;

struct BridgeAttachment {
    std::string ip, mac;
    std::vector<network::PortMapping> ports;  // host ports resolved
    std::string hosts;               // the container's /etc/hosts
};

// On a user-defined network, makes its resolver (minirun-dns beside this program) serve
// the network's current members before returning: after a connect, disconnect or rename.
void sync_network_dns(const std::filesystem::path& storage, const std::string& network);

// Throws when `network` is neither bridge/host/none nor a created network.
void check_network_exists(const std::filesystem::path& storage, const std::string& network);
// Parses -p values; throws naming the bad one.
std::vector<network::PortMapping> parse_published_ports(const std::vector<std::string>& publish);
using PeerHosts = std::function<void(const std::string& id, const std::string& hosts)>;

// Connects the container's netns to its first network (rec.network, its ports, the
// default route); `peer_hosts` receives the refreshed /etc/hosts of every other container
// on that network.
BridgeAttachment bridge_attach(const std::filesystem::path& storage, const ContainerRecord& rec,
                               const std::string& netns_path, const PeerHosts& peer_hosts);
// Connects it to one more network (no default route, no ports).
BridgeAttachment bridge_attach_extra(const std::filesystem::path& storage, const ContainerRecord& rec,
                                     const ExtraNetwork& extra, const std::string& netns_path, const PeerHosts& peer_hosts);
// The endpoint on `network` becomes the container's first: default route and rec.ports.
BridgeAttachment bridge_promote(const std::filesystem::path& storage, const ContainerRecord& rec,
                                const std::string& network, const PeerHosts& peer_hosts);
// Leaves `network`, or every network when it is empty.
void bridge_detach(const std::filesystem::path& storage, const ContainerRecord& rec, const PeerHosts& peer_hosts,
                   const std::string& network = "");

}  // namespace minirun::engine
