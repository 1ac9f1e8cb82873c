// Netfilter rule text and iptables-restore scripts.
#include "minirun/network/netfilter_rules.hpp"

#include <algorithm>
#include <sstream>

namespace minirun::network {

std::string container_tag(const std::string& container_id) { return "minirun:" + container_id; }
std::string network_tag(const std::string& network_name) { return "minirun-net:" + network_name; }

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
        std::string dst = binds_all_addresses(p.host_ip) ? "" : " -d " + p.host_ip + "/32";
        r["nat"].push_back("-A MINIRUN-DNAT" + dst + proto + " --dport " + std::to_string(p.host_port) + c +
                           " -j DNAT --to-destination " + container_ip + ":" + std::to_string(p.container_port));
        r["filter"].push_back("-A MINIRUN-FORWARD -d " + container_ip + "/32 ! -i " + n.bridge + " -o " + n.bridge +
                              proto + " --dport " + std::to_string(p.container_port) + c + " -j ACCEPT");
    }
    return r;
}

}  // namespace minirun::network
