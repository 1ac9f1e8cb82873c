#pragma once
// A container's place on its network, as the lifecycle sees it: its network namespace,
// bridge attachment and published ports, and the /etc/hosts, hostname and resolv.conf
// files the container binds (its peers' hosts files follow each change).
#include <filesystem>
#include <string>

#include "minirun/engine/container_store.hpp"

namespace minirun::engine {

class ContainerNetwork {
public:
    ContainerNetwork(std::filesystem::path storage, ContainerStore& containers)
        : storage_(std::move(storage)), containers_(containers) {}
    // Creates the namespace and attaches it (host ports resolved into rec.ports, its
    // address into rec.ip), writes the three files, saves the record.
    void connect(ContainerRecord& rec);
    // Undoes connect; safe to call twice. Failures are logged, not thrown: teardown goes on.
    void disconnect(ContainerRecord& rec);
    // After `rename`: the endpoint takes the record's new name and every container on its
    // network gets its /etc/hosts rewritten, so peers resolve the new name at once.
    void renamed(const ContainerRecord& rec);

private:
    // A peer's /etc/hosts after a network change: the network's text plus its --add-host lines.
    void rewrite_peer_hosts(const std::string& id, const std::string& text) const;
    // rec.link_hosts from rec.links: each linked container must run on rec's network.
    void resolve_links(ContainerRecord& rec) const;

    std::filesystem::path storage_;
    ContainerStore& containers_;
};

// Everything a container holds on the host, released: runtime entry, network, rootfs
// mount; and its directory and record when `remove_dir`. What rm, --rm and prune end with.
void teardown_container(const std::filesystem::path& storage, ContainerStore& containers, ContainerRecord& rec,
                        bool remove_dir);

}  // namespace minirun::engine
