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

std::string override_resolv_conf(const std::string& text, const std::vector<std::string>& dns,
                                 const std::vector<std::string>& search, const std::vector<std::string>& options) {
    if (dns.empty() && search.empty() && options.empty()) return text;
    // Docker's Build: search, nameservers, options, each the flag's or else the host's.
    std::vector<std::string> host_ns, host_search, host_options;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream words(line);
        std::string first, w;
        words >> first;
        std::vector<std::string>* into = first == "nameserver" ? &host_ns
                                         : (first == "search" || first == "domain") ? &host_search
                                         : first == "options" ? &host_options
                                                              : nullptr;
        if (!into) continue;
        if (first == "search" || first == "domain") into->clear();  // the last one wins, as in glibc
        while (words >> w) into->push_back(w);
    }
    const auto& ns = dns.empty() ? host_ns : dns;
    const auto& sr = search.empty() ? host_search : search;
    const auto& op = options.empty() ? host_options : options;
    std::string out;
    if (!sr.empty() && !(sr.size() == 1 && sr[0] == ".")) {
        out += "search";
        for (auto& x : sr) out += " " + x;
        out += "\n";
    }
    for (auto& x : ns) out += "nameserver " + x + "\n";
    if (!op.empty()) {
        out += "options";
        for (auto& x : op) out += " " + x;
        out += "\n";
    }
    return out;
}

std::string embedded_resolv_conf(const std::string& host_text, const std::vector<std::string>& search,
                                 const std::vector<std::string>& options) {
    std::vector<std::string> opts = options;
    if (opts.empty()) {
        std::istringstream in(host_text);
        std::string line, first, w;
        while (std::getline(in, line)) {
            std::istringstream words(line);
            if (!(words >> first) || first != "options") continue;
            while (words >> w) opts.push_back(w);
        }
    }
    if (std::none_of(opts.begin(), opts.end(), [](const std::string& o) { return o.rfind("ndots:", 0) == 0; }))
        opts.push_back("ndots:0");
    return override_resolv_conf(host_text, {"127.0.0.11"}, search, opts);
}

std::vector<std::string> nameservers(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line))
        if (auto ns = nameserver_of(line); ns && !ns->empty()) out.push_back(*ns);
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
