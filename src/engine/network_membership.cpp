// `network connect` and `network disconnect` (engine.hpp): the record side; the
// kernel and the peers' files are ContainerNetwork's.
#include <filesystem>

#include "minirun/common/error.hpp"
#include "minirun/engine/container_network.hpp"
#include "minirun/engine/engine.hpp"

namespace minirun::engine {

namespace {

// Changes `rec`'s networks with `change`, then saves them into the latest record: a
// supervisor may have written its state since the record was read.
template <typename Change>
void change_networks(ContainerStore& containers, ContainerRecord rec, bool running, Change change) {
    change(rec, running);
    ContainerRecord latest = containers.load(rec.id);
    latest.network = rec.network;
    latest.network_aliases = rec.network_aliases;
    latest.requested_ip = rec.requested_ip;
    latest.ip = rec.ip;
    latest.mac = rec.mac;
    latest.ports = rec.ports;
    latest.extra_networks = rec.extra_networks;
    containers.save(latest);
}

// The namespace exists from the container's start until its network is torn down.
bool has_live_network(const ContainerStore& containers, const ContainerRecord& rec) {
    return std::filesystem::exists(containers.dir(rec.id) / "netns");
}

}  // namespace

void Engine::network_connect(const std::string& network, const std::string& container,
                             const std::vector<std::string>& aliases, const std::string& ip) {
    ContainerRecord rec = containers_.find(container);
    change_networks(containers_, rec, has_live_network(containers_, rec), [&](ContainerRecord& r, bool running) {
        ContainerNetwork(storage_, containers_).join(r, network, aliases, ip, running);
    });
}

void Engine::network_disconnect(const std::string& network, const std::string& container) {
    ContainerRecord rec = containers_.find(container);
    change_networks(containers_, rec, has_live_network(containers_, rec), [&](ContainerRecord& r, bool running) {
        ContainerNetwork(storage_, containers_).leave(r, network, running);
    });
}

}  // namespace minirun::engine
