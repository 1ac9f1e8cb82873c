#include "kernel.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <sstream>

#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/common/log.hpp"
#include "minirun/common/process.hpp"
#include "rtnetlink.hpp"

namespace minirun::network::kernel {

namespace {

std::string first_line(const std::string& s) {
    std::istringstream in(s);
    std::string line;
    while (std::getline(in, line)) {
        auto b = line.find_first_not_of(" \t\r");
        if (b == std::string::npos) continue;
        line = line.substr(b);
        if (line.rfind("Error: ", 0) == 0) line = line.substr(7);  // ip's prefix
        return line;
    }
    return "";
}

std::string random_mac() {
    unsigned char b[6];
    if (::getrandom(b, sizeof b, 0) != static_cast<ssize_t>(sizeof b)) throw_errno("getrandom");
    b[0] = static_cast<unsigned char>((b[0] & 0xfe) | 0x02);  // unicast, locally administered
    char buf[18];
    std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5]);
    return buf;
}

void write_sysctl(const std::string& path, const std::string& value) {
    try {
        std::string cur = fs::read_file(path, 64);
        if (!cur.empty() && cur.back() == '\n') cur.pop_back();
        if (cur == value) return;
    } catch (const Error&) {
    }
    fs::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd) throw_errno("set " + path);
    fs::write_all(fd.get(), value.data(), value.size(), path);
}

int sock_type(const std::string& proto) { return proto == "udp" ? SOCK_DGRAM : SOCK_STREAM; }

// Binds a probe socket to the mapping's host address; returns the bound port or -errno.
int bind_probe(const PortMapping& p, uint16_t port) {
    fs::UniqueFd s(::socket(AF_INET, sock_type(p.protocol) | SOCK_CLOEXEC, 0));
    if (!s) throw_errno("socket");
    int one = 1;
    if (p.protocol == "tcp") ::setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_ANY);
    if (!p.host_ip.empty() && p.host_ip != "0.0.0.0" && ::inet_pton(AF_INET, p.host_ip.c_str(), &sa.sin_addr) != 1)
        throw Error("invalid host IP " + p.host_ip);
    if (::bind(s.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) return -errno;
    socklen_t len = sizeof sa;
    if (::getsockname(s.get(), reinterpret_cast<sockaddr*>(&sa), &len) != 0) return -errno;
    return ntohs(sa.sin_port);
}

std::string port_text(const PortMapping& p) {
    return (p.host_ip.empty() ? "" : p.host_ip + ":") + std::to_string(p.host_port) +
           (p.protocol == "tcp" ? "" : "/" + p.protocol);
}

}  // namespace

std::string tool(const std::string& name) {
    std::vector<std::string> dirs;
    if (const char* path = std::getenv("PATH")) {
        std::string p = path;
        for (size_t s = 0;;) {
            size_t e = p.find(':', s);
            dirs.push_back(p.substr(s, e == std::string::npos ? std::string::npos : e - s));
            if (e == std::string::npos) break;
            s = e + 1;
        }
    }
    for (const char* d : {"/usr/sbin", "/sbin", "/usr/bin", "/bin"}) dirs.push_back(d);
    for (const auto& d : dirs) {
        if (d.empty()) continue;
        std::string full = d + "/" + name;
        if (::access(full.c_str(), X_OK) == 0) return full;
    }
    throw Error(name + " is not installed (needed for container networking)");
}

std::string run_ok(const std::vector<std::string>& argv, const std::string& what, const std::string& input) {
    ProcessResult r = run_process(argv, input);
    if (r.exit_code != 0) {
        std::string msg = first_line(r.err);
        if (msg.empty()) msg = first_line(r.out);
        if (msg.empty()) msg = "exit status " + std::to_string(r.exit_code);
        throw Error(what + ": " + msg);
    }
    return r.out;
}

bool link_exists(const std::string& dev) { return ::if_nametoindex(dev.c_str()) != 0; }

void delete_link(const std::string& dev) {
    int index = static_cast<int>(::if_nametoindex(dev.c_str()));
    if (index == 0) return;
    try {
        rtnl::Socket().delete_link(index);
    } catch (const Error& e) {
        if (link_exists(dev)) throw Error("delete " + dev + ": " + e.what());
    }
}

void ensure_bridge(const std::string& bridge, const std::string& gateway, int prefix) {
    rtnl::Socket nl;
    int index = nl.link_index(bridge);
    if (index == 0) {
        nl.create_bridge(bridge, random_mac());
        index = nl.link_index(bridge);
        if (index == 0) throw Error("create bridge " + bridge + ": it did not appear");
    }
    std::string want = gateway + "/" + std::to_string(prefix);
    auto have = nl.ipv4_addrs(index);
    if (have != std::vector<std::string>{want}) {
        nl.flush_ipv4(index);
        nl.add_ipv4(index, gateway, prefix);
    }
    nl.set_up(index);
    write_sysctl("/proc/sys/net/ipv4/ip_forward", "1");
    // 127.0.0.1:hostport → container: the DNATed packet leaves through the bridge with a
    // 127/8 source (masqueraded in POSTROUTING), which the kernel only allows with this.
    write_sysctl("/proc/sys/net/ipv4/conf/" + bridge + "/route_localnet", "1");
}

