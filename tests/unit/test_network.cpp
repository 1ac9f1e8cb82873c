// Container networking without root: -p parsing, IPAM, names, hosts/resolv.conf text,
// iptables-restore scripts, and the network state (create/list/inspect/remove).
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>

#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/network/addressing.hpp"
#include "minirun/network/hosts_files.hpp"
#include "minirun/network/names.hpp"
#include "minirun/network/netfilter_rules.hpp"
#include "minirun/network/networks.hpp"
#include "minirun/network/ports.hpp"
#include "scratch_dir.hpp"

using namespace minirun;
using namespace minirun::network;
namespace stdfs = std::filesystem;

namespace {

PortMapping pm(std::string ip, uint16_t h, uint16_t c, std::string proto = "tcp") {
    return PortMapping{std::move(ip), h, c, std::move(proto)};
}

uint32_t ip(const char* s) { return *parse_ipv4(s); }
}  // namespace

TEST_CASE("network: -p mappings as Docker spells them") {
    struct Row {
        const char* text;
        PortMapping want;
    };
    const Row ok[] = {
        {"8080:80", pm("", 8080, 80)},
        {"8080:80/udp", pm("", 8080, 80, "udp")},
        {"8080:80/TCP", pm("", 8080, 80)},
        {"53:53/sctp", pm("", 53, 53, "sctp")},
        {"127.0.0.1:8080:80", pm("127.0.0.1", 8080, 80)},
        {"0.0.0.0:8080:80", pm("", 8080, 80)},
        {"127.0.0.1::80", pm("127.0.0.1", 0, 80)},
        {":80", pm("", 0, 80)},
        {"80", pm("", 0, 80)},
        {"80/udp", pm("", 0, 80, "udp")},
        {"0:80", pm("", 0, 80)},
        {"65535:1", pm("", 65535, 1)},
    };
    for (const auto& r : ok) {
        CAPTURE(r.text);
        CHECK(parse_port_mapping(r.text) == r.want);
    }
    const char* bad[] = {"",        "x",          "0",          "80:0",           "65536:80",     "8080:80/icmp",
                         "a:80",    "1.2.3:80:80", "1.2.3.4:5:6:7", "300.1.1.1:80:80", "8000-8010:80", "80-81",
                         "8080:",   "::80",        "[::1]:80:80", "-1:80",          "08080x:80",    "1.2.3.4:x:80"};
    for (const char* b : bad) {
        CAPTURE(b);
        CHECK_THROWS_AS(parse_port_mapping(b), Error);
    }
    CHECK_THROWS_WITH_AS(parse_port_mapping("8080:80/icmp"), doctest::Contains("-p \"8080:80/icmp\""), Error);
    CHECK_THROWS_WITH_AS(parse_port_mapping("8000-8010:80"), doctest::Contains("ranges"), Error);
    CHECK(format_port_mapping(pm("", 8080, 80)) == "0.0.0.0:8080->80/tcp");
    CHECK(format_port_mapping(pm("127.0.0.1", 5353, 53, "udp")) == "127.0.0.1:5353->53/udp");
    // The display form reads back (records written before ports were typed hold it).
    for (const auto& p : {pm("", 8080, 80), pm("127.0.0.1", 5353, 53, "udp"), pm("10.0.0.1", 1, 65535, "sctp")})
        CHECK(parse_formatted_port_mapping(format_port_mapping(p)) == p);
    CHECK_THROWS_WITH_AS(parse_formatted_port_mapping("8080:80"), doctest::Contains("\"8080:80\""), Error);
    // `docker port`'s lines and its PRIVATE[/PROTO] selection.
    CHECK(format_port_line(pm("", 8080, 80)) == "80/tcp -> 0.0.0.0:8080");
    CHECK(format_port_line(pm("127.0.0.1", 5353, 53, "udp")) == "53/udp -> 127.0.0.1:5353");
    std::vector<PortMapping> published = {pm("", 8080, 80), pm("127.0.0.1", 8081, 80), pm("", 5353, 53, "udp")};
    CHECK(select_container_port(published, "80").size() == 2);
    CHECK(select_container_port(published, "80/tcp").size() == 2);
    CHECK(select_container_port(published, "53/udp") == std::vector<PortMapping>{pm("", 5353, 53, "udp")});
    CHECK(select_container_port(published, "53").empty());
    CHECK_THROWS_WITH_AS(select_container_port(published, "http"), "invalid port \"http\": expected PORT[/PROTO]", Error);
    CHECK_THROWS_AS(select_container_port(published, "80-81"), Error);
    CHECK(container_port_key(pm("", 8080, 80)) == "80/tcp");
    CHECK(container_port_key(pm("", 0, 53, "udp")) == "53/udp");
    // An inspect PortBindings entry reads back into the mapping it came from.
    for (const auto& p : {pm("", 8080, 80), pm("127.0.0.1", 5353, 53, "udp"), pm("", 0, 9000)})
        CHECK(port_binding(container_port_key(p), p.host_ip, p.host_port ? std::to_string(p.host_port) : "") == p);
    CHECK(port_binding("80/tcp", "0.0.0.0", "8080") == pm("", 8080, 80));
    CHECK_THROWS_WITH_AS(port_binding("80/icmp", "", "1"), doctest::Contains("\"80/icmp\""), Error);
    CHECK_THROWS_AS(port_binding("x/tcp", "", "1"), Error);
    CHECK_THROWS_AS(port_binding("80/tcp", "1.2.3", "1"), Error);
    CHECK_THROWS_AS(port_binding("80/tcp", "", "70000"), Error);
    CHECK(binds_all_addresses("") == true);
    CHECK(binds_all_addresses("0.0.0.0") == true);
    CHECK(binds_all_addresses("127.0.0.1") == false);
}

