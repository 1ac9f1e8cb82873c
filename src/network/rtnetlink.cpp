// rtnetlink requests: small messages built by hand (a header, a family struct and
// attributes, nested where the kernel wants them).
#include "rtnetlink.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_addr.h>
#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "minirun/common/error.hpp"

namespace minirun::network::rtnl {

namespace {

// A message under construction; attribute offsets stay valid as it grows.
class Msg {
public:
    Msg(uint16_t type, uint16_t flags) : buf_(NLMSG_HDRLEN, 0) {
        auto* h = hdr();
        h->nlmsg_type = type;
        h->nlmsg_flags = static_cast<uint16_t>(flags | NLM_F_REQUEST);
    }
    template <typename T>
    T* family() {
        size_t off = buf_.size();
        buf_.resize(off + NLMSG_ALIGN(sizeof(T)), 0);
        return reinterpret_cast<T*>(buf_.data() + off);
    }
    void attr(uint16_t type, const void* data, size_t len) {
        size_t off = buf_.size();
        buf_.resize(off + RTA_SPACE(len), 0);
        auto* a = reinterpret_cast<rtattr*>(buf_.data() + off);
        a->rta_type = type;
        a->rta_len = static_cast<uint16_t>(RTA_LENGTH(len));
        if (len) std::memcpy(RTA_DATA(a), data, len);
    }
    void attr_str(uint16_t type, const std::string& s) { attr(type, s.c_str(), s.size() + 1); }
    void attr_u32(uint16_t type, uint32_t v) { attr(type, &v, sizeof v); }
    void attr_u8(uint16_t type, uint8_t v) { attr(type, &v, sizeof v); }
    size_t begin(uint16_t type) {
        size_t off = buf_.size();
        attr(static_cast<uint16_t>(type | NLA_F_NESTED), nullptr, 0);
        return off;
    }
    void end(size_t off) { reinterpret_cast<rtattr*>(buf_.data() + off)->rta_len = static_cast<uint16_t>(buf_.size() - off); }
    std::vector<char>& finish() {
        hdr()->nlmsg_len = static_cast<uint32_t>(buf_.size());
        return buf_;
    }

private:
    nlmsghdr* hdr() { return reinterpret_cast<nlmsghdr*>(buf_.data()); }
    std::vector<char> buf_;
};

bool parse_mac(const std::string& text, unsigned char out[6]) {
    unsigned v[6];
    if (std::sscanf(text.c_str(), "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6) return false;
    for (int i = 0; i < 6; ++i) out[i] = static_cast<unsigned char>(v[i]);
    return true;
}

in_addr parse_ip(const std::string& ip) {
    in_addr a{};
    if (::inet_pton(AF_INET, ip.c_str(), &a) != 1) throw Error("invalid IPv4 address " + ip);
    return a;
}

int open_route_socket() {
    int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) throw_errno("netlink socket");
    return fd;
}

}  // namespace

Socket::Socket(const std::string& netns_path) {
    if (netns_path.empty()) {
        fd_.reset(open_route_socket());
        return;
    }
    fs::UniqueFd ns(::open(netns_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!ns) throw_errno("open network namespace " + netns_path);
    int fd = -1, err = 0;
    // setns(CLONE_NEWNET) moves only the calling thread: a throwaway thread opens the socket.
    std::thread t([&] {
        if (::setns(ns.get(), CLONE_NEWNET) != 0) {
            err = errno;
            return;
        }
        fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
        if (fd < 0) err = errno;
    });
    t.join();
    if (fd < 0) throw_errno("netlink socket in " + netns_path, err);
    fd_.reset(fd);
}

void Socket::transact(std::vector<char>& msg, const std::string& what) {
    auto* h = reinterpret_cast<nlmsghdr*>(msg.data());
    h->nlmsg_seq = ++seq_;
    h->nlmsg_flags |= NLM_F_ACK;
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (::sendto(fd_.get(), msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0)
        throw_errno(what);
    char buf[8192];
    for (;;) {
        ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_errno(what);
        for (auto* r = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(r, static_cast<unsigned>(n)); r = NLMSG_NEXT(r, n)) {
            if (r->nlmsg_seq != seq_ || r->nlmsg_type != NLMSG_ERROR) continue;
            int err = -reinterpret_cast<nlmsgerr*>(NLMSG_DATA(r))->error;
            if (err != 0) throw_errno(what, err);
            return;
        }
    }
}

template <typename F>
void Socket::dump(std::vector<char>& msg, const std::string& what, F each) {
    auto* h = reinterpret_cast<nlmsghdr*>(msg.data());
    h->nlmsg_seq = ++seq_;
    if (::send(fd_.get(), msg.data(), msg.size(), 0) < 0) throw_errno(what);
    std::vector<char> buf(32768);
    for (;;) {
        ssize_t n = ::recv(fd_.get(), buf.data(), buf.size(), 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_errno(what);
        for (auto* r = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(r, static_cast<unsigned>(n)); r = NLMSG_NEXT(r, n)) {
            if (r->nlmsg_seq != seq_) continue;
            if (r->nlmsg_type == NLMSG_DONE) return;
            if (r->nlmsg_type == NLMSG_ERROR) {
                int err = -reinterpret_cast<nlmsgerr*>(NLMSG_DATA(r))->error;
                if (err != 0) throw_errno(what, err);
                return;
            }
            each(r);
        }
    }
}

int Socket::link_index(const std::string& name) {
    Msg m(RTM_GETLINK, 0);
    m.family<ifinfomsg>()->ifi_family = AF_UNSPEC;
    m.attr_str(IFLA_IFNAME, name);
    auto& msg = m.finish();
    auto* h = reinterpret_cast<nlmsghdr*>(msg.data());
    h->nlmsg_seq = ++seq_;
    if (::send(fd_.get(), msg.data(), msg.size(), 0) < 0) throw_errno("look up link " + name);
    char buf[16384];
    for (;;) {
        ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_errno("look up link " + name);
        for (auto* r = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(r, static_cast<unsigned>(n)); r = NLMSG_NEXT(r, n)) {
            if (r->nlmsg_seq != seq_) continue;
            if (r->nlmsg_type == NLMSG_ERROR) {
                int err = -reinterpret_cast<nlmsgerr*>(NLMSG_DATA(r))->error;
                if (err == ENODEV || err == 0) return 0;
                throw_errno("look up link " + name, err);
            }
            if (r->nlmsg_type == RTM_NEWLINK) return reinterpret_cast<ifinfomsg*>(NLMSG_DATA(r))->ifi_index;
        }
    }
}

void Socket::create_bridge(const std::string& name, const std::string& mac) {
    Msg m(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    m.family<ifinfomsg>()->ifi_family = AF_UNSPEC;
    m.attr_str(IFLA_IFNAME, name);
    unsigned char a[6];
    if (parse_mac(mac, a)) m.attr(IFLA_ADDRESS, a, 6);
    size_t info = m.begin(IFLA_LINKINFO);
    m.attr_str(IFLA_INFO_KIND, "bridge");
    m.end(info);
    transact(m.finish(), "create bridge " + name);
}

void Socket::create_veth(const std::string& name, int mtu, const std::string& peer_name, const std::string& peer_mac,
                         const std::string& peer_netns_path) {
    fs::UniqueFd ns(::open(peer_netns_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!ns) throw_errno("open network namespace " + peer_netns_path);
    Msg m(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    m.family<ifinfomsg>()->ifi_family = AF_UNSPEC;
    m.attr_str(IFLA_IFNAME, name);
    m.attr_u32(IFLA_MTU, static_cast<uint32_t>(mtu));
    size_t info = m.begin(IFLA_LINKINFO);
    m.attr_str(IFLA_INFO_KIND, "veth");
    size_t data = m.begin(IFLA_INFO_DATA);
    size_t peer = m.begin(VETH_INFO_PEER);
    m.family<ifinfomsg>()->ifi_family = AF_UNSPEC;
    m.attr_str(IFLA_IFNAME, peer_name);
    m.attr_u32(IFLA_MTU, static_cast<uint32_t>(mtu));
    unsigned char a[6];
    if (parse_mac(peer_mac, a)) m.attr(IFLA_ADDRESS, a, 6);
    m.attr_u32(IFLA_NET_NS_FD, static_cast<uint32_t>(ns.get()));
    m.end(peer);
    m.end(data);
    m.end(info);
    transact(m.finish(), "create veth " + name);
}

void Socket::set_master(int index, int master_index) {
    Msg m(RTM_NEWLINK, 0);
    auto* i = m.family<ifinfomsg>();
    i->ifi_family = AF_UNSPEC;
    i->ifi_index = index;
    m.attr_u32(IFLA_MASTER, static_cast<uint32_t>(master_index));
    transact(m.finish(), "attach link " + std::to_string(index) + " to its bridge");
}

void Socket::set_up(int index) {
    Msg m(RTM_NEWLINK, 0);
    auto* i = m.family<ifinfomsg>();
    i->ifi_family = AF_UNSPEC;
    i->ifi_index = index;
    i->ifi_flags = IFF_UP;
    i->ifi_change = IFF_UP;
    transact(m.finish(), "set link " + std::to_string(index) + " up");
}

void Socket::set_hairpin(int index) {
    Msg m(RTM_SETLINK, 0);
    auto* i = m.family<ifinfomsg>();
    i->ifi_family = AF_BRIDGE;
    i->ifi_index = index;
    size_t p = m.begin(IFLA_PROTINFO);
    m.attr_u8(IFLA_BRPORT_MODE, 1);
    m.end(p);
    transact(m.finish(), "hairpin mode on link " + std::to_string(index));
}

void Socket::disable_ipv6_addrgen(int index) {
    Msg m(RTM_NEWLINK, 0);
    auto* i = m.family<ifinfomsg>();
    i->ifi_family = AF_UNSPEC;
    i->ifi_index = index;
    size_t spec = m.begin(IFLA_AF_SPEC);
    size_t v6 = m.begin(AF_INET6);
    m.attr_u8(IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE);
    m.end(v6);
    m.end(spec);
    try {
        transact(m.finish(), "addrgenmode none");
    } catch (const Error&) {
        // A kernel without IPv6 has nothing to generate.
    }
}

void Socket::add_ipv4(int index, const std::string& ip, int prefix) {
    Msg m(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
    auto* a = m.family<ifaddrmsg>();
    a->ifa_family = AF_INET;
    a->ifa_prefixlen = static_cast<unsigned char>(prefix);
    a->ifa_index = static_cast<unsigned>(index);
    in_addr addr = parse_ip(ip);
    m.attr(IFA_LOCAL, &addr, sizeof addr);
    m.attr(IFA_ADDRESS, &addr, sizeof addr);
    if (prefix < 31) {
        in_addr bcast{htonl(ntohl(addr.s_addr) | (0xffffffffu >> prefix))};
        m.attr(IFA_BROADCAST, &bcast, sizeof bcast);
    }
    transact(m.finish(), "add address " + ip + "/" + std::to_string(prefix));
}

std::vector<std::string> Socket::ipv4_addrs(int index) {
    Msg m(RTM_GETADDR, NLM_F_DUMP);
    m.family<ifaddrmsg>()->ifa_family = AF_INET;
    std::vector<std::string> out;
    dump(m.finish(), "list addresses", [&](nlmsghdr* r) {
        if (r->nlmsg_type != RTM_NEWADDR) return;
        auto* a = reinterpret_cast<ifaddrmsg*>(NLMSG_DATA(r));
        if (static_cast<int>(a->ifa_index) != index) return;
        int len = static_cast<int>(IFA_PAYLOAD(r));
        for (auto* at = IFA_RTA(a); RTA_OK(at, len); at = RTA_NEXT(at, len)) {
            if (at->rta_type != IFA_LOCAL) continue;
            char text[INET_ADDRSTRLEN];
            ::inet_ntop(AF_INET, RTA_DATA(at), text, sizeof text);
            out.push_back(std::string(text) + "/" + std::to_string(a->ifa_prefixlen));
        }
    });
    return out;
}

void Socket::flush_ipv4(int index) {
    for (auto& cidr : ipv4_addrs(index)) {
        Msg m(RTM_DELADDR, 0);
        auto* a = m.family<ifaddrmsg>();
        a->ifa_family = AF_INET;
        a->ifa_prefixlen = static_cast<unsigned char>(std::stoi(cidr.substr(cidr.find('/') + 1)));
        a->ifa_index = static_cast<unsigned>(index);
        in_addr addr = parse_ip(cidr.substr(0, cidr.find('/')));
        m.attr(IFA_LOCAL, &addr, sizeof addr);
        transact(m.finish(), "delete address " + cidr);
    }
}

void Socket::add_default_route(int index, const std::string& gateway) {
    // REPLACE: a container moved to another network takes over the default route.
    Msg m(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE);
    auto* r = m.family<rtmsg>();
    r->rtm_family = AF_INET;
    r->rtm_table = RT_TABLE_MAIN;
    r->rtm_protocol = RTPROT_BOOT;
    r->rtm_scope = RT_SCOPE_UNIVERSE;
    r->rtm_type = RTN_UNICAST;
    in_addr gw = parse_ip(gateway);
    m.attr(RTA_GATEWAY, &gw, sizeof gw);
    m.attr_u32(RTA_OIF, static_cast<uint32_t>(index));
    transact(m.finish(), "add default route via " + gateway);
}

void Socket::delete_link(int index) {
    Msg m(RTM_DELLINK, 0);
    auto* i = m.family<ifinfomsg>();
    i->ifi_family = AF_UNSPEC;
    i->ifi_index = index;
    transact(m.finish(), "delete link " + std::to_string(index));
}

}  // namespace minirun::network::rtnl
