// Pure helpers of container networking: no system calls here (see network_util.hpp).
#include "minirun/engine/network_util.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <sstream>

#include "minirun/common/error.hpp"
#include "minirun/common/strings.hpp"

namespace minirun::engine {

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

bool is_any_ip(const std::string& ip) { return ip.empty() || ip == "0.0.0.0"; }

}  // namespace

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
        if (!net::parse_ipv4(ip)) throw bad("invalid host IP \"" + ip + "\"");
        m.host_ip = is_any_ip(ip) ? "" : ip;
    }
    return m;
}

std::string format_port_mapping(const PortMapping& p) {
    return (is_any_ip(p.host_ip) ? std::string("0.0.0.0") : p.host_ip) + ":" + std::to_string(p.host_port) + "->" +
           std::to_string(p.container_port) + "/" + p.protocol;
}

namespace net {

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
    if (!all_digits(pfx) || pfx.size() > 2) throw bad("");
    int prefix = 0;
    std::from_chars(pfx.data(), pfx.data() + pfx.size(), prefix);
    if (prefix > 32) throw bad("");
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
            std::string_view p = std::string_view(dst).substr(slash + 1);
            if (!all_digits(p) || p.size() > 2) continue;
            std::from_chars(p.data(), p.data() + p.size(), prefix);
            if (prefix > 32) continue;
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

std::string stable_hex(const std::string& s, size_t len) {
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (uint64_t round = 0; out.size() < len; ++round) {
        uint64_t h = 1469598103934665603ull ^ (round * 0x9e3779b97f4a7c15ull);
        for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
        for (int i = 0; i < 16 && out.size() < len; ++i, h >>= 4) out += digits[h & 15];
    }
    return out;
}

std::string veth_name(const std::string& container_id) {
    std::string id = lower(container_id);
    bool hex = id.size() >= 8 && std::all_of(id.begin(), id.begin() + 8, [](char c) {
                   return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
               });
    std::string part = hex ? id.substr(0, 8) : stable_hex(container_id, 8);
    return "mr" + part + "h";
}

std::string bridge_name(const std::string& network_id) { return "br-" + network_id.substr(0, 12); }

bool valid_network_name(const std::string& name) {
    if (name.empty() || name.size() > 64 || !std::isalnum(static_cast<unsigned char>(name[0]))) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
    });
}

std::string container_tag(const std::string& container_id) { return "minirun:" + container_id; }
std::string network_tag(const std::string& network_name) { return "minirun-net:" + network_name; }

bool ports_clash(const PortMapping& a, const PortMapping& b) {
    if (a.protocol != b.protocol || a.host_port != b.host_port || a.host_port == 0) return false;
    return is_any_ip(a.host_ip) || is_any_ip(b.host_ip) || a.host_ip == b.host_ip;
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

std::string render_hosts(const std::optional<HostEntry>& self, const std::vector<HostEntry>& peers) {
    std::string out =
        "127.0.0.1\tlocalhost\n"
        "::1\tlocalhost ip6-localhost ip6-loopback\n"
        "fe00::0\tip6-localnet\n"
        "ff00::0\tip6-mcastprefix\n"
        "ff02::1\tip6-allnodes\n"
        "ff02::2\tip6-allrouters\n";
    auto line = [&](const HostEntry& e) {
        std::vector<std::string> names;
        for (const auto& n : e.names)
            if (!n.empty() && std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
        if (e.ip.empty() || names.empty()) return;
        out += e.ip + "\t";
        for (size_t i = 0; i < names.size(); ++i) out += (i ? " " : "") + names[i];
        out += "\n";
    };
    if (self) line(*self);
    for (const auto& p : peers) line(p);
    return out;
}

namespace {
// The address of a "nameserver X" line, nullopt for other lines.
std::optional<std::string> nameserver_of(const std::string& raw) {
    std::istringstream ls(trim(raw));
    std::string key, addr;
    ls >> key >> addr;
    if (key != "nameserver") return std::nullopt;
    return addr;
}
}  // namespace

std::string rewrite_resolv_conf(const std::string& text) {
    std::string out;
    bool have_ns = false;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (auto ns = nameserver_of(line)) {
            auto v4 = parse_ipv4(*ns);
            bool loopback = v4 && (*v4 >> 24) == 127;
            bool v6 = ns->find(':') != std::string::npos;
            if (loopback || v6 || ns->empty()) continue;
            have_ns = true;
        }
        out += line + "\n";
    }
    if (!have_ns) out += "nameserver 8.8.8.8\nnameserver 8.8.4.4\n";
    return out;
}

bool is_systemd_resolved_stub(const std::string& text) {
    std::istringstream in(text);
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
        if (auto ns = nameserver_of(line)) {
            if (*ns != "127.0.0.53") return false;
            ++n;
        }
    }
    return n > 0;
}

