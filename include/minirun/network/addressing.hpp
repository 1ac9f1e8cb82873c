#pragma once
// IPv4 subnets and address allocation (IPAM), Docker's default pools, MAC addresses and
// the host's routes as `ip route` prints them. Pure, unit-tested.
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace minirun::network {

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

}  // namespace minirun::network
