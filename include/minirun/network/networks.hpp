#pragma once
// Container networking with Docker's semantics: bridge networks, veth pairs, IPAM,
// outbound NAT and published ports (iptables), /etc/hosts and resolv.conf.
//
// State lives under one directory (e.g. <storage>/networks):
//   .lock          flock held by every change (two `minirun run` at once are safe)
//   <name>.json    one network: its subnet, bridge and endpoints (IPAM = the endpoints' addresses)
// Devices and rules are derived from that state and created on demand: a network's bridge
// appears at its first connect (after a reboot too), not at `network create`.
//
// Netfilter layout (netfilter_rules.hpp writes it; all rules carry a comment so they can be found again):
//   nat    PREROUTING/OUTPUT  -m addrtype --dst-type LOCAL -j MINIRUN-DNAT      "minirun"
//   nat    POSTROUTING        -j MINIRUN-POSTROUTING                             "minirun"
//   filter FORWARD            -j MINIRUN-FORWARD (first)                         "minirun"
//   raw    PREROUTING         -j MINIRUN-PREROUTING (first)                      "minirun"
//   per network  "minirun-net:<name>": MASQUERADE of the subnet, of 127/8 to the bridge and of
//                hairpin connections; forward accepts; isolation from other minirun bridges;
//                a raw DROP of 127/8 arriving on the bridge (route_localnet hardening)
//   per container "minirun:<container_id>": DNAT per published port and its forward accept
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "minirun/network/ports.hpp"

namespace minirun::network {

struct EndpointInfo {
    std::string container_id, name, ip, mac;
};

struct NetworkInfo {
    std::string name, id, driver = "bridge", bridge, subnet, gateway;
    std::vector<std::string> containers;  // ids of the attached containers
    std::string created;                  // RFC 3339
    std::vector<EndpointInfo> endpoints;  // the attached containers' endpoints, by id
};

struct Attachment {
    std::string network, ip, gateway, mac;
    int prefix_len = 16;
    std::string host_veth;
    std::vector<PortMapping> ports;  // host ports resolved (no zeros)
    std::string network_id;
    std::vector<std::string> aliases;
    bool is_gateway = true;  // holds the default route and the published ports
};

// A network member as the network's DNS resolver sees it.
struct Member {
    std::string id, name, ip, netns;
    std::vector<std::string> aliases, dns;
};

// What a container asks of its endpoint beyond its ports.
struct EndpointOptions {
    // Names peers on a user-defined network resolve to it (e.g. the service name).
    std::vector<std::string> aliases;
    // --dns: the servers the network's resolver forwards its other names to (the host's when empty).
    std::vector<std::string> dns;
    // --ip (user-defined networks only, in the subnet and free) and --mac-address;
    // empty: the lowest free address and Docker's 02:42:<address> MAC.
    std::string ip, mac;
    // false: a further network of a container (`network connect`): its next free ethN,
    // no default route, no published ports.
    bool gateway = true;
};

// Docker's rule: user-defined networks get the embedded resolver (127.0.0.11); the
// default "bridge", "host" and "none" keep the host's nameservers.
bool uses_embedded_dns(const std::string& network);

struct NetworkConfig {
    // The default network's subnet; empty: $MINIRUN_BRIDGE_SUBNET, else 172.17.0.0/16
    // (or the next free pool entry when a host route already covers it).
    std::string default_subnet;
};

class Networks {
public:
    explicit Networks(std::filesystem::path state_dir, NetworkConfig config = {});

    // A user-defined bridge network; subnet auto-picked (172.18.0.0/16, 172.19…, then
    // 192.168.x.0/20) or the given CIDR (validated, must not overlap another network).
    NetworkInfo create(const std::string& name, const std::string& subnet = "");
    // Refuses "bridge"/"host"/"none" and networks with attached containers; deletes the
    // bridge and the network's rules. Accepts a name, an id or a unique id prefix.
    void remove(const std::string& name);
    // Sorted by name; includes "bridge" (created lazily), "host" and "none".
    std::vector<NetworkInfo> list();
    NetworkInfo inspect(const std::string& name);

    // A network namespace bind-mounted at netns_path (as `ip netns add`), lo up.
    // Idempotent: an existing namespace mount is kept.
    static void create_netns(const std::string& netns_path);
    // Unmounts and unlinks; idempotent.
    static void delete_netns(const std::string& netns_path);

    // Attaches the container's namespace: bridge up with the gateway address, veth pair
    // (host end "mr<8 hex>h" on the bridge, the other end eth0 in the namespace), an
    // address (the previous one on a reconnect), default route, outbound NAT and the
    // published ports (host_port 0 = a free port). Reconnecting the same container to the
    // same network replaces its previous endpoint. "host" returns without doing anything
    // (ports are ignored, as Docker does); "none" leaves the namespace with lo only.
    // A container may be on several networks: one endpoint each, its first (options.gateway)
    // holding the default route and the ports.
    Attachment connect(const std::string& network, const std::string& container_id,
                       const std::string& container_name, const std::string& netns_path,
                       const std::vector<PortMapping>& ports, const EndpointOptions& options = {});
    // Makes the container's endpoint on `network` its gateway: the default route and the
    // published ports move there (its first network was disconnected).
    Attachment promote(const std::string& network, const std::string& container_id, const std::vector<PortMapping>& ports);
    // Removes the veth, the container's rules and frees its address, on `network` or (empty)
    // on all; idempotent. Returns the networks it left.
    std::vector<std::string> disconnect(const std::string& container_id, const std::string& network = "");
    // A connected container's new name (`rename`): its endpoints answer to it from now on.
    // Returns the networks it is on, whose hosts files need rewriting.
    std::vector<std::string> rename_endpoint(const std::string& container_id, const std::string& new_name);
    // The container's endpoints, read without the lock.
    std::vector<Attachment> attachments(const std::string& container_id) const;

    // /etc/hosts for a container: the localhost lines, its own address on each of its
    // networks with its short id and name, and on user-defined networks every peer by
    // name (not on "bridge").
    std::string hosts_file(const std::string& container_id);
    // The members of a network, read without the lock (records are replaced atomically);
    // nullopt when the network does not exist.
    std::optional<std::vector<Member>> members(const std::string& network) const;
    // Every network's members by network name, read without the lock.
    std::map<std::string, std::vector<Member>> all_members() const;
    // (container id, hosts text) for every container on the network: rewrite them all
    // when a container connects or disconnects.
    std::vector<std::pair<std::string, std::string>> hosts_files_for(const std::string& network);
    // The host's resolv.conf with loopback (and IPv6) nameservers removed, 8.8.8.8 and
    // 8.8.4.4 when none remain (Docker's rule); systemd-resolved's stub is looked through.
    static std::string resolv_conf();

    const std::filesystem::path& state_dir() const { return state_dir_; }

private:
    std::filesystem::path state_dir_;
    NetworkConfig config_;
};

}  // namespace minirun::network