TEST_CASE("network: IPv4 addresses and subnets") {
    CHECK(parse_ipv4("172.17.0.1") == 0xac110001u);
    CHECK(parse_ipv4("0.0.0.0") == 0u);
    CHECK(parse_ipv4("255.255.255.255") == 0xffffffffu);
    for (const char* b : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.4 ", "a.b.c.d", "1..2.3", "1.2.3.-4"}) {
        CAPTURE(b);
        CHECK_FALSE(parse_ipv4(b).has_value());
    }
    CHECK(format_ipv4(0xac110002u) == "172.17.0.2");

    auto s = parse_subnet("172.18.0.0/16");
    CHECK(s.addr == ip("172.18.0.0"));
    CHECK(s.prefix == 16);
    CHECK(s.gateway() == ip("172.18.0.1"));
    CHECK(s.broadcast() == ip("172.18.255.255"));
    CHECK(s.str() == "172.18.0.0/16");
    CHECK(parse_subnet("10.1.2.0/30").prefix == 30);
    CHECK_THROWS_WITH_AS(parse_subnet("10.0.0.0/33"), "subnet 10.0.0.0/33 is invalid", Error);
    CHECK_THROWS_WITH_AS(parse_subnet("172.30.1.5/16"), doctest::Contains("did you mean 172.30.0.0/16"), Error);
    for (const char* b : {"10.0.0.0", "10.0.0.0/", "10.0.0.0/x", "10.0.0/8", "10.0.0.0/31", "10.0.0.0/32",
                          "0.0.0.0/0", "127.0.0.0/8", "127.1.0.0/16", "224.0.0.0/4", "169.254.0.0/16", "0.0.0.0/8"}) {
        CAPTURE(b);
        CHECK_THROWS_AS(parse_subnet(b), Error);
    }

    CHECK(overlaps(parse_subnet("10.0.0.0/8"), parse_subnet("10.5.0.0/16")));
    CHECK(overlaps(parse_subnet("10.5.0.0/16"), parse_subnet("10.0.0.0/8")));
    CHECK(overlaps(parse_subnet("172.18.0.0/16"), parse_subnet("172.18.0.0/16")));
    CHECK_FALSE(overlaps(parse_subnet("172.18.0.0/16"), parse_subnet("172.19.0.0/16")));
    CHECK_FALSE(overlaps(parse_subnet("192.168.0.0/20"), parse_subnet("192.168.16.0/20")));
}

