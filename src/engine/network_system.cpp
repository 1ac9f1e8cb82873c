#include "network_system.hpp"

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

namespace minirun::engine::netsys {

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

// Addresses "a.b.c.d/n" on a device.
std::vector<std::string> ipv4_addrs(const std::string& dev) {
    std::string out = run_ok({tool("ip"), "-o", "-4", "addr", "show", "dev", dev}, "list addresses of " + dev);
    std::vector<std::string> addrs;
    std::istringstream in(out);
    for (std::string t; in >> t;)
        if (t == "inet" && in >> t) addrs.push_back(t);
    return addrs;
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

void ip_batch(const std::vector<std::string>& commands, const std::string& what, const std::string& netns) {
    if (commands.empty()) return;
    std::string input;
    for (const auto& c : commands) input += c + "\n";
    std::vector<std::string> argv;
    if (!netns.empty()) argv = {tool("nsenter"), "--net=" + netns};
    argv.push_back(tool("ip"));
    argv.insert(argv.end(), {"-batch", "-"});
    run_ok(argv, what, input);
}

bool link_exists(const std::string& dev) { return ::if_nametoindex(dev.c_str()) != 0; }

void delete_link(const std::string& dev) {
    if (!link_exists(dev)) return;
    ProcessResult r = run_process({tool("ip"), "link", "del", "dev", dev});
    if (r.exit_code != 0 && link_exists(dev)) throw Error("delete " + dev + ": " + first_line(r.err));
}

void ensure_bridge(const std::string& bridge, const std::string& gateway, int prefix) {
    if (!link_exists(bridge))
        run_ok({tool("ip"), "link", "add", "name", bridge, "address", random_mac(), "type", "bridge"},
               "create bridge " + bridge);
    std::string want = gateway + "/" + std::to_string(prefix);
    auto have = ipv4_addrs(bridge);
    std::vector<std::string> cmds;
    if (have != std::vector<std::string>{want}) {
        if (!have.empty()) cmds.push_back("addr flush dev " + bridge);
        cmds.push_back("addr add " + want + " dev " + bridge);
    }
    cmds.push_back("link set dev " + bridge + " up");
    ip_batch(cmds, "configure bridge " + bridge);
    write_sysctl("/proc/sys/net/ipv4/ip_forward", "1");
    // 127.0.0.1:hostport → container: the DNATed packet leaves through the bridge with a
    // 127/8 source (masqueraded in POSTROUTING), which the kernel only allows with this.
    write_sysctl("/proc/sys/net/ipv4/conf/" + bridge + "/route_localnet", "1");
}

void create_endpoint(const std::string& bridge, const std::string& host_veth, const std::string& netns_path,
                     const std::string& mac, const std::string& ip, int prefix, const std::string& gateway) {
    delete_link(host_veth);  // a leftover of a killed run
    std::string mtu = std::to_string(default_mtu());
    run_ok({tool("ip"), "link", "add", "name", host_veth, "mtu", mtu, "type", "veth", "peer", "name", "eth0",
            "address", mac, "mtu", mtu, "netns", netns_path},
           "create veth " + host_veth);
    // Hairpin: with br_netfilter, a container reaching its own published port through a
    // host address is DNATed at the bridge and must leave through the port it came in by.
    ip_batch({"link set dev " + host_veth + " master " + bridge,
              "link set dev " + host_veth + " type bridge_slave hairpin on", "link set dev " + host_veth + " up"},
             "attach " + host_veth + " to " + bridge);
    // IPv4-only networks: no IPv6 link-local address on eth0 (hairpin would also reflect
    // its duplicate address detection probes back and fail it).
    ip_batch({"link set dev lo up", "link set dev eth0 addrgenmode none",
              "addr add " + ip + "/" + std::to_string(prefix) + " dev eth0", "link set dev eth0 up",
              "route add default via " + gateway + " dev eth0"},
             "configure eth0 in " + netns_path, netns_path);
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
    std::string out;
    try {
        out = run_ok({tool("ip"), "-o", "-4", "route", "show", "default"}, "default route");
    } catch (const Error&) {
        return 1500;
    }
    std::istringstream in(out);
    std::string dev;
    for (std::string t; in >> t;) {
        if (t == "mtu") {  // a route MTU wins
            int m = 0;
            if (in >> m && m >= 576) return m;
        }
        if (t == "dev" && dev.empty()) in >> dev;
    }
    if (dev.empty() || dev.size() >= IFNAMSIZ) return 1500;
    fs::UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ifreq ifr{};
    std::memcpy(ifr.ifr_name, dev.c_str(), dev.size());
    if (!s || ::ioctl(s.get(), SIOCGIFMTU, &ifr) != 0 || ifr.ifr_mtu < 576) return 1500;
    return std::min(ifr.ifr_mtu, 65535);
}

std::string iptables_save() { return run_ok({tool("iptables-save")}, "iptables-save"); }

void netfilter_apply(const net::RuleChange& change) {
    // Another program may change the rules between our save and restore (a rule to delete
    // vanishes): the script is rebuilt from a fresh dump once.
    for (int attempt = 0;; ++attempt) {
        std::string script = net::build_restore_script(iptables_save(), change);
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
        bool taken = std::any_of(avoid.begin(), avoid.end(), [&](const PortMapping& o) { return net::ports_clash(cand, o); });
        if (!taken) return port;
    }
    throw Error("no free host port for " + std::to_string(p.container_port) + "/" + p.protocol);
}

}  // namespace minirun::engine::netsys
