// Docker's resource and process flags for `run`: each one's parse, its rule and error, and
// where it lands in config.json (the runtime applies it; test_run_flags.sh checks inside).
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "minirun/common/error.hpp"
#include "minirun/engine/run_options.hpp"
#include "minirun/engine/spec_builder.hpp"
#include "minirun/network/hosts_files.hpp"

using namespace minirun;
using namespace minirun::engine;

namespace {
std::string error_of(const RunRequest& r) {
    try {
        check_run_options(r, 2);
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::InvalidArgument);
        return e.what();
    }
    return "";
}
}  // namespace

TEST_CASE("run flags: --ulimit, --sysctl, --device, --device-cgroup-rule parse as Docker's") {
    auto n = parse_ulimit("nofile=1024:2048");
    CHECK(n.type == "RLIMIT_NOFILE");
    CHECK(n.soft == 1024);
    CHECK(n.hard == 2048);
    CHECK(parse_ulimit("core=-1").soft == UINT64_MAX);
    CHECK(parse_ulimit("nproc=50").hard == 50);
    CHECK_THROWS_WITH_AS(parse_ulimit("nofile=20:10"), "invalid --ulimit \"nofile=20:10\": the soft limit is above the hard limit", Error);
    CHECK_THROWS_WITH_AS(parse_ulimit("files=1"), "invalid --ulimit \"files=1\": unknown limit \"files\"", Error);
    CHECK_THROWS_AS(parse_ulimit("nofile=x"), Error);

    CHECK(parse_sysctl("net.ipv4.ip_forward=1", "bridge") == std::pair<std::string, std::string>{"net.ipv4.ip_forward", "1"});
    CHECK(parse_sysctl("net/core/somaxconn=512", "bridge").first == "net.core.somaxconn");
    CHECK(parse_sysctl("kernel.shmmax=1000", "host").first == "kernel.shmmax");
    CHECK(parse_sysctl("fs.mqueue.msg_max=20", "none").second == "20");
    CHECK_THROWS_WITH_AS(parse_sysctl("net.ipv4.ip_forward=1", "host"),
                         "invalid --sysctl \"net.ipv4.ip_forward=1\": net.* cannot be set on the host's network (--network host)",
                         Error);
    CHECK_THROWS_WITH_AS(parse_sysctl("vm.swappiness=1", "bridge"), doctest::Contains("not a namespaced sysctl"), Error);
    CHECK_THROWS_AS(parse_sysctl("kernel.hostname=x", "bridge"), Error);

    auto d = parse_device_flag("/dev/fuse");
    CHECK(d.container_path == "/dev/fuse");
    CHECK(d.permissions == "rwm");
    d = parse_device_flag("/dev/sda:/dev/xvda:r");
    CHECK(d.host_path == "/dev/sda");
    CHECK(d.container_path == "/dev/xvda");
    CHECK(d.permissions == "r");
    CHECK(parse_device_flag("/dev/null:rw").permissions == "rw");
    CHECK(parse_device_flag("/dev/null:rw").container_path == "/dev/null");
    CHECK_THROWS_WITH_AS(parse_device_flag("dev/null"), doctest::Contains("the host device must be an absolute path"), Error);
    CHECK_THROWS_WITH_AS(parse_device_flag("/dev/a:/dev/b:rwx"), doctest::Contains("permissions are r, w and m"), Error);

    auto rule = parse_device_cgroup_rule("c 13:* rwm");
    CHECK(rule.allow);
    CHECK(rule.type == "c");
    CHECK(rule.major == 13);
    CHECK_FALSE(rule.minor.has_value());
    CHECK(rule.access == "rwm");
    CHECK(parse_device_cgroup_rule("a *:* r").type == "a");
    CHECK_THROWS_AS(parse_device_cgroup_rule("x 1:1 r"), Error);
    CHECK_THROWS_AS(parse_device_cgroup_rule("c 1 r"), Error);
    CHECK_THROWS_AS(parse_device_cgroup_rule("c 1:1 rq"), Error);
}

