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
// Connects the container's netns to its network; `peer_hosts` receives the refreshed
// /etc/hosts of every other container on that network.
BridgeAttachment bridge_attach(const std::filesystem::path& storage, const ContainerRecord& rec,
                               const std::string& netns_path,
                               const std::function<void(const std::string& id, const std::string& hosts)>& peer_hosts);
void bridge_detach(const std::filesystem::path& storage, const ContainerRecord& rec,
                   const std::function<void(const std::string& id, const std::string& hosts)>& peer_hosts);

}  // namespace minirun::engine
