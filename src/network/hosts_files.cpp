// /etc/hosts and /etc/resolv.conf text.
#include "minirun/network/hosts_files.hpp"

#include <algorithm>
#include <sstream>

#include "minirun/common/strings.hpp"
#include "minirun/network/addressing.hpp"

namespace minirun::network {

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
}  // namespace minirun::network