std::vector<std::string> split_rule(const std::string& line) {
    std::vector<std::string> out;
    std::string cur;
    bool in_tok = false, quoted = false;
    for (size_t i = 0; i < line.size(); ++i) {
        char c = line[i];
        if (quoted) {
            if (c == '\\' && i + 1 < line.size()) {
                cur += line[++i];
            } else if (c == '"') {
                quoted = false;
            } else {
                cur += c;
            }
        } else if (c == '"') {
            quoted = in_tok = true;
        } else if (c == ' ' || c == '\t') {
            if (in_tok) out.push_back(cur);
            cur.clear();
            in_tok = false;
        } else {
            cur += c;
            in_tok = true;
        }
    }
    if (in_tok) out.push_back(cur);
    return out;
}

std::string rule_comment(const std::string& line) {
    auto tok = split_rule(line);
    for (size_t i = 0; i + 1 < tok.size(); ++i)
        if (tok[i] == "--comment") return tok[i + 1];
    return "";
}

std::map<std::string, SaveTable> parse_save(const std::string& save) {
    std::map<std::string, SaveTable> out;
    std::istringstream in(save);
    std::string line;
    SaveTable* cur = nullptr;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        if (line[0] == '*') {
            cur = &out[line.substr(1)];
        } else if (line == "COMMIT") {
            cur = nullptr;
        } else if (cur && line[0] == ':') {
            cur->chains.insert(line.substr(1, line.find(' ') - 1));
        } else if (cur && line.rfind("-A ", 0) == 0) {
            cur->rules.push_back(line);
        }
    }
    return out;
}

namespace {

const std::set<std::string> kBuiltin = {"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"};

struct BaseJump {
    const char* table;
    const char* chain;   // built-in chain
    const char* target;  // our chain
    const char* rule;    // the line to add
};
const BaseJump kBaseJumps[] = {
    {"nat", "PREROUTING", "MINIRUN-DNAT",
     "-A PREROUTING -m addrtype --dst-type LOCAL -m comment --comment minirun -j MINIRUN-DNAT"},
    {"nat", "OUTPUT", "MINIRUN-DNAT", "-A OUTPUT -m addrtype --dst-type LOCAL -m comment --comment minirun -j MINIRUN-DNAT"},
    {"nat", "POSTROUTING", "MINIRUN-POSTROUTING", "-I POSTROUTING 1 -m comment --comment minirun -j MINIRUN-POSTROUTING"},
    {"filter", "FORWARD", "MINIRUN-FORWARD", "-I FORWARD 1 -m comment --comment minirun -j MINIRUN-FORWARD"},
    {"filter", "FORWARD", "MINIRUN-ISOLATION", nullptr},  // only a chain, jumped to per network
    {"raw", "PREROUTING", "MINIRUN-PREROUTING", "-I PREROUTING 1 -m comment --comment minirun -j MINIRUN-PREROUTING"},
};

// The chain a "-A X ..." / "-I X ..." line adds to.
std::string chain_of(const std::string& rule) {
    auto tok = split_rule(rule);
    return tok.size() >= 2 ? tok[1] : "";
}

bool has_jump(const SaveTable& t, const std::string& chain, const std::string& target) {
    for (const auto& r : t.rules) {
        auto tok = split_rule(r);
        if (tok.size() < 2 || tok[1] != chain || rule_comment(r) != "minirun") continue;
        for (size_t i = 0; i + 1 < tok.size(); ++i)
            if (tok[i] == "-j" && tok[i + 1] == target) return true;
    }
    return false;
}

}  // namespace

// A rule's identity whatever the spelling: its words sorted, "-I CHAIN N" read as "-A CHAIN"
// (iptables-save prints appends, orders matches its own way and drops quotes).
static std::string rule_key(const std::string& rule) {
    auto tok = split_rule(rule);
    if (tok.size() >= 3 && tok[0] == "-I" && tok[2].find_first_not_of("0123456789") == std::string::npos)
        tok.erase(tok.begin() + 2);
    if (!tok.empty() && tok[0] == "-I") tok[0] = "-A";
    std::sort(tok.begin() + (tok.size() >= 2 ? 2 : 0), tok.end());
    std::string key;
    for (auto& t : tok) key += t + '\x1f';
    return key;
}