void create_endpoint(const std::string& bridge, const std::string& host_veth, const std::string& netns_path,
                     const std::string& ifname, const std::string& mac, const std::string& ip, int prefix,
                     const std::string& gateway) {
    delete_link(host_veth);  // a leftover of a killed run
    rtnl::Socket host;
    host.create_veth(host_veth, default_mtu(), ifname, mac, netns_path);
    int veth = host.link_index(host_veth), br = host.link_index(bridge);
    if (veth == 0 || br == 0) throw Error("attach " + host_veth + " to " + bridge + ": link missing");
    host.set_master(veth, br);
    // Hairpin: with br_netfilter, a container reaching its own published port through a
    // host address is DNATed at the bridge and must leave through the port it came in by.
    host.set_hairpin(veth);
    host.set_up(veth);
    rtnl::Socket inside(netns_path);
    int lo = inside.link_index("lo"), dev = inside.link_index(ifname);
    if (dev == 0) throw Error("configure " + ifname + " in " + netns_path + ": no " + ifname);
    if (lo) inside.set_up(lo);
    // IPv4-only networks: no IPv6 link-local address (hairpin would also reflect its
    // duplicate address detection probes back and fail it).
    inside.disable_ipv6_addrgen(dev);
    inside.add_ipv4(dev, ip, prefix);
    inside.set_up(dev);
    if (!gateway.empty()) inside.add_default_route(dev, gateway);
}

std::string free_ifname(const std::string& netns_path) {
    rtnl::Socket inside(netns_path);
    for (int n = 0; n < 1000; ++n) {
        std::string name = "eth" + std::to_string(n);
        if (inside.link_index(name) == 0) return name;
    }
    throw Error("no free interface name in " + netns_path);
}

void set_default_route(const std::string& netns_path, const std::string& ip, const std::string& gateway) {
    rtnl::Socket inside(netns_path);
    // The device that holds `ip`: the endpoint's own, whatever its name became.
    for (int n = 0; n < 1000; ++n) {
        std::string name = "eth" + std::to_string(n);
        int dev = inside.link_index(name);
        if (dev == 0) continue;
        for (auto& a : inside.ipv4_addrs(dev))
            if (a.substr(0, a.find('/')) == ip) return inside.add_default_route(dev, gateway);
    }
    throw Error("no device with address " + ip + " in " + netns_path);
}

std::string routes_text() {
    try {
        return run_ok({tool("ip"), "-4", "route", "show"}, "list routes");
    } catch (const Error& e) {
        log::debug(e.what());
        return "";
    }
}

int default_mtu() {
    // /proc/net/route: Iface Destination Gateway Flags RefCnt Use Metric Mask MTU Window IRTT
    std::string dev;
    int route_mtu = 0;
    try {
        std::istringstream in(fs::read_file("/proc/net/route", 1 << 20));
        std::string line;
        std::getline(in, line);
        while (std::getline(in, line)) {
            std::istringstream f(line);
            std::string iface, dest, gw, flags, refcnt, use, metric, mask;
            int mtu = 0;
            if (!(f >> iface >> dest >> gw >> flags >> refcnt >> use >> metric >> mask >> mtu)) continue;
            if (dest == "00000000" && mask == "00000000") {
                dev = iface;
                route_mtu = mtu;
                break;
            }
        }
    } catch (const Error&) {
        return 1500;
    }
    if (route_mtu >= 576) return route_mtu;  // a route MTU wins
    if (dev.empty() || dev.size() >= IFNAMSIZ) return 1500;
    fs::UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ifreq ifr{};
    std::memcpy(ifr.ifr_name, dev.c_str(), dev.size());
    if (!s || ::ioctl(s.get(), SIOCGIFMTU, &ifr) != 0 || ifr.ifr_mtu < 576) return 1500;
    return std::min(ifr.ifr_mtu, 65535);
}

std::string iptables_save() { return run_ok({tool("iptables-save")}, "iptables-save"); }

void netfilter_apply(const RuleChange& change) {
    // Another program may change the rules between our save and restore (a rule to delete
    // vanishes): the script is rebuilt from a fresh dump once.
    for (int attempt = 0;; ++attempt) {
        std::string script = build_restore_script(iptables_save(), change);
        if (script.empty()) return;
        log::debug("iptables-restore --noflush:\n" + script);
        try {
            run_ok({tool("iptables-restore"), "-w", "--noflush"}, "iptables-restore", script);
            return;
        } catch (const Error&) {
            if (attempt == 1) throw;
        }
    }
}

void probe_host_port(const PortMapping& p) {
    if (p.protocol == "sctp") return;
    int r = bind_probe(p, p.host_port);
    if (r == -EADDRINUSE) throw Error("port " + port_text(p) + " is already in use on the host");
    if (r == -EADDRNOTAVAIL) throw Error("host address " + p.host_ip + " is not an address of this host");
    if (r < 0) throw Error(errno_message("bind port " + port_text(p), -r));
}

uint16_t pick_host_port(const PortMapping& p, const std::vector<PortMapping>& avoid) {
    for (int attempt = 0; attempt < 128; ++attempt) {
        uint16_t port = 0;
        if (p.protocol == "sctp") {
            uint16_t rnd = 0;
            if (::getrandom(&rnd, sizeof rnd, 0) != static_cast<ssize_t>(sizeof rnd)) throw_errno("getrandom");
            port = static_cast<uint16_t>(49153 + rnd % (65535 - 49153));
        } else {
            int r = bind_probe(p, 0);
            if (r == -EADDRNOTAVAIL) throw Error("host address " + p.host_ip + " is not an address of this host");
            if (r <= 0) throw Error(errno_message("pick a free host port", -r));
            port = static_cast<uint16_t>(r);
        }
        PortMapping cand = p;
        cand.host_port = port;
        bool taken = std::any_of(avoid.begin(), avoid.end(), [&](const PortMapping& o) { return ports_clash(cand, o); });
        if (!taken) return port;
    }
    throw Error("no free host port for " + std::to_string(p.container_port) + "/" + p.protocol);
}

}  // namespace minirun::network::kernel
