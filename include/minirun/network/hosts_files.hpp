#pragma once
// The text of a container's /etc/hosts and /etc/resolv.conf. Pure, unit-tested.
#include <optional>
#include <string>
#include <vector>

namespace minirun::network {

// /etc/hosts: Docker's localhost lines, then `self`, then `peers` (one line each).
struct HostEntry {
    std::string ip;
    std::vector<std::string> names;
};
std::string render_hosts(const std::optional<HostEntry>& self, const std::vector<HostEntry>& peers);
// Drops loopback and IPv6 nameservers; adds 8.8.8.8 and 8.8.4.4 when none remain.
std::string rewrite_resolv_conf(const std::string& text);
// Docker's --dns, --dns-search and --dns-option: with any given, the file is rebuilt as
// Docker builds it (search, nameservers, options), each from its flag or else from the
// host's lines of that kind. A search of "." means none. With none given, `text` as is.
std::string override_resolv_conf(const std::string& text, const std::vector<std::string>& dns,
                                 const std::vector<std::string>& search, const std::vector<std::string>& options);
// The resolv.conf of a container on a user-defined network: the embedded resolver
// (127.0.0.11) as the only nameserver, the search domains and options of the flags or
// else the host's, and ndots:0 unless an ndots option is given (Docker's file).
std::string embedded_resolv_conf(const std::string& host_text, const std::vector<std::string>& search,
                                 const std::vector<std::string>& options);
// The addresses of the text's nameserver lines, in order.
std::vector<std::string> nameservers(const std::string& text);
// True when every nameserver in the text is 127.0.0.53 (systemd-resolved's stub).
bool is_systemd_resolved_stub(const std::string& text);

}  // namespace minirun::network
