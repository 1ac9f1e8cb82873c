#pragma once
// The pure parts of container networking (no system access, unit-tested): IPv4 subnets
// and address allocation, device names, port conflicts, /etc/hosts and resolv.conf text,
// and the iptables-restore scripts built from an iptables-save dump.
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "minirun/engine/network.hpp"

namespace minirun::engine::net {

struct Subnet {
    uint32_t addr = 0;  // network address, host byte order
    int prefix = 0;
    uint32_t mask() const { return prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix); }
    uint32_t broadcast() const { return addr | ~mask(); }
    bool contains(uint32_t ip) const { return (ip & mask()) == addr; }
    uint32_t gateway() const { return addr + 1; }  // Docker's: the first host address
    std::string str() const;
    bool operator==(const Subnet&) const = default;
};

// Strict dotted quad ("1.2.3.4"; no leading zeros, no shorthand).
std::optional<uint32_t> parse_ipv4(std::string_view s);
std::string format_ipv4(uint32_t ip);
// "a.b.c.d/n" with no host bits set and room for a gateway and a container (n <= 30).
// Throws Error("subnet X is invalid[: why]").
Subnet parse_subnet(const std::string& cidr);
bool overlaps(const Subnet& a, const Subnet& b);
// Docker's default pools: 172.17.0.0/16 … 172.31.0.0/16, then 192.168.0.0/20 … 192.168.240.0/20.
std::vector<Subnet> default_pools();
// The first pool entry overlapping none of `taken`.
std::optional<Subnet> pick_subnet(const std::vector<Subnet>& pools, const std::vector<Subnet>& taken);
// The lowest host address that is not the network, broadcast, gateway or in `used`.
std::optional<uint32_t> allocate_address(const Subnet& subnet, const std::set<uint32_t>& used);
// Docker's MAC for an address: 02:42 followed by the four address bytes.
std::string mac_for(uint32_t ip);

struct Route {
    Subnet dst;
    std::string dev;
};
// Routes of `ip -4 route show` (the main table); "default" and unparsable lines are skipped.
std::vector<Route> parse_routes(const std::string& ip_route_output);

// "mr" + 8 hex of the id + "h" (ids that are not hex use their SHA-256); <= 15 chars.
std::string veth_name(const std::string& container_id);
// A stable, non-cryptographic hex name of `len` digits for `s` (FNV-1a): ids and device
// names only need to be distinct, and keeping OpenSSL out of the supervisor keeps it small.
std::string stable_hex(const std::string& s, size_t len);
// "br-" + the first 12 characters of the network id.
std::string bridge_name(const std::string& network_id);
// Docker's rule: [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 64 characters.
bool valid_network_name(const std::string& name);
// Comment tags the rules carry.
std::string container_tag(const std::string& container_id);  // "minirun:<id>"
std::string network_tag(const std::string& network_name);     // "minirun-net:<name>"

// Port publishing: two mappings clash when protocol and host port match and the host
// addresses overlap ("" and 0.0.0.0 overlap everything).
bool ports_clash(const PortMapping& a, const PortMapping& b);
struct Published {
    std::string container_id, container_name;
    PortMapping port;
};
// Throws Error("port 8080 is already published by container web") (also for a clash
// inside `wanted` itself).
void check_port_conflicts(const std::vector<PortMapping>& wanted, const std::vector<Published>& existing);

// /etc/hosts: Docker's localhost lines, then `self`, then `peers` (one line each).
struct HostEntry {
    std::string ip;
    std::vector<std::string> names;
};
std::string render_hosts(const std::optional<HostEntry>& self, const std::vector<HostEntry>& peers);
// Drops loopback and IPv6 nameservers; adds 8.8.8.8 and 8.8.4.4 when none remain.
std::string rewrite_resolv_conf(const std::string& text);
// True when every nameserver in the text is 127.0.0.53 (systemd-resolved's stub).
bool is_systemd_resolved_stub(const std::string& text);

// ---- iptables-save / iptables-restore ----
// Splits a rule line as iptables does (double quotes group, backslash escapes).
std::vector<std::string> split_rule(const std::string& line);
// The comment (--comment value) of a rule line, "" when none.
std::string rule_comment(const std::string& line);
struct SaveTable {
    std::set<std::string> chains;
    std::vector<std::string> rules;  // "-A CHAIN ..." lines as printed
};
// table name -> its chains and rules.
std::map<std::string, SaveTable> parse_save(const std::string& save);

// A change to apply in one iptables-restore --noflush run (atomic per table).
struct RuleChange {
    std::set<std::string> drop_tags;  // delete every rule whose comment is one of these
    // table -> rule lines to add, "-A CHAIN ..." or "-I CHAIN 1 ..." (comments included)
    std::map<std::string, std::vector<std::string>> add;
    bool ensure_base = false;  // the MINIRUN-* chains and the jumps into them
};
// The restore script for `change` against the current `save` dump ("" = nothing to do).
// Chains that exist are never redeclared (--noflush would flush them).
std::string build_restore_script(const std::string& save, const RuleChange& change);

// The rules of one network and of one container (see network.hpp for the layout).
struct NetRules {
    std::string name, bridge;
    Subnet subnet;
};
std::map<std::string, std::vector<std::string>> network_rules(const NetRules& n);
std::map<std::string, std::vector<std::string>> container_rules(const NetRules& n, const std::string& container_id,
                                                                 const std::string& container_ip,
                                                                 const std::vector<PortMapping>& ports);

}  // namespace minirun::engine::net