TEST_CASE("network: subnet pools and address allocation") {
    auto pools = default_pools();
    REQUIRE(pools.size() == 31);
    CHECK(pools.front().str() == "172.17.0.0/16");
    CHECK(pools[14].str() == "172.31.0.0/16");
    CHECK(pools[15].str() == "192.168.0.0/20");
    CHECK(pools.back().str() == "192.168.240.0/20");

    std::vector<Subnet> taken = {parse_subnet("172.17.0.0/16")};
    CHECK(pick_subnet(pools, taken)->str() == "172.18.0.0/16");
    taken.push_back(parse_subnet("172.18.0.0/16"));
    taken.push_back(parse_subnet("172.19.5.0/24"));  // a host route inside 172.19/16
    CHECK(pick_subnet(pools, taken)->str() == "172.20.0.0/16");
    taken.push_back(parse_subnet("172.16.0.0/12"));  // covers every 172 pool
    CHECK(pick_subnet(pools, taken)->str() == "192.168.0.0/20");
    taken.push_back(parse_subnet("192.168.0.0/16"));
    CHECK_FALSE(pick_subnet(pools, taken).has_value());

    auto s = parse_subnet("172.18.0.0/16");
    CHECK(allocate_address(s, {}) == ip("172.18.0.2"));
    CHECK(allocate_address(s, {ip("172.18.0.2"), ip("172.18.0.3")}) == ip("172.18.0.4"));
    CHECK(allocate_address(s, {ip("172.18.0.3")}) == ip("172.18.0.2"));  // a freed address is reused
    auto tiny = parse_subnet("10.9.9.0/30");  // .0 net, .1 gateway, .2 host, .3 broadcast
    CHECK(allocate_address(tiny, {}) == ip("10.9.9.2"));
    CHECK_FALSE(allocate_address(tiny, {ip("10.9.9.2")}).has_value());
    auto t29 = parse_subnet("10.9.9.8/29");
    std::set<uint32_t> used;
    for (int i = 0; i < 5; ++i) used.insert(*allocate_address(t29, used));
    CHECK(used == std::set<uint32_t>{ip("10.9.9.10"), ip("10.9.9.11"), ip("10.9.9.12"), ip("10.9.9.13"), ip("10.9.9.14")});
    CHECK_FALSE(allocate_address(t29, used).has_value());

    CHECK(mac_for(ip("172.17.0.2")) == "02:42:ac:11:00:02");
}

TEST_CASE("network: host routes") {
    auto r = parse_routes(
        "default via 10.0.0.1 dev eth0 proto dhcp src 10.0.0.5 metric 100\n"
        "10.0.0.0/24 dev eth0 proto kernel scope link src 10.0.0.5\n"
        "172.17.0.0/16 dev minirun0 proto kernel scope link src 172.17.0.1 linkdown\n"
        "unreachable 192.168.50.0/24 proto static\n"
        "10.8.8.8 via 10.0.0.1 dev eth0\n"
        "garbage line\n");
    REQUIRE(r.size() == 4);
    CHECK(r[0].dst.str() == "10.0.0.0/24");
    CHECK(r[0].dev == "eth0");
    CHECK(r[1].dev == "minirun0");
    CHECK(r[2].dst.str() == "192.168.50.0/24");
    CHECK(r[2].dev.empty());
    CHECK(r[3].dst.str() == "10.8.8.8/32");
}

