#pragma once
// A container's place on its network, as the lifecycle sees it: its network namespace,
// bridge attachment and published ports, and the /etc/hosts, hostname and resolv.conf
// files the container binds (its peers' hosts files follow each change).
#include <filesystem>
#include <string>
#include <vector>

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
    // After `rename`: the endpoints take the record's new name and every container on its
    // networks gets its /etc/hosts rewritten, so peers resolve the new name at once.
    void renamed(const ContainerRecord& rec);
    // `network connect`: joins `network` now when `running` (its namespace exists), else
    // at the next start. A container on "none" takes it as its first network (default
    // route, published ports); others join it as one more. Updates rec; the caller saves.
    void join(ContainerRecord& rec, const std::string& network, const std::vector<std::string>& aliases,
              const std::string& ip, bool running);
    // `network disconnect`: leaves `network`. Leaving the first network makes the next one
    // the first (the default route and the ports move there), or "none" when none is left.
    void leave(ContainerRecord& rec, const std::string& network, bool running);

private:
    // The container's own /etc/hosts and resolv.conf, rewritten in place after a change.
    void rewrite_own_files(const ContainerRecord& rec) const;
    std::string own_hosts(const ContainerRecord& rec) const;
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
