// Published ports: -p syntax, display form, clashes.
#include "minirun/network/ports.hpp"

#include <algorithm>
#include <charconv>
#include <optional>
#include <string_view>

#include "minirun/common/error.hpp"
#include "minirun/common/strings.hpp"
#include "minirun/network/addressing.hpp"

namespace minirun::network {

namespace {

bool all_digits(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A decimal port; `allow_zero` for host ports (0 = pick one).
std::optional<uint16_t> parse_port(std::string_view s, bool allow_zero) {
    if (!all_digits(s) || s.size() > 5) return std::nullopt;
    unsigned v = 0;
    std::from_chars(s.data(), s.data() + s.size(), v);
    if (v > 65535 || (v == 0 && !allow_zero)) return std::nullopt;
    return static_cast<uint16_t>(v);
}

}  // namespace

std::optional<PortRange> parse_port_range(std::string_view text) {
    PortRange r;
    std::string_view numbers = text;
    if (auto slash = text.find('/'); slash != std::string_view::npos) {
        r.protocol = lower(std::string(text.substr(slash + 1)));
        numbers = text.substr(0, slash);
    }
    if (r.protocol != "tcp" && r.protocol != "udp" && r.protocol != "sctp") return std::nullopt;
    auto dash = numbers.find('-');
    auto first = parse_port(numbers.substr(0, dash), true);
    auto last = dash == std::string_view::npos ? first : parse_port(numbers.substr(dash + 1), true);
    if (!first || !last || *first > *last) return std::nullopt;
    r.first = *first;
    r.last = *last;
    return r;
}

bool binds_all_addresses(const std::string& ip) { return ip.empty() || ip == "0.0.0.0"; }

PortMapping parse_port_mapping(const std::string& text) {
    auto bad = [&](const std::string& why) { return Error("invalid -p \"" + text + "\": " + why); };
    if (text.empty()) throw bad("empty");
    std::string spec = text;
    PortMapping m;
    if (auto slash = spec.rfind('/'); slash != std::string::npos) {
        m.protocol = lower(spec.substr(slash + 1));
        spec.resize(slash);
        if (m.protocol != "tcp" && m.protocol != "udp" && m.protocol != "sctp")
            throw bad("unknown protocol \"" + text.substr(slash + 1) + "\" (use tcp, udp or sctp)");
    }
    if (!spec.empty() && spec.front() == '[') throw bad("IPv6 host addresses are not supported");
    auto parts = split(spec, ':');
    if (parts.size() > 3) throw bad("too many colons (use [ip:]host:container[/proto])");
    for (auto& p : parts)
        if (p.find('-') != std::string::npos && all_digits(std::string_view(p).substr(0, p.find('-'))))
            throw bad("port ranges are not supported");
    const std::string& cport = parts.back();
    auto c = parse_port(cport, false);
    if (!c) throw bad("invalid container port \"" + cport + "\"");
    m.container_port = *c;
    if (parts.size() >= 2) {
        const std::string& hport = parts[parts.size() - 2];
        if (!hport.empty()) {
            auto h = parse_port(hport, true);
            if (!h) throw bad("invalid host port \"" + hport + "\"");
            m.host_port = *h;
        }
    }
    if (parts.size() == 3) {
        const std::string& ip = parts[0];
        if (ip.empty()) throw bad("empty host IP");
        if (!parse_ipv4(ip)) throw bad("invalid host IP \"" + ip + "\"");
        m.host_ip = binds_all_addresses(ip) ? "" : ip;
    }
    return m;
}

std::string format_port_mapping(const PortMapping& p) {
    return (binds_all_addresses(p.host_ip) ? std::string("0.0.0.0") : p.host_ip) + ":" + std::to_string(p.host_port) + "->" +
           std::to_string(p.container_port) + "/" + p.protocol;
}

std::string format_port_line(const PortMapping& p) {
    return std::to_string(p.container_port) + "/" + p.protocol + " -> " +
           (binds_all_addresses(p.host_ip) ? std::string("0.0.0.0") : p.host_ip) + ":" + std::to_string(p.host_port);
}

std::vector<PortMapping> select_container_port(const std::vector<PortMapping>& ports, const std::string& text) {
    auto range = parse_port_range(text);
    if (!range || range->first != range->last)
        throw Error("invalid port \"" + text + "\": expected PORT[/PROTO]", ErrorKind::InvalidArgument);
    std::vector<PortMapping> out;
    for (auto& p : ports)
        if (p.container_port == range->first && p.protocol == range->protocol) out.push_back(p);
    return out;
}

PortMapping parse_formatted_port_mapping(const std::string& text) {
    auto arrow = text.find("->");
    if (arrow == std::string::npos) throw Error("invalid port mapping \"" + text + "\": expected HOST:PORT->PORT/PROTO");
    return parse_port_mapping(text.substr(0, arrow) + ":" + text.substr(arrow + 2));
}

std::string container_port_key(const PortMapping& p) { return std::to_string(p.container_port) + "/" + p.protocol; }

PortMapping port_binding(const std::string& key, const std::string& host_ip, const std::string& host_port) {
    auto bad = [&](const std::string& why) { return Error("invalid port binding \"" + key + "\": " + why); };
    PortMapping m;
    std::string_view port = key;
    if (auto slash = key.find('/'); slash != std::string::npos) {
        m.protocol = lower(key.substr(slash + 1));
        port = port.substr(0, slash);
        if (m.protocol != "tcp" && m.protocol != "udp" && m.protocol != "sctp") throw bad("unknown protocol");
    }
    auto c = parse_port(port, false);
    if (!c) throw bad("invalid container port");
    m.container_port = *c;
    if (!host_port.empty()) {
        auto h = parse_port(host_port, true);
        if (!h) throw bad("invalid host port \"" + host_port + "\"");
        m.host_port = *h;
    }
    if (!binds_all_addresses(host_ip)) {
        if (!parse_ipv4(host_ip)) throw bad("invalid host IP \"" + host_ip + "\"");
        m.host_ip = host_ip;
    }
    return m;
}

bool ports_clash(const PortMapping& a, const PortMapping& b) {
    if (a.protocol != b.protocol || a.host_port != b.host_port || a.host_port == 0) return false;
    return binds_all_addresses(a.host_ip) || binds_all_addresses(b.host_ip) || a.host_ip == b.host_ip;
}

void check_port_conflicts(const std::vector<PortMapping>& wanted, const std::vector<Published>& existing) {
    auto port_text = [](const PortMapping& p) {
        return std::to_string(p.host_port) + (p.protocol == "tcp" ? "" : "/" + p.protocol);
    };
    for (size_t i = 0; i < wanted.size(); ++i) {
        for (const auto& e : existing) {
            if (!ports_clash(wanted[i], e.port)) continue;
            std::string who = e.container_name.empty() ? e.container_id.substr(0, 12) : e.container_name;
            throw Error("port " + port_text(wanted[i]) + " is already published by container " + who);
        }
        for (size_t j = 0; j < i; ++j)
            if (ports_clash(wanted[i], wanted[j])) throw Error("port " + port_text(wanted[i]) + " is published twice");
    }
}
}  // namespace minirun::network