TEST_CASE("network: device names, names and tags") {
    CHECK(veth_name("0123456789abcdef0123") == "mr01234567h");
    CHECK(veth_name("ABCDEF0123") == "mrabcdef01h");
    std::string odd = veth_name("not-hex-at-all");
    CHECK(odd.size() == 11);
    CHECK(odd.rfind("mr", 0) == 0);
    CHECK(odd == veth_name("not-hex-at-all"));
    CHECK(veth_name(std::string(64, 'f')).size() <= 15);
    CHECK(bridge_name("1234567890abcdef") == "br-1234567890ab");
    CHECK(bridge_name(std::string(64, 'a')).size() == 15);
    CHECK(valid_network_name("front"));
    CHECK(valid_network_name("my_net.v2-a"));
    CHECK_FALSE(valid_network_name(""));
    CHECK_FALSE(valid_network_name("-x"));
    CHECK_FALSE(valid_network_name("a b"));
    CHECK_FALSE(valid_network_name("a/b"));
    CHECK_FALSE(valid_network_name(std::string(65, 'a')));
    CHECK(container_tag("abc") == "minirun:abc");
    CHECK(network_tag("front") == "minirun-net:front");
}

TEST_CASE("network: published port conflicts") {
    CHECK(ports_clash(pm("", 80, 1), pm("", 80, 2)));
    CHECK(ports_clash(pm("127.0.0.1", 80, 1), pm("", 80, 2)));
    CHECK(ports_clash(pm("0.0.0.0", 80, 1), pm("10.0.0.1", 80, 2)));
    CHECK_FALSE(ports_clash(pm("127.0.0.1", 80, 1), pm("127.0.0.2", 80, 2)));
    CHECK_FALSE(ports_clash(pm("", 80, 1, "udp"), pm("", 80, 2)));
    CHECK_FALSE(ports_clash(pm("", 81, 1), pm("", 80, 2)));
    CHECK_FALSE(ports_clash(pm("", 0, 1), pm("", 0, 2)));  // random ports are resolved later

    std::vector<Published> existing = {{"abc0123456789999", "web", pm("", 8080, 80)},
                                            {"def0123456789999", "", pm("", 5353, 53, "udp")}};
    CHECK_NOTHROW(check_port_conflicts({pm("", 8081, 80), pm("", 5353, 53)}, existing));
    CHECK_THROWS_WITH_AS(check_port_conflicts({pm("", 8080, 80)}, existing),
                         "port 8080 is already published by container web", Error);
    CHECK_THROWS_WITH_AS(check_port_conflicts({pm("127.0.0.1", 5353, 53, "udp")}, existing),
                         "port 5353/udp is already published by container def012345678", Error);
    CHECK_THROWS_WITH_AS(check_port_conflicts({pm("", 9000, 1), pm("", 9000, 2)}, {}),
                         "port 9000 is published twice", Error);
}

TEST_CASE("network: port ranges as EXPOSE writes them") {
    auto r = parse_port_range("8000-8010/TCP");
    REQUIRE(r);
    CHECK(r->first == 8000);
    CHECK(r->last == 8010);
    CHECK(r->protocol == "tcp");
    r = parse_port_range("53/udp");
    REQUIRE(r);
    CHECK((r->first == 53 && r->last == 53 && r->protocol == "udp"));
    r = parse_port_range("080");
    REQUIRE(r);
    CHECK((r->first == 80 && r->protocol == "tcp"));
    for (const char* bad : {"", "x", "70000", "80/icmp", "80/", "1-x", "-5", "9-3", "80/tcp/x", "1-2-3"})
        CHECK_MESSAGE(!parse_port_range(bad), bad);
}

TEST_CASE("network: /etc/hosts rendering") {
    const std::string head =
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"
        "ff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n";
    CHECK(render_hosts(std::nullopt, {}) == head);
    HostEntry self{"172.18.0.2", {"0123456789ab", "web", "web"}};
    std::vector<HostEntry> peers = {{"172.18.0.3", {"db", "ba9876543210"}}, {"", {"ghost"}}, {"172.18.0.4", {}}};
    CHECK(render_hosts(self, peers) == head + "172.18.0.2\t0123456789ab web\n172.18.0.3\tdb ba9876543210\n");
}

