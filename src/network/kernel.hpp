#pragma once
// Kernel side of container networking: links, addresses and routes through rtnetlink,
// netfilter through iptables-save/iptables-restore, sysctls, host-port probes. Everything
// acts on the caller's current network namespace (the "host"), except the container's
// eth0, configured through a netlink socket opened inside its namespace.
#include <cstdint>
#include <string>
#include <vector>

#include "minirun/network/netfilter_rules.hpp"
#include "minirun/network/ports.hpp"

namespace minirun::network::kernel {

// Absolute path of a system tool (PATH, then /usr/sbin, /sbin, /usr/bin, /bin).
std::string tool(const std::string& name);
// Runs argv; on failure throws Error("<what>: <first line of stderr>").
std::string run_ok(const std::vector<std::string>& argv, const std::string& what, const std::string& input = {});

bool link_exists(const std::string& dev);
void delete_link(const std::string& dev);  // quiet when it is already gone
// Creates the bridge if needed (fixed random MAC), gives it exactly gateway/prefix, brings it up,
// and sets ip_forward=1 and route_localnet=1 on it.
void ensure_bridge(const std::string& bridge, const std::string& gateway, int prefix);
// veth pair: `host_veth` on `bridge`, the peer as `ifname` (mac, ip/prefix) in netns, with
// the default route through `gateway` unless it is empty (a container's further networks).
void create_endpoint(const std::string& bridge, const std::string& host_veth, const std::string& netns_path,
                     const std::string& ifname, const std::string& mac, const std::string& ip, int prefix,
                     const std::string& gateway);
// The lowest ethN not yet in the namespace.
std::string free_ifname(const std::string& netns_path);
// The namespace's default route through `gateway`, on the device holding `ip` (replacing any).
void set_default_route(const std::string& netns_path, const std::string& ip, const std::string& gateway);

// `ip -4 route show` of the current namespace ("" if ip fails).
std::string routes_text();
// The MTU of the default route's device, 1500 without one.
int default_mtu();

// One iptables-save, then one atomic iptables-restore --noflush.
void netfilter_apply(const RuleChange& change);
std::string iptables_save();

// Throws when something on the host already holds the port (bind probe; sctp is not probed).
void probe_host_port(const PortMapping& p);
// A free host port for p (kernel's ephemeral choice), avoiding `avoid` (same protocol).
uint16_t pick_host_port(const PortMapping& p, const std::vector<PortMapping>& avoid);

}  // namespace minirun::network::kernel
