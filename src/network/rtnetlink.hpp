#pragma once
// Links, addresses and routes through rtnetlink: what `ip` does, without a process per
// change. A Socket acts in the network namespace it was opened in.
#include <cstdint>
#include <string>
#include <vector>

#include "minirun/common/fs.hpp"

namespace minirun::network::rtnl {

class Socket {
public:
    // The current namespace, or the one at `netns_path` (opened from a short-lived thread
    // that joins it: the socket stays bound to that namespace).
    explicit Socket(const std::string& netns_path = {});

    // Link index by name in this socket's namespace; 0 when there is none.
    int link_index(const std::string& name);
    void create_bridge(const std::string& name, const std::string& mac);
    // veth `name` here; its peer `peer_name` (with `peer_mac`) created in the namespace at
    // `peer_netns_path`.
    void create_veth(const std::string& name, int mtu, const std::string& peer_name, const std::string& peer_mac,
                     const std::string& peer_netns_path);
    void set_master(int index, int master_index);
    void set_up(int index);
    void set_hairpin(int index);
    // No IPv6 link-local address (IPv4-only networks).
    void disable_ipv6_addrgen(int index);
    void add_ipv4(int index, const std::string& ip, int prefix);
    void flush_ipv4(int index);
    std::vector<std::string> ipv4_addrs(int index);  // "a.b.c.d/n"
    void add_default_route(int index, const std::string& gateway);
    void delete_link(int index);

private:
    // Sends one request with NLM_F_ACK and waits for its answer; throws Error naming `what`.
    void transact(std::vector<char>& msg, const std::string& what);
    // Sends a dump request and hands each answer message to `each`.
    template <typename F>
    void dump(std::vector<char>& msg, const std::string& what, F each);
    fs::UniqueFd fd_;
    uint32_t seq_ = 0;
};

}  // namespace minirun::network::rtnl