TEST_CASE("network: resolv.conf as Docker rewrites it") {
    CHECK(rewrite_resolv_conf("nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch example.com\n") ==
          "options edns0 trust-ad\nsearch example.com\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n");
    CHECK(rewrite_resolv_conf("# generated\nnameserver 10.0.0.2\nnameserver 127.0.1.1\nnameserver ::1\n"
                                   "nameserver 2001:4860:4860::8888\nnameserver 1.1.1.1") ==
          "# generated\nnameserver 10.0.0.2\nnameserver 1.1.1.1\n");
    CHECK(rewrite_resolv_conf("") == "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
    CHECK(rewrite_resolv_conf("  nameserver\t127.0.0.1\n") == "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
    CHECK(is_systemd_resolved_stub("# stub\nnameserver 127.0.0.53\noptions edns0\n"));
    CHECK_FALSE(is_systemd_resolved_stub("nameserver 127.0.0.53\nnameserver 10.0.0.1\n"));
    CHECK_FALSE(is_systemd_resolved_stub("search x\n"));
    std::string host = Networks::resolv_conf();
    CHECK(host.find("nameserver ") != std::string::npos);
    CHECK(host.find("nameserver 127.") == std::string::npos);
}

TEST_CASE("network: iptables-save parsing and restore scripts") {
    CHECK(split_rule("-A X -m comment --comment \"minirun:a b\" -j DROP") ==
          std::vector<std::string>{"-A", "X", "-m", "comment", "--comment", "minirun:a b", "-j", "DROP"});
    CHECK(split_rule(R"(-A X --comment "q\"x")") == std::vector<std::string>{"-A", "X", "--comment", "q\"x"});
    CHECK(rule_comment("-A PREROUTING -m comment --comment minirun -j MINIRUN-DNAT") == "minirun");
    CHECK(rule_comment("-A X -j DROP").empty());

    const std::string save =
        "# Generated by iptables-save\n*nat\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"
        ":MINIRUN-DNAT - [0:0]\n"
        "-A PREROUTING -m addrtype --dst-type LOCAL -m comment --comment minirun -j MINIRUN-DNAT\n"
        "-A MINIRUN-DNAT -p tcp -m tcp --dport 8080 -m comment --comment \"minirun:abc\" -j DNAT --to-destination "
        "172.18.0.2:80\n"
        "-A MINIRUN-DNAT -p tcp -m tcp --dport 8081 -m comment --comment \"minirun:abcd\" -j DNAT --to-destination "
        "172.18.0.3:80\n"
        "COMMIT\n*filter\n:FORWARD ACCEPT [0:0]\n-A FORWARD -j DOCKER-USER\nCOMMIT\n";
    auto t = parse_save(save);
    REQUIRE(t.count("nat"));
    CHECK(t["nat"].chains.count("MINIRUN-DNAT"));
    CHECK(t["nat"].rules.size() == 3);
    CHECK(t["filter"].rules.size() == 1);

    // Deleting one container's rules touches exactly them.
    RuleChange del;
    del.drop_tags = {"minirun:abc"};
    CHECK(build_restore_script(save, del) ==
          "*nat\n-D MINIRUN-DNAT -p tcp -m tcp --dport 8080 -m comment --comment \"minirun:abc\" -j DNAT "
          "--to-destination 172.18.0.2:80\nCOMMIT\n");
    // Re-adding a rule that is there (spelled as we write it, saved as iptables prints it)
    // keeps it: nothing to run. A different one replaces it.
    RuleChange same;
    same.drop_tags = {"minirun:abc"};
    same.add["nat"] = {"-A MINIRUN-DNAT -p tcp -m comment --comment \"minirun:abc\" -m tcp --dport 8080 -j DNAT "
                       "--to-destination 172.18.0.2:80"};
    CHECK(build_restore_script(save, same).empty());
    same.add["nat"] = {"-A MINIRUN-DNAT -p tcp -m tcp --dport 8080 -m comment --comment \"minirun:abc\" -j DNAT "
                       "--to-destination 172.18.0.9:80"};
    std::string changed = build_restore_script(save, same);
    CHECK(changed.find("-D MINIRUN-DNAT") != std::string::npos);
    CHECK(changed.find("172.18.0.9:80") != std::string::npos);
    RuleChange none;
    none.drop_tags = {"minirun:zzz"};
    CHECK(build_restore_script(save, none).empty());

    // The base: missing chains declared (existing ones never: --noflush would flush them),
    // missing jumps added, present ones left.
    RuleChange base;
    base.ensure_base = true;
    std::string s = build_restore_script(save, base);
    CHECK(s.find(":MINIRUN-DNAT") == std::string::npos);
    CHECK(s.find(":MINIRUN-POSTROUTING - [0:0]") != std::string::npos);
    CHECK(s.find(":MINIRUN-FORWARD - [0:0]") != std::string::npos);
    CHECK(s.find(":MINIRUN-ISOLATION - [0:0]") != std::string::npos);
    CHECK(s.find("*raw\n:MINIRUN-PREROUTING - [0:0]\n-I PREROUTING 1") != std::string::npos);
    CHECK(s.find("-A PREROUTING -m addrtype") == std::string::npos);
    CHECK(s.find("-A OUTPUT -m addrtype --dst-type LOCAL -m comment --comment minirun -j MINIRUN-DNAT") != std::string::npos);
    CHECK(s.find("-I FORWARD 1 -m comment --comment minirun -j MINIRUN-FORWARD") != std::string::npos);
    CHECK(s.find("-I POSTROUTING 1 -m comment --comment minirun -j MINIRUN-POSTROUTING") != std::string::npos);

    // A network's and a container's rules.
    NetRules n{"front", "br-0123456789ab", parse_subnet("172.18.0.0/16")};
    auto nr = network_rules(n);
    auto joined = [](const std::vector<std::string>& v) {
        std::string o;
        for (const auto& l : v) o += l + "\n";
        return o;
    };
    CHECK(joined(nr["nat"]).find("-A MINIRUN-POSTROUTING -s 172.18.0.0/16 ! -o br-0123456789ab -m comment --comment "
                                 "\"minirun-net:front\" -j MASQUERADE") != std::string::npos);
    CHECK(joined(nr["nat"]).find("-s 127.0.0.0/8 -o br-0123456789ab") != std::string::npos);
    CHECK(joined(nr["raw"]).find("-i br-0123456789ab -d 127.0.0.0/8") != std::string::npos);
    CHECK(nr["filter"].front().rfind("-I MINIRUN-FORWARD 1 ", 0) == 0);  // isolation before the accepts
    auto cr = container_rules(n, "abc", "172.18.0.2", {pm("", 8080, 80), pm("127.0.0.1", 5353, 53, "udp")});
    REQUIRE(cr["nat"].size() == 2);
    CHECK(cr["nat"][0] ==
          "-A MINIRUN-DNAT -p tcp -m tcp --dport 8080 -m comment --comment \"minirun:abc\" -j DNAT --to-destination "
          "172.18.0.2:80");
    CHECK(cr["nat"][1].find("-d 127.0.0.1/32 -p udp -m udp --dport 5353") != std::string::npos);
    CHECK(cr["filter"][0] ==
          "-A MINIRUN-FORWARD -d 172.18.0.2/32 ! -i br-0123456789ab -o br-0123456789ab -p tcp -m tcp --dport 80 -m "
          "comment --comment \"minirun:abc\" -j ACCEPT");
    for (const auto& [table, lines] : cr)
        for (const auto& l : lines) CHECK(rule_comment(l) == "minirun:abc");
}

TEST_CASE("network: state of networks (create, list, inspect, remove)") {
    test::ScratchDir t("net");
    Networks nets(t.p / "networks", NetworkConfig{"10.123.0.0/16"});
    auto all = nets.list();
    REQUIRE(all.size() == 3);
    CHECK(all[0].name == "bridge");
    CHECK(all[0].bridge == "minirun0");
    CHECK(all[0].subnet == "10.123.0.0/16");
    CHECK(all[0].gateway == "10.123.0.1");
    CHECK(all[0].id.size() == 64);
    CHECK(all[1].name == "host");
    CHECK(all[1].driver == "host");
    CHECK(all[2].name == "none");
    CHECK(all[2].driver == "null");
    CHECK(nets.inspect("bridge").id == all[0].id);  // created once, then kept

    auto a = nets.create("front");
    CHECK(a.driver == "bridge");
    CHECK(a.bridge == "br-" + a.id.substr(0, 12));
    CHECK(parse_subnet(a.subnet).prefix >= 16);
    CHECK(a.gateway == format_ipv4(parse_subnet(a.subnet).gateway()));
    CHECK(a.created.size() > 20);
    auto b = nets.create("back", "10.200.0.0/24");
    CHECK(b.subnet == "10.200.0.0/24");
    CHECK(b.gateway == "10.200.0.1");
    auto c = nets.create("other");
    CHECK(c.subnet != a.subnet);
    CHECK_FALSE(overlaps(parse_subnet(a.subnet), parse_subnet(c.subnet)));

    CHECK_THROWS_WITH_AS(nets.create("front"), "network create front: network with name front already exists", Error);
    CHECK_THROWS_WITH_AS(nets.create("x", "10.0.0.0/33"), "network create x: subnet 10.0.0.0/33 is invalid", Error);
    CHECK_THROWS_WITH_AS(nets.create("x", "10.200.0.128/25"), doctest::Contains("overlaps network back"), Error);
    CHECK_THROWS_WITH_AS(nets.create("x", "10.123.5.0/24"), doctest::Contains("overlaps network bridge"), Error);
    CHECK_THROWS_AS(nets.create("bridge"), Error);
    CHECK_THROWS_AS(nets.create("host"), Error);
    CHECK_THROWS_AS(nets.create("bad name"), Error);

    CHECK(nets.inspect("back").id == b.id);
    CHECK(nets.inspect(b.id).name == "back");
    CHECK(nets.inspect(b.id.substr(0, 10)).name == "back");
    CHECK(nets.inspect("host").driver == "host");
    CHECK_THROWS_WITH_AS(nets.inspect("nope"), "no such network: nope", Error);
    CHECK(nets.list().size() == 6);

    CHECK_THROWS_WITH_AS(nets.remove("bridge"), doctest::Contains("pre-defined"), Error);
    CHECK_THROWS_AS(nets.remove("none"), Error);
    CHECK_THROWS_WITH_AS(nets.remove("nope"), "network remove nope: no such network", Error);
    if (::geteuid() != 0) {  // root would touch this namespace's iptables: the integration test covers that
        nets.remove("back");
        CHECK_THROWS_AS(nets.inspect("back"), Error);
        CHECK(nets.list().size() == 5);
        nets.create("back", "10.200.0.0/24");  // the subnet is free again
    }

    // Reads without a namespace: unknown containers get the localhost lines only.
    CHECK(nets.hosts_file("unknown").find("127.0.0.1\tlocalhost") == 0);
    CHECK(nets.hosts_files_for("front").empty());
    CHECK(nets.hosts_files_for("none").empty());
    CHECK_THROWS_AS(nets.hosts_files_for("nope"), Error);
    // host and none need no state.
    CHECK(nets.connect("host", "abc", "x", "", {pm("", 80, 80)}).network == "host");
    CHECK(nets.connect("none", "abc", "x", "", {}).ip.empty());
    CHECK_THROWS_AS(nets.connect("none", "abc", "x", "", {pm("", 80, 80)}), Error);
    CHECK_THROWS_WITH_AS(nets.connect("nope", "abc", "x", "/nonexistent", {}),
                         "connect x to network nope: no such network", Error);
}

TEST_CASE("network: a bad default subnet is reported") {
    test::ScratchDir t("net");
    Networks nets(t.p / "networks", NetworkConfig{"172.17.0.0/33"});
    CHECK_THROWS_WITH_AS(nets.list(), "default network: subnet 172.17.0.0/33 is invalid", Error);
}
