#pragma once
// Netfilter rule text: what the rules of a network and of a container are, how to read an
// iptables-save dump and the iptables-restore script that changes it. Pure, unit-tested;
// applying it is kernel.hpp's job. The layout is described in networks.hpp.
#include <map>
#include <set>
#include <string>
#include <vector>

#include "minirun/network/addressing.hpp"
#include "minirun/network/ports.hpp"

namespace minirun::network {

// Comment tags the rules carry.
std::string container_tag(const std::string& container_id);  // "minirun:<id>"
std::string network_tag(const std::string& network_name);     // "minirun-net:<name>"

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

// The rules of one network and of one container.
struct NetRules {
    std::string name, bridge;
    Subnet subnet;
};
std::map<std::string, std::vector<std::string>> network_rules(const NetRules& n);
std::map<std::string, std::vector<std::string>> container_rules(const NetRules& n, const std::string& container_id,
                                                                 const std::string& container_ip,
                                                                 const std::vector<PortMapping>& ports);

}  // namespace minirun::network