TEST_CASE("run flags: resources checked before anything is made") {
    RunRequest r;
    r.image = "busybox";
    r.memory = "64m";
    r.memory_swap = "128m";
    r.memory_reservation = "32m";
    r.shm_size = "1m";
    r.cpuset_cpus = "0-1";
    r.cpu_shares = 512;
    r.oom_score_adj = 500;
    r.ulimits = {"nofile=100:200", "nofile=300:400"};  // the last one wins
    r.sysctls = {"net.core.somaxconn=1024"};
    auto o = check_run_options(r, 2);
    CHECK(*o.memory_swap_bytes == 128 << 20);
    CHECK(*o.memory_reservation_bytes == 32 << 20);
    CHECK(*o.shm_bytes == 1 << 20);
    CHECK(o.cpuset_cpus == "0-1");
    CHECK(*o.cpu_shares == 512);
    CHECK(*o.oom_score_adj == 500);
    REQUIRE(o.rlimits.size() == 1);
    CHECK(o.rlimits[0].soft == 300);
    CHECK(o.sysctls.at("net.core.somaxconn") == "1024");

    auto bad = [&](auto change) {
        RunRequest b;
        b.image = "busybox";
        change(b);
        return error_of(b);
    };
    CHECK(bad([](RunRequest& b) { b.memory_swap = "1g"; }) == "invalid --memory-swap \"1g\": it needs --memory too");
    CHECK(bad([](RunRequest& b) { b.memory = "64m", b.memory_swap = "32m"; }) ==
          "invalid --memory-swap \"32m\": it is memory plus swap, so at least --memory");
    CHECK(bad([](RunRequest& b) { b.memory = "64m", b.memory_swap = "-1"; }).empty());
    CHECK(bad([](RunRequest& b) { b.memory = "64m", b.memory_reservation = "128m"; }) ==
          "invalid --memory-reservation \"128m\": it must be below the --memory limit");
    CHECK(bad([](RunRequest& b) { b.cpuset_cpus = "0-7"; }) ==
          "invalid --cpuset-cpus \"0-7\": requested CPUs are not available - available: 0-1");
    CHECK(bad([](RunRequest& b) { b.cpuset_cpus = "1-0"; }) == "invalid --cpuset-cpus \"1-0\": expected a list like 0-2,4");
    CHECK(bad([](RunRequest& b) { b.cpuset_cpus = "0,,1"; }) != "");
    CHECK(bad([](RunRequest& b) { b.cpu_shares = 1; }) == "invalid --cpu-shares \"1\": the range is 2 to 262144");
    CHECK(bad([](RunRequest& b) { b.oom_score_adj = 1001; }) == "invalid --oom-score-adj \"1001\": the range is -1000 to 1000");
    CHECK(bad([](RunRequest& b) { b.shm_size = "0"; }) == "invalid --shm-size \"0\": the size must be greater than 0");
    CHECK(bad([](RunRequest& b) { b.dns = {"dns.example"}; }) == "invalid --dns \"dns.example\": expected an IP address");
    CHECK(bad([](RunRequest& b) { b.dns = {"10.0.0.53", "fd00::53"}; }).empty());
    CHECK(bad([](RunRequest& b) { b.network = "host", b.sysctls = {"net.ipv4.ip_forward=1"}; }) != "");
}

TEST_CASE("run flags: where they land in config.json") {
    RunSettings s;
    s.args = {"sh"};
    s.memory = 64 << 20;
    s.memory_swap = -1;
    s.memory_reservation = 32 << 20;
    s.cpu_shares = 512;
    s.cpuset_cpus = "0";
    s.shm_bytes = 1 << 20;
    s.oom_score_adj = 300;
    s.sysctl = {{"net.core.somaxconn", "1024"}};
    s.rlimits = {{"RLIMIT_NOFILE", 300, 400}};
    s.devices = {{"/dev/mynull", "c", 1, 3, 0666, 0, 0}};
    s.device_rules = {{true, "c", 1, 3, "rw"}};
    auto j = nlohmann::json::parse(build_config_json(s));
    CHECK(j["linux"]["resources"]["memory"]["limit"] == 64 << 20);
    CHECK(j["linux"]["resources"]["memory"]["swap"] == -1);
    CHECK(j["linux"]["resources"]["memory"]["reservation"] == 32 << 20);
    CHECK(j["linux"]["resources"]["cpu"]["shares"] == 512);
    CHECK(j["linux"]["resources"]["cpu"]["cpus"] == "0");
    CHECK(j["linux"]["sysctl"]["net.core.somaxconn"] == "1024");
    CHECK(j["process"]["oomScoreAdj"] == 300);
    CHECK(j["process"]["rlimits"][0]["type"] == "RLIMIT_NOFILE");
    CHECK(j["linux"]["devices"][0]["path"] == "/dev/mynull");
    auto rules = j["linux"]["resources"]["devices"];
    REQUIRE(rules.size() == 2);
    CHECK(rules[0]["allow"] == false);  // deny all first, then the device's own rule
    CHECK(rules[1]["major"] == 1);
    CHECK(rules[1]["access"] == "rw");
    bool shm = false;
    for (auto& m : j["mounts"])
        if (m["destination"] == "/dev/shm") {
            shm = true;
            CHECK(std::find(m["options"].begin(), m["options"].end(), "size=1048576") != m["options"].end());
        }
    CHECK(shm);
}

TEST_CASE("run flags: --dns, --dns-search and --dns-option rebuild resolv.conf as Docker does") {
    std::string host = "# from the host\nnameserver 10.0.0.2\nsearch corp.example\noptions ndots:1\n";
    CHECK(network::override_resolv_conf(host, {}, {}, {}) == host);
    CHECK(network::override_resolv_conf(host, {"1.1.1.1", "9.9.9.9"}, {}, {}) ==
          "search corp.example\nnameserver 1.1.1.1\nnameserver 9.9.9.9\noptions ndots:1\n");
    CHECK(network::override_resolv_conf(host, {}, {"a.example", "b.example"}, {"ndots:3", "timeout:1"}) ==
          "search a.example b.example\nnameserver 10.0.0.2\noptions ndots:3 timeout:1\n");
    CHECK(network::override_resolv_conf("domain x\nsearch y\nnameserver 1.2.3.4\n", {}, {"."}, {}) ==
          "nameserver 1.2.3.4\n");  // "." clears the search list
}
