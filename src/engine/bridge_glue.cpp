#include "bridge_glue.hpp"

#include "minirun/common/error.hpp"
#include "minirun/engine/container_store.hpp"

#include "minirun/engine/network.hpp"

namespace minirun::engine {

namespace {
std::string render(const PortMapping& p) { return format_port_mapping(p); }
PortMapping from_rendered(const std::string& s) {
    auto arrow = s.find("->");
    return parse_port_mapping(s.substr(0, arrow) + ":" + s.substr(arrow + 2));
}
}  // namespace

void check_network_exists(const std::filesystem::path& storage, const std::string& network) {
    if (network == "bridge" || network == "host" || network == "none") return;
    Networks(storage / "networks").inspect(network);
}

std::vector<std::string> normalize_ports(const std::vector<std::string>& publish) {
    std::vector<std::string> out;
    for (auto& p : publish) out.push_back(render(parse_port_mapping(p)));
    return out;
}

BridgeAttachment bridge_attach(const std::filesystem::path& storage, const ContainerRecord& rec,
                               const std::string& netns_path,
                               const std::function<void(const std::string&, const std::string&)>& peer_hosts) {
    Networks nets(storage / "networks");
    std::vector<PortMapping> ports;
    for (auto& p : rec.ports) ports.push_back(from_rendered(p));
    Attachment a = nets.connect(rec.network, rec.id, rec.name, netns_path, ports, rec.network_aliases);
    BridgeAttachment out{a.ip, {}, nets.hosts_file(rec.id)};
    for (auto& p : a.ports) out.ports.push_back(render(p));
    for (auto& [id, text] : nets.hosts_files_for(rec.network)) peer_hosts(id, text);
    return out;
}

void bridge_detach(const std::filesystem::path& storage, const ContainerRecord& rec,
                   const std::function<void(const std::string&, const std::string&)>& peer_hosts) {
    Networks nets(storage / "networks");
    nets.disconnect(rec.id);
    for (auto& [id, text] : nets.hosts_files_for(rec.network)) peer_hosts(id, text);
}


}  // namespace minirun::engine
