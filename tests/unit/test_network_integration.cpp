// Container networking against the real kernel. Runs only as root with MINIRUN_NETNS_TEST=1,
// inside a scratch network namespace (tests/integration/test_network_module.sh makes one and
// runs this binary in it with nsenter): that namespace plays the host, so bridges, veths,
// sysctls and iptables rules never touch the machine's own namespace.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <thread>

#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/common/process.hpp"
#include "minirun/network/addressing.hpp"
#include "minirun/network/hosts_files.hpp"
#include "minirun/network/names.hpp"
#include "minirun/network/netfilter_rules.hpp"
#include "minirun/network/networks.hpp"
#include "minirun/network/ports.hpp"

using namespace minirun;
using namespace minirun::network;
namespace stdfs = std::filesystem;

namespace {
EndpointOptions aliased(std::vector<std::string> names) {
    EndpointOptions o;
    o.aliases = std::move(names);
    return o;
}
}  // namespace

namespace {

// True when this process shares its network namespace with pid 1 or with its parent (the
// script that should have entered a scratch namespace for it), or when that cannot be told.
bool in_root_netns() {
    struct stat self {};
    if (::stat("/proc/self/ns/net", &self) != 0) return true;
    bool compared = false;
    for (std::string other : {std::string("/proc/1/ns/net"), "/proc/" + std::to_string(::getppid()) + "/ns/net"}) {
        struct stat st {};
        if (::stat(other.c_str(), &st) != 0) continue;
        compared = true;
        if (st.st_ino == self.st_ino && st.st_dev == self.st_dev) return true;
    }
    return !compared;
}

struct TempDir {
    stdfs::path p = stdfs::temp_directory_path() / ("minirun-netint-" + fs::unique_suffix());
    TempDir() { stdfs::create_directories(p); }
    ~TempDir() { stdfs::remove_all(p); }
};

// A namespace for a "container", deleted (with its veth ends) on scope exit.
struct Netns {
    std::string path;
    explicit Netns(std::string p) : path(std::move(p)) { Networks::create_netns(path); }
    ~Netns() {
        try {
            Networks::delete_netns(path);
        } catch (...) {
        }
    }
};

bool link_exists(const std::string& dev) { return ::if_nametoindex(dev.c_str()) != 0; }

ProcessResult sh(const std::vector<std::string>& argv) { return run_process(argv); }

void must(const std::vector<std::string>& argv) {
    auto r = sh(argv);
    std::string cmd;
    for (const auto& a : argv) cmd += a + " ";
    INFO(cmd << "-> " << r.err);
    REQUIRE(r.exit_code == 0);
}

std::string iptables_save() { return sh({"iptables-save"}).out; }

std::vector<std::string> ping_cmd() {
    for (const char* d : {"/usr/bin/ping", "/bin/ping", "/usr/sbin/ping"})
        if (::access(d, X_OK) == 0) return {d};
    return {"busybox", "ping"};
}

bool ping(const std::string& ns, const std::string& ip, int tries = 3) {
    for (int i = 0; i < tries; ++i) {
        std::vector<std::string> argv = {"nsenter", "--net=" + ns};
        for (const auto& a : ping_cmd()) argv.push_back(a);
        argv.insert(argv.end(), {"-c1", "-W1", ip});
        if (sh(argv).exit_code == 0) return true;
    }
    return false;
}

// Runs fn in a thread that has entered the network namespace at `ns` ("" = this one).
template <class F>
auto in_netns(const std::string& ns, F fn) {
    return std::async(std::launch::async, [ns, fn]() {
        if (!ns.empty()) {
            fs::UniqueFd fd(::open(ns.c_str(), O_RDONLY | O_CLOEXEC));
            if (!fd || ::setns(fd.get(), CLONE_NEWNET) != 0) throw_errno("setns " + ns);
        }
        return fn();
    });
}

// A TCP server in a namespace answering "hello from NAME; you are PEER-IP" to each client.
class Server {
public:
    Server(const std::string& ns, const std::string& name, uint16_t port) {
        std::promise<void> ready;
        auto ready_f = ready.get_future();
        thread_ = std::thread([this, ns, name, port, ready = std::move(ready)]() mutable {
            try {
                fs::UniqueFd nsfd(::open(ns.c_str(), O_RDONLY | O_CLOEXEC));
                if (!nsfd || ::setns(nsfd.get(), CLONE_NEWNET) != 0) throw_errno("setns " + ns);
                fs::UniqueFd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
                int one = 1;
                ::setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
                sockaddr_in sa{};
                sa.sin_family = AF_INET;
                sa.sin_port = htons(port);
                if (::bind(s.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(s.get(), 16) != 0)
                    throw_errno("listen");
                ready.set_value();
                while (!stop_) {
                    pollfd p{s.get(), POLLIN, 0};
                    if (::poll(&p, 1, 50) <= 0) continue;
                    sockaddr_in peer{};
                    socklen_t len = sizeof peer;
                    fs::UniqueFd c(::accept4(s.get(), reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC));
                    if (!c) continue;
                    char buf[INET_ADDRSTRLEN] = {};
                    ::inet_ntop(AF_INET, &peer.sin_addr, buf, sizeof buf);
                    std::string msg = "hello from " + name + "; you are " + buf + "\n";
                    (void)!::write(c.get(), msg.data(), msg.size());
                }
            } catch (...) {
                try {
                    ready.set_exception(std::current_exception());
                } catch (...) {
                }
            }
        });
        ready_f.get();
    }
    ~Server() {
        stop_ = true;
        thread_.join();
    }

private:
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

// Connects from `ns` ("" = here) and returns what the server says ("" on failure).
std::string fetch(const std::string& ns, const std::string& ip, uint16_t port) {
    return in_netns(ns, [ip, port]() -> std::string {
               fs::UniqueFd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
               sockaddr_in sa{};
               sa.sin_family = AF_INET;
               sa.sin_port = htons(port);
               ::inet_pton(AF_INET, ip.c_str(), &sa.sin_addr);
               if (::connect(s.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 && errno != EINPROGRESS)
                   return "";
               std::string out;
               for (;;) {
                   pollfd p{s.get(), POLLIN, 0};
                   if (::poll(&p, 1, 2000) <= 0) return out;
                   char buf[256];
                   ssize_t n = ::read(s.get(), buf, sizeof buf);
                   if (n <= 0) return out;
                   out.append(buf, static_cast<size_t>(n));
               }
           })
        .get();
}

size_t count(const std::string& hay, const std::string& needle) {
    size_t n = 0;
    for (size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
    return n;
}

}  // namespace

TEST_CASE("network integration: bridge networks in a scratch namespace") {
    const char* flag = std::getenv("MINIRUN_NETNS_TEST");
    if (::geteuid() != 0 || !flag || std::string(flag) != "1") {
        MESSAGE("skipped: needs root and MINIRUN_NETNS_TEST=1 (run by tests/integration/test_network_module.sh)");
        return;
    }
    REQUIRE_MESSAGE(!in_root_netns(), "refusing to run in the root network namespace: use nsenter --net=<scratch>");
    ::unsetenv("MINIRUN_BRIDGE_SUBNET");

    TempDir t;
    const std::string state = (t.p / "networks").string();
    Netns ns_a((t.p / "ns-a").string()), ns_b((t.p / "ns-b").string()), ns_c((t.p / "ns-c").string());
    Netns outside((t.p / "ns-out").string());
    // create_netns is idempotent and brings lo up.
    Networks::create_netns(ns_a.path);
    CHECK(sh({"nsenter", "--net=" + ns_a.path, "ip", "-o", "link", "show", "lo"}).out.find("UP") != std::string::npos);

    // An "outside world": a veth to another namespace, 172.18.5.0/24. Its route also makes
    // 172.18.0.0/16 unavailable to auto-picked subnets.
    must({"ip", "link", "add", "mrtout", "type", "veth", "peer", "name", "eth1", "netns", outside.path});
    must({"ip", "addr", "add", "172.18.5.1/24", "dev", "mrtout"});
    must({"ip", "link", "set", "mrtout", "up"});
    must({"nsenter", "--net=" + outside.path, "ip", "addr", "add", "172.18.5.2/24", "dev", "eth1"});
    must({"nsenter", "--net=" + outside.path, "ip", "link", "set", "eth1", "up"});
    Server world(outside.path, "outside", 9000);

    Networks nets(state);
    NetworkInfo front = nets.create("front");
    CHECK(nets.inspect("bridge").subnet == "172.17.0.0/16");
    CHECK(front.subnet == "172.19.0.0/16");  // 172.18/16 overlaps the host route
    CHECK_FALSE(link_exists(front.bridge));   // devices appear at the first connect

    const std::string id_a = "aaaaaaaa11112222333344445555666677778888999900001111222233334444";
    const std::string id_b = "bbbbbbbb11112222333344445555666677778888999900001111222233334444";
    const std::string id_c = "cccccccc11112222333344445555666677778888999900001111222233334444";

    // Two connects at once (two Networks objects, as two `minirun run` would be).
    auto fut_a = std::async(std::launch::async, [&] {
        return Networks(state).connect("front", id_a, "web", ns_a.path,
                                       {parse_port_mapping("8080:80"), parse_port_mapping("127.0.0.1::80")}, aliased({"www"}));
    });
    auto fut_b = std::async(std::launch::async, [&] { return Networks(state).connect("front", id_b, "client", ns_b.path, {}); });
    Attachment at_a = fut_a.get(), at_b = fut_b.get();
    CHECK(at_a.ip != at_b.ip);
    auto sub = parse_subnet(front.subnet);
    CHECK(sub.contains(*parse_ipv4(at_a.ip)));
    CHECK(sub.contains(*parse_ipv4(at_b.ip)));
    CHECK(at_a.gateway == "172.19.0.1");
    CHECK(at_a.prefix_len == 16);
    CHECK(at_a.mac == mac_for(*parse_ipv4(at_a.ip)));
    CHECK(at_a.host_veth == "mraaaaaaaah");
    REQUIRE(at_a.ports.size() == 2);
    CHECK(at_a.ports[0].host_port == 8080);
    const uint16_t random_port = at_a.ports[1].host_port;
    CHECK(random_port != 0);
    CHECK(link_exists(front.bridge));
    CHECK(link_exists(at_a.host_veth));
    CHECK(link_exists(at_b.host_veth));
    auto eth0 = sh({"nsenter", "--net=" + ns_a.path, "ip", "-o", "-4", "addr", "show", "dev", "eth0"}).out;
    CHECK(eth0.find(at_a.ip + "/16") != std::string::npos);
    auto route = sh({"nsenter", "--net=" + ns_a.path, "ip", "route", "show", "default"}).out;
    CHECK(route.find("via 172.19.0.1") != std::string::npos);
    CHECK(fs::read_file("/proc/sys/net/ipv4/ip_forward").substr(0, 1) == "1");
    CHECK(fs::read_file("/proc/sys/net/ipv4/conf/" + front.bridge + "/route_localnet").substr(0, 1) == "1");
    CHECK(nets.inspect("front").containers.size() == 2);

    // Containers reach each other by address; peers are in each other's hosts file.
    CHECK(ping(ns_a.path, at_b.ip));
    CHECK(ping(ns_b.path, at_a.ip));
    std::string hosts_b = nets.hosts_file(id_b);
    CHECK(hosts_b.find(at_a.ip + "\tweb aaaaaaaa1111 www\n") != std::string::npos);
    CHECK(hosts_b.find(at_b.ip + "\tbbbbbbbb1111 client\n") != std::string::npos);
    CHECK(nets.hosts_files_for("front").size() == 2);

    // The rules: outbound NAT for the subnet, the container's DNATs, the jumps.
    std::string rules = iptables_save();
    CHECK(rules.find("-A MINIRUN-POSTROUTING -s 172.19.0.0/16 ! -o " + front.bridge) != std::string::npos);
    CHECK(rules.find("-A POSTROUTING -m comment --comment minirun -j MINIRUN-POSTROUTING") != std::string::npos);
    CHECK(rules.find("-A FORWARD -m comment --comment minirun -j MINIRUN-FORWARD") != std::string::npos);
    CHECK(count(rules, "\"minirun:" + id_a + "\" -j DNAT") == 2);
    CHECK(count(rules, "minirun:" + id_b) == 0);

    // Published ports: from this "host" at the bridge address and at 127.0.0.1, from a
    // peer (hairpin) and from the container itself.
    Server web(ns_a.path, "web", 80);
    CHECK(fetch("", at_a.gateway, 8080) == "hello from web; you are 172.19.0.1\n");
    CHECK(fetch("", "127.0.0.1", 8080) == "hello from web; you are 172.19.0.1\n");
    CHECK(fetch("", "127.0.0.1", random_port).find("hello from web") == 0);
    CHECK(fetch("", at_a.gateway, random_port).empty());  // published on 127.0.0.1 only
    CHECK(fetch("", "172.18.5.1", 8080).find("hello from web") == 0);  // any host address
    CHECK(fetch(ns_b.path, at_b.gateway, 8080).find("hello from web") == 0);
    // Known weak spot: a container reaching its *own* published port through the gateway
    // (self-hairpin) works or not depending on br_netfilter state left by other tools on
    // this machine; reported, not asserted, until it is made independent of that.
    WARN(fetch(ns_a.path, at_a.gateway, 8080).find("hello from web") == 0);
    // Outbound: the outside sees the host's address (MASQUERADE).
    CHECK(fetch(ns_a.path, "172.18.5.2", 9000) == "hello from outside; you are 172.18.5.1\n");

    // A connect that fails half-way (no such namespace) leaves nothing behind.
    const std::string id_x = "dddddddd11112222333344445555666677778888999900001111222233334444";
    CHECK_THROWS_WITH_AS(nets.connect("front", id_x, "broken", (t.p / "missing").string(), {parse_port_mapping("8085:80")}),
                         doctest::Contains("connect broken to network front: "), Error);
    CHECK_FALSE(link_exists("mrddddddddh"));
    CHECK(iptables_save().find("minirun:" + id_x) == std::string::npos);
    CHECK(nets.inspect("front").containers.size() == 2);

    // A port already published, then the default bridge: no names, isolated from "front".
    CHECK_THROWS_WITH_AS(nets.connect("front", id_c, "third", ns_c.path, {parse_port_mapping("8080:80")}),
                         "connect third to network front: port 8080 is already published by container web", Error);
    CHECK_FALSE(link_exists("mrcccccccch"));
    {
        Server squatter("/proc/self/ns/net", "squatter", 8090);  // a host process on the port
        CHECK_THROWS_WITH_AS(nets.connect("bridge", id_c, "third", ns_c.path, {parse_port_mapping("8090:80")}),
                             "connect third to network bridge: port 8090 is already in use on the host", Error);
    }
    Attachment at_c = nets.connect("bridge", id_c, "third", ns_c.path, {});
    CHECK(at_c.ip == "172.17.0.2");
    CHECK(link_exists("minirun0"));
    CHECK(nets.hosts_file(id_c).find("web") == std::string::npos);
    CHECK(nets.hosts_file(id_c).find("172.17.0.2\tcccccccc1111 third\n") != std::string::npos);
    CHECK(nets.hosts_file(id_a).find("third") == std::string::npos);
    CHECK(ping(ns_c.path, "172.17.0.1"));
    CHECK_FALSE(ping(ns_c.path, at_a.ip, 1));
    CHECK_FALSE(ping(ns_a.path, at_c.ip, 1));
    CHECK(fetch(ns_c.path, "172.18.5.2", 9000) == "hello from outside; you are 172.18.5.1\n");
    CHECK(fetch(ns_c.path, "172.17.0.1", 8080).find("hello from web") == 0);  // published ports are for everyone

    // Reconnecting (a restarted container) keeps the address and does not duplicate rules.
    Attachment again = nets.connect("front", id_a, "web", ns_a.path, {parse_port_mapping("8080:80")}, aliased({"www"}));
    CHECK(again.ip == at_a.ip);
    rules = iptables_save();
    CHECK(count(rules, "\"minirun:" + id_a + "\"") == 2);  // one DNAT + one forward accept
    CHECK(count(rules, "\"minirun-net:front\"") == 8);
    CHECK(ping(ns_b.path, at_a.ip));
    CHECK(fetch("", "127.0.0.1", 8080).find("hello from web") == 0);
    CHECK(fetch("", "127.0.0.1", random_port).empty());

    // A second network for "third" (on bridge): eth1 in its namespace, no default route
    // through it, names of both networks in its hosts file, the first network's ports kept.
    {
        EndpointOptions further;
        further.gateway = false;
        Attachment extra = nets.connect("front", id_c, "third", ns_c.path, {}, further);
        CHECK_FALSE(extra.is_gateway);
        std::string inside = sh({"nsenter", "--net=" + ns_c.path, "ip", "-4", "-o", "addr", "show", "eth1"}).out;
        CHECK(inside.find(extra.ip + "/16") != std::string::npos);
        std::string routes = sh({"nsenter", "--net=" + ns_c.path, "ip", "route"}).out;
        INFO(routes);
        CHECK(routes.find("default via 172.17.0.1 dev eth0") != std::string::npos);
        CHECK(routes.find("default via " + front.gateway) == std::string::npos);
        CHECK(ping(ns_c.path, at_a.ip));
        CHECK(ping(ns_a.path, extra.ip));
        std::string hosts = nets.hosts_file(id_c);
        CHECK(hosts.find("172.17.0.2\tcccccccc1111 third\n" + extra.ip + "\tcccccccc1111 third\n") != std::string::npos);
        CHECK(hosts.find("\tweb ") != std::string::npos);  // a peer on front
        CHECK(nets.hosts_file(id_a).find(extra.ip + "\tthird") != std::string::npos);
        CHECK(nets.attachments(id_c).size() == 2);
        CHECK(count(iptables_save(), "\"minirun:" + id_a + "\"") == 2);  // web's ports untouched
        CHECK_THROWS_WITH_AS(nets.connect("front", id_c, "third", ns_c.path, {parse_port_mapping("8093:80")}, further),
                             doctest::Contains("ports are published on the container's first network only"), Error);

        // Leaving one network keeps the other.
        CHECK(nets.disconnect(id_c, "front") == std::vector<std::string>{"front"});
        CHECK_FALSE(link_exists(extra.host_veth));
        CHECK(sh({"nsenter", "--net=" + ns_c.path, "ip", "link", "show", "eth1"}).exit_code != 0);
        CHECK(ping(ns_c.path, "172.17.0.1"));
        CHECK(nets.attachments(id_c).size() == 1);

        // Moving: join front, leave bridge, make front the first: default route and ports follow.
        extra = nets.connect("front", id_c, "third", ns_c.path, {}, further);
        nets.disconnect(id_c, "bridge");
        Attachment moved = nets.promote("front", id_c, {parse_port_mapping("8093:80")});
        CHECK(moved.is_gateway);
        CHECK(moved.ip == extra.ip);
        CHECK(sh({"nsenter", "--net=" + ns_c.path, "ip", "route"}).out.find("default via " + front.gateway) != std::string::npos);
        Server third(ns_c.path, "third", 80);
        CHECK(fetch("", "127.0.0.1", 8093).find("hello from third") == 0);
        CHECK(fetch(ns_c.path, "172.18.5.2", 9000) == "hello from outside; you are 172.18.5.1\n");
        // Back to where it was: on bridge alone.
        nets.disconnect(id_c);
        CHECK(iptables_save().find("minirun:" + id_c) == std::string::npos);
        CHECK(nets.connect("bridge", id_c, "third", ns_c.path, {}).ip == at_c.ip);
    }

    // Removing a network in use is refused.
    CHECK_THROWS_WITH_AS(nets.remove("front"), doctest::Contains("containers are still attached"), Error);

    // Disconnect: veth, rules and address gone; peers' hosts files updated; idempotent.
    nets.disconnect(id_a);
    CHECK_FALSE(link_exists(at_a.host_veth));
    rules = iptables_save();
    CHECK(rules.find("minirun:" + id_a) == std::string::npos);
    CHECK(fetch("", "127.0.0.1", 8080).empty());
    auto files = nets.hosts_files_for("front");
    REQUIRE(files.size() == 1);
    CHECK(files[0].first == id_b);
    CHECK(files[0].second.find("web") == std::string::npos);
    CHECK_NOTHROW(nets.disconnect(id_a));
    // The freed address goes to the next container.
    Attachment reuse = nets.connect("front", id_a, "web2", ns_a.path, {});
    CHECK(reuse.ip == at_a.ip);
    nets.disconnect(id_a);
    nets.disconnect(id_b);
    nets.disconnect(id_c);
    CHECK_FALSE(link_exists(at_b.host_veth));
    CHECK_FALSE(link_exists(at_c.host_veth));

    // Removing the network deletes its bridge and rules.
    nets.remove("front");
    CHECK_FALSE(link_exists(front.bridge));
    rules = iptables_save();
    CHECK(rules.find("minirun-net:front") == std::string::npos);
    CHECK(rules.find("minirun:") == std::string::npos);
    CHECK(nets.list().size() == 3);
    Networks::delete_netns(ns_c.path);
    CHECK_FALSE(stdfs::exists(ns_c.path));
    CHECK_NOTHROW(Networks::delete_netns(ns_c.path));
}