std::string build_restore_script(const std::string& save, const RuleChange& change) {
    auto tables = parse_save(save);
    std::set<std::string> names;
    for (const auto& [t, _] : change.add) names.insert(t);
    if (change.ensure_base)
        for (const auto& j : kBaseJumps) names.insert(j.table);
    if (!change.drop_tags.empty())
        for (const auto& [t, _] : tables) names.insert(t);

    std::string script;
    for (const auto& table : names) {
        const SaveTable& cur = tables[table];
        std::vector<std::string> declare, lines;
        // A rule to re-add that is already there, with the same tag, stays as it is: the
        // common case (another container on a network whose rules exist) changes nothing.
        std::vector<bool> kept(cur.rules.size(), false);
        std::set<size_t> skip_add;
        if (auto it = change.add.find(table); it != change.add.end())
            for (size_t a = 0; a < it->second.size(); ++a) {
                if (!change.drop_tags.count(rule_comment(it->second[a]))) continue;
                std::string key = rule_key(it->second[a]);
                for (size_t c = 0; c < cur.rules.size(); ++c)
                    if (!kept[c] && change.drop_tags.count(rule_comment(cur.rules[c])) && rule_key(cur.rules[c]) == key) {
                        kept[c] = true;
                        skip_add.insert(a);
                        break;
                    }
            }
        auto need_chain = [&](const std::string& c) {
            if (c.empty() || kBuiltin.count(c) || cur.chains.count(c)) return;
            if (std::find(declare.begin(), declare.end(), c) == declare.end()) declare.push_back(c);
        };
        for (size_t c = 0; c < cur.rules.size(); ++c)
            if (!kept[c] && change.drop_tags.count(rule_comment(cur.rules[c]))) lines.push_back("-D" + cur.rules[c].substr(2));
        if (change.ensure_base) {
            for (const auto& j : kBaseJumps) {
                if (table != j.table) continue;
                need_chain(j.target);
                if (j.rule && !has_jump(cur, j.chain, j.target)) lines.push_back(j.rule);
            }
        }
        if (auto it = change.add.find(table); it != change.add.end()) {
            for (size_t a = 0; a < it->second.size(); ++a) {
                if (skip_add.count(a)) continue;
                need_chain(chain_of(it->second[a]));
                lines.push_back(it->second[a]);
            }
        }
        if (declare.empty() && lines.empty()) continue;
        script += "*" + table + "\n";
        for (const auto& c : declare) script += ":" + c + " - [0:0]\n";
        for (const auto& l : lines) script += l + "\n";
        script += "COMMIT\n";
    }
    return script;
}

std::map<std::string, std::vector<std::string>> network_rules(const NetRules& n) {
    const std::string c = " -m comment --comment \"" + network_tag(n.name) + "\"";
    const std::string br = n.bridge, sub = n.subnet.str();
    std::map<std::string, std::vector<std::string>> r;
    r["nat"] = {
        // outbound NAT
        "-A MINIRUN-POSTROUTING -s " + sub + " ! -o " + br + c + " -j MASQUERADE",
        // 127.0.0.1:hostport from this host, DNATed in OUTPUT: the source must leave 127/8
        "-A MINIRUN-POSTROUTING -s 127.0.0.0/8 -o " + br + c + " -j MASQUERADE",
        // hairpin: a container reaching a published port (of itself or a peer) via a host address
        "-A MINIRUN-POSTROUTING -s " + sub + " -o " + br + " -m conntrack --ctstate DNAT" + c + " -j MASQUERADE",
    };
    r["filter"] = {
        // isolation from the other minirun networks, except through published ports
        "-I MINIRUN-FORWARD 1 -i " + br + " ! -o " + br + " -m conntrack ! --ctstate DNAT" + c + " -j MINIRUN-ISOLATION",
        "-A MINIRUN-ISOLATION -o " + br + c + " -j DROP",
        "-A MINIRUN-FORWARD -o " + br + " -m conntrack --ctstate RELATED,ESTABLISHED" + c + " -j ACCEPT",
        "-A MINIRUN-FORWARD -i " + br + c + " -j ACCEPT",
    };
    // route_localnet=1 on the bridge would let containers reach the host's 127.0.0.1
    // services: drop 127/8 destinations arriving from the bridge.
    r["raw"] = {"-A MINIRUN-PREROUTING -i " + br + " -d 127.0.0.0/8" + c + " -j DROP"};
    return r;
}

std::map<std::string, std::vector<std::string>> container_rules(const NetRules& n, const std::string& container_id,
                                                                 const std::string& container_ip,
                                                                 const std::vector<PortMapping>& ports) {
    const std::string c = " -m comment --comment \"" + container_tag(container_id) + "\"";
    std::map<std::string, std::vector<std::string>> r;
    for (const auto& p : ports) {
        std::string proto = " -p " + p.protocol + " -m " + p.protocol;
        std::string dst = is_any_ip(p.host_ip) ? "" : " -d " + p.host_ip + "/32";
        r["nat"].push_back("-A MINIRUN-DNAT" + dst + proto + " --dport " + std::to_string(p.host_port) + c +
                           " -j DNAT --to-destination " + container_ip + ":" + std::to_string(p.container_port));
        r["filter"].push_back("-A MINIRUN-FORWARD -d " + container_ip + "/32 ! -i " + n.bridge + " -o " + n.bridge +
                              proto + " --dport " + std::to_string(p.container_port) + c + " -j ACCEPT");
    }
    return r;
}

}  // namespace net
}  // namespace minirun::engine
