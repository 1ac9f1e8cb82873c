// IPv4 subnets, IPAM, MACs and routes.
#include "minirun/network/addressing.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <sstream>

#include "minirun/common/error.hpp"

namespace minirun::network {

namespace {

// A prefix length: one or two digits, at most 32.
std::optional<int> parse_prefix_len(std::string_view p) {
    if (p.empty() || p.size() > 2 || p.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
    int prefix = 0;
    std::from_chars(p.data(), p.data() + p.size(), prefix);
    if (prefix > 32) return std::nullopt;
    return prefix;
}

}  // namespace

std::string Subnet::str() const { return format_ipv4(addr) + "/" + std::to_string(prefix); }

std::optional<uint32_t> parse_ipv4(std::string_view s) {
    uint32_t out = 0;
    int parts = 0;
    size_t i = 0;
    while (parts < 4) {
        size_t j = i;
        while (j < s.size() && s[j] >= '0' && s[j] <= '9') ++j;
        size_t len = j - i;
        if (len == 0 || len > 3 || (len > 1 && s[i] == '0')) return std::nullopt;
        unsigned v = 0;
        std::from_chars(s.data() + i, s.data() + j, v);
        if (v > 255) return std::nullopt;
        out = (out << 8) | v;
        ++parts;
        if (parts < 4) {
            if (j >= s.size() || s[j] != '.') return std::nullopt;
            i = j + 1;
        } else if (j != s.size()) {
            return std::nullopt;
        }
    }
    return out;
}

std::string format_ipv4(uint32_t ip) {
    return std::to_string(ip >> 24) + "." + std::to_string((ip >> 16) & 255) + "." + std::to_string((ip >> 8) & 255) +
           "." + std::to_string(ip & 255);
}

Subnet parse_subnet(const std::string& cidr) {
    auto bad = [&](const std::string& why) {
        return Error("subnet " + cidr + " is invalid" + (why.empty() ? "" : ": " + why));
    };
    auto slash = cidr.find('/');
    if (slash == std::string::npos) throw bad("use CIDR notation, e.g. 172.30.0.0/16");
    auto ip = parse_ipv4(std::string_view(cidr).substr(0, slash));
    std::string_view pfx = std::string_view(cidr).substr(slash + 1);
    if (!ip) throw bad("not an IPv4 address");
    auto parsed = parse_prefix_len(pfx);
    if (!parsed) throw bad("");
    int prefix = *parsed;
    if (prefix == 0) throw bad("it covers every address");
    if (prefix > 30) throw bad("a /" + std::to_string(prefix) + " has no room for a gateway and a container");
    Subnet s{*ip, prefix};
    if ((*ip & s.mask()) != *ip) {
        Subnet fixed{*ip & s.mask(), prefix};
        throw bad("host bits are set (did you mean " + fixed.str() + "?)");
    }
    static const Subnet reserved[] = {{0x7f000000u, 8}, {0x00000000u, 8}, {0xe0000000u, 3}, {0xa9fe0000u, 16}};
    for (const auto& r : reserved)
        if (overlaps(s, r)) throw bad("it overlaps the reserved range " + r.str());
    return s;
}

bool overlaps(const Subnet& a, const Subnet& b) { return a.contains(b.addr) || b.contains(a.addr); }

std::vector<Subnet> default_pools() {
    std::vector<Subnet> out;
    for (uint32_t b = 17; b <= 31; ++b) out.push_back({(172u << 24) | (b << 16), 16});
    for (uint32_t c = 0; c < 256; c += 16) out.push_back({(192u << 24) | (168u << 16) | (c << 8), 20});
    return out;
}

std::optional<Subnet> pick_subnet(const std::vector<Subnet>& pools, const std::vector<Subnet>& taken) {
    for (const auto& p : pools) {
        bool clash = std::any_of(taken.begin(), taken.end(), [&](const Subnet& t) { return overlaps(p, t); });
        if (!clash) return p;
    }
    return std::nullopt;
}

std::optional<uint32_t> allocate_address(const Subnet& subnet, const std::set<uint32_t>& used) {
    for (uint64_t ip = uint64_t{subnet.addr} + 1; ip < subnet.broadcast(); ++ip) {
        auto a = static_cast<uint32_t>(ip);
        if (a != subnet.gateway() && !used.count(a)) return a;
    }
    return std::nullopt;
}

std::string mac_for(uint32_t ip) {
    char buf[18];
    std::snprintf(buf, sizeof buf, "02:42:%02x:%02x:%02x:%02x", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
    return buf;
}

std::vector<Route> parse_routes(const std::string& out) {
    static const std::set<std::string> types = {"unicast", "unreachable", "blackhole", "prohibit", "local",
                                                "broadcast", "throw", "nat", "anycast", "multicast"};
    std::vector<Route> routes;
    std::istringstream in(out);
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream ls(line);
        std::vector<std::string> tok;
        for (std::string t; ls >> t;) tok.push_back(t);
        if (tok.empty()) continue;
        size_t i = types.count(tok[0]) ? 1 : 0;
        if (i >= tok.size() || tok[i] == "default") continue;
        std::string dst = tok[i];
        int prefix = 32;
        if (auto slash = dst.find('/'); slash != std::string::npos) {
            auto parsed = parse_prefix_len(std::string_view(dst).substr(slash + 1));
            if (!parsed) continue;
            prefix = *parsed;
            dst.resize(slash);
        }
        auto ip = parse_ipv4(dst);
        if (!ip) continue;
        Route r;
        r.dst.prefix = prefix;
        r.dst.addr = *ip & r.dst.mask();
        for (size_t k = i + 1; k + 1 < tok.size(); ++k)
            if (tok[k] == "dev") r.dev = tok[k + 1];
        routes.push_back(r);
    }
    return routes;
}
}  // namespace minirun::network
