// A container's network attachment and its hosts files (container_network.hpp), and the
// teardown every way out of a container ends with.
#include "minirun/engine/container_network.hpp"
#include "minirun/network/hosts_files.hpp"

#include <fcntl.h>
#include <unistd.h>

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
    std::string net = nets.rename_endpoint(rec.id, rec.name);
    if (net.empty()) return;
    for (auto& [id, text] : nets.hosts_files_for(net)) rewrite_peer_hosts(id, text);
    sync_network_dns(storage_, net);
}

void ContainerNetwork::connect(ContainerRecord& rec) {
    std::string dir = containers_.dir(rec.id).string();
    std::string hosts = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";
    if (rec.network == "host") {
        hosts = fs::read_file("/etc/hosts", 1 << 20);
    } else {
        network::Networks::create_netns(dir + "/netns");
        if (rec.network != "none") {
            auto peer = [&](const std::string& id, const std::string& text) {
                if (id != rec.id) rewrite_peer_hosts(id, text);
            };
            BridgeAttachment a = bridge_attach(storage_, rec, dir + "/netns", peer);
            rec.ip = a.ip;
            rec.mac = a.mac;
            rec.ports = a.ports;
            hosts = a.hosts;
        } else {
            hosts += "127.0.1.1\t" + rec.hostname + "\n";
        }
    }
    resolve_links(rec);
    hosts += extra_hosts_lines(rec);
    write_in_place(dir + "/hosts", hosts);
    write_in_place(dir + "/hostname", rec.hostname + "\n");
    std::string resolv = rec.network == "host" ? fs::read_file("/etc/resolv.conf", 1 << 20) : network::Networks::resolv_conf();
    // User-defined networks ask their resolver (127.0.0.11), which forwards to --dns.
    resolv = network::uses_embedded_dns(rec.network)
                 ? network::embedded_resolv_conf(resolv, rec.dns_search, rec.dns_options)
                 : network::override_resolv_conf(resolv, rec.dns, rec.dns_search, rec.dns_options);
    write_in_place(dir + "/resolv.conf", resolv);
    containers_.save(rec);
}

void ContainerNetwork::disconnect(ContainerRecord& rec) {
    std::string dir = containers_.dir(rec.id).string();
    // The namespace file exists from connect until the end of this function: without it
    // there is nothing to undo (the supervisor already disconnected before --rm's teardown).
    if (rec.network != "host" && !stdfs::exists(dir + "/netns")) return;
    try {
        if (rec.network != "host" && rec.network != "none") {
            bridge_detach(storage_, rec, [&](const std::string& id, const std::string& text) { rewrite_peer_hosts(id, text); });
        }
        if (rec.network != "host") network::Networks::delete_netns(dir + "/netns");
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
