// Compose files: a table of valid and invalid files (tests/fixtures/compose), each invalid
// one naming the error it must give (with line:col) on its first line.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "minirun/common/error.hpp"
#include "minirun/compose/apply.hpp"
#include "minirun/compose/project.hpp"
#include "minirun/engine/run_options.hpp"
#include "scratch_dir.hpp"

using namespace minirun;
using namespace minirun::compose;
namespace stdfs = std::filesystem;

static const stdfs::path kDir = stdfs::path(MINIRUN_SOURCE_DIR) / "tests/fixtures/compose";

TEST_CASE("compose: every invalid file fails with its expected error and location") {
    int checked = 0;
    for (auto& e : stdfs::directory_iterator(kDir / "invalid")) {
        std::ifstream in(e.path());
        std::string first;
        std::getline(in, first);
        REQUIRE_MESSAGE(first.rfind("# expect: ", 0) == 0, e.path().string());
        std::string want = first.substr(10);
        std::string got;
        try {
            load_project(e.path(), {"", {{"HOME", "/root"}}, {}});
        } catch (const Error& err) {
            got = err.what();
        }
        INFO(e.path().filename().string() << ": got \"" << got << "\"");
        CHECK(got.find(want) != std::string::npos);
        CHECK(got.rfind(e.path().string(), 0) == 0);  // the file comes first
        ++checked;
    }
    CHECK(checked >= 15);
}

TEST_CASE("compose: the full file loads with every key resolved") {
    Project p = load_project(kDir / "valid/full.yaml", {"", {{"FROM_ENV", "env-value"}, {"PASSTHRU", "p"}}, {}});
    CHECK(p.name == "shop_front");
    REQUIRE(p.services.size() == 3);
    // dependencies first: db and init before web
    CHECK(p.services.back().name == "web");
    const Service& web = p.services.back();
    CHECK(web.image == "localhost/web:from-dotenv");  // ${TAG:-latest} from .env
    REQUIRE(web.build);
    CHECK(web.build->context == (kDir / "valid/web").string());
    CHECK(web.build->dockerfile == "Containerfile.prod");
    CHECK(web.build->target == "runtime");
    CHECK(web.build->args == std::vector<std::string>{"VERSION=1.2", "FROM_ENV=env-value"});
    CHECK(*web.command == std::vector<std::string>{"python3", "app.py", "--port", "8080"});
    CHECK(*web.entrypoint == std::vector<std::string>{"/bin/sh", "-c"});
    CHECK(web.environment == std::vector<std::string>{"FROM_FILE=yes", "MONGO_URL=mongodb://db:27017/shop", "EMPTY=",
                                                      "FROM_ENV=env-value"});
    CHECK(web.ports == std::vector<std::string>{"8080:8080", "127.0.0.1:9090:9090/udp", "127.0.0.1:8081:80/tcp"});
    CHECK(web.volumes == std::vector<std::string>{"shop_front_data:/var/lib/web", (kDir / "valid/static").string() + ":/srv/static:ro",
                                                  "/var/cache/web", (kDir / "valid/conf").string() + ":/etc/web:ro"});
    CHECK(web.tmpfs == std::vector<std::string>{"/run/web:size=1m"});
    CHECK(web.networks.at("shop_front_front") == std::vector<std::string>{"shop"});
    CHECK(web.networks.count("shared-back") == 1);
    CHECK(web.restart == "unless-stopped");
    REQUIRE(web.depends_on.size() == 2);
    CHECK(web.depends_on[0].condition == "service_healthy");
    CHECK(web.depends_on[1].condition == "service_completed_successfully");
    REQUIRE(web.healthcheck);
    CHECK(web.healthcheck->test == std::vector<std::string>{"CMD-SHELL", "wget -q -O- http://localhost:8080/health || exit 1"});
    CHECK(web.healthcheck->interval_ns == 2'000'000'000);
    CHECK(web.healthcheck->start_period_ns == 90'000'000'000);
    CHECK(web.healthcheck->timeout_ns == 1'000'000'000);
    CHECK(web.healthcheck->retries == 5);
    CHECK(web.labels.at("tier") == "front");
    CHECK(web.log_driver == "json-file");
    CHECK(web.log_options.at("max-size") == "10m");
    CHECK(web.user == "1000:1000");
    CHECK(web.extra_hosts == std::vector<std::string>{"registry.local:10.0.0.5"});
    CHECK(web.mem_limit == "256m");
    CHECK(web.cpus == "0.5");
    CHECK(*web.pids_limit == 100);
    CHECK(web.read_only);
    CHECK(web.init);
    CHECK(*web.stop_grace_period_s == 65);
    const Service& db = p.services.front();
    CHECK(db.environment == std::vector<std::string>{"MONGO_INITDB_DATABASE=shop", "PASSTHRU=p"});
    REQUIRE(db.healthcheck);  // Compose's defaults for what the file leaves out
    CHECK(db.healthcheck->interval_ns == 30'000'000'000);
    CHECK(db.healthcheck->timeout_ns == 30'000'000'000);
    CHECK(db.healthcheck->start_interval_ns == 5'000'000'000);
    CHECK_FALSE(db.healthcheck->start_period_ns);
    CHECK(db.healthcheck->retries == 3);
    CHECK(p.networks.at("back").name == "shared-back");
    CHECK(p.volumes.at("data").name == "shop_front_data");
}

TEST_CASE("compose: -p wins over name:, the default network is PROJECT_default, version warns") {
    auto dir = stdfs::temp_directory_path() / ("compose-unit-" + std::to_string(::getpid()));
    stdfs::create_directories(dir);
    std::ofstream(dir / "compose.yaml") << "version: '3.8'\nname: ignored\nservices:\n  app:\n    image: busybox\n";
    Project p = load_project(find_compose_file(dir), {"Other.Name", {}, {}});
    CHECK(p.name == "othername");
    CHECK(p.services[0].networks.count("othername_default") == 1);
    REQUIRE(p.warnings.size() == 1);
    CHECK(p.warnings[0].find("compose.yaml:1:1: the attribute `version` is obsolete") != std::string::npos);
    stdfs::remove_all(dir);
}

TEST_CASE("compose: profiles leave out services until enabled, by --profile or COMPOSE_PROFILES") {
    auto dir = stdfs::temp_directory_path() / ("compose-profiles-" + std::to_string(::getpid()));
    stdfs::create_directories(dir);
    auto file = dir / "compose.yaml";
    std::ofstream(file) << "services:\n  web:\n    image: busybox\n"
                           "  db:\n    image: busybox\n    profiles: [databases]\n"
                           "  debug:\n    image: busybox\n    profiles: [tools, databases]\n";
    auto names = [](const Project& p) {
        std::string out;
        for (auto& s : p.services) out += (out.empty() ? "" : " ") + s.name;
        return out;
    };
    Project plain = load_project(file, {"p", {}, {}});
    CHECK(names(plain) == "web");
    CHECK(plain.disabled_services.size() == 2);
    CHECK(names(load_project(file, {"p", {}, {"tools"}})) == "web debug");
    CHECK(names(load_project(file, {"p", {{"COMPOSE_PROFILES", "databases"}}, {}})) == "web db debug");
    CHECK(names(load_project(file, {"p", {{"COMPOSE_PROFILES", "nothing,tools"}}, {}})) == "web debug");
    CHECK(names(load_project(file, {"p", {}, {"*"}})) == "web db debug");

    std::ofstream(file) << "services:\n  web:\n    image: busybox\n    depends_on: [db]\n"
                           "  db:\n    image: busybox\n    profiles: [databases]\n";
    std::string err;
    try {
        load_project(file, {"p", {}, {}});
    } catch (const Error& e) {
        err = e.what();
    }
    CHECK(err.find("service web depends on db, which is only in profile databases") != std::string::npos);
    CHECK(names(load_project(file, {"p", {}, {"databases"}})) == "db web");
    stdfs::remove_all(dir);
}

TEST_CASE("compose: YAML merge keys share settings, the service's own keys and earlier maps win") {
    auto dir = stdfs::temp_directory_path() / ("compose-merge-" + std::to_string(::getpid()));
    stdfs::create_directories(dir);
    auto file = dir / "compose.yaml";
    std::ofstream(file) << "x-common: &common\n  restart: unless-stopped\n  labels: {tier: data}\n"
                           "x-more: &more\n  restart: always\n  user: \"7\"\n"
                           "services:\n  a:\n    <<: [*common, *more]\n    image: busybox\n"
                           "  b:\n    <<: *common\n    image: busybox\n    restart: on-failure\n";
    Project p = load_project(file, {"p", {}, {}});
    REQUIRE(p.services.size() == 2);
    auto& a = p.services[0].name == "a" ? p.services[0] : p.services[1];
    auto& b = p.services[0].name == "a" ? p.services[1] : p.services[0];
    CHECK(a.restart == "unless-stopped");  // the earlier map in the list wins
    CHECK(a.user == "7");
    CHECK(a.labels.at("tier") == "data");
    CHECK(b.restart == "on-failure");  // the service's own key wins
    CHECK(b.labels.at("tier") == "data");
    stdfs::remove_all(dir);
}

TEST_CASE("compose: durations") {
    CHECK(parse_duration_seconds("1m30s") == doctest::Approx(90));
    CHECK(parse_duration_seconds("500ms") == doctest::Approx(0.5));
    CHECK(parse_duration_seconds("10") == doctest::Approx(10));
    CHECK_THROWS_AS(parse_duration_seconds("5 seconds"), Error);
    CHECK_THROWS_AS(parse_duration_seconds("3d"), Error);
}

TEST_CASE("compose: resource keys become the run flags they stand for") {
    test::ScratchDir dir("compose-resources");
    std::ofstream(dir.p / "compose.yaml") << R"(services:
  db:
    image: busybox
    ulimits:
      nproc: 65535
      nofile: {soft: 20000, hard: 40000}
    sysctls: {net.core.somaxconn: 1024}
    shm_size: 256m
    cpuset: "0"
    cpu_shares: 512
    mem_limit: 1g
    mem_reservation: 512m
    memswap_limit: 2g
    oom_score_adj: 200
    group_add: [audio, "1234"]
    devices:
      - /dev/fuse
      - {source: /dev/net/tun, target: /dev/tun, permissions: rw}
    device_cgroup_rules: ["c 10:* rwm"]
    dns: 10.0.0.53
    dns_search: [corp.example]
    dns_opt: [ndots:2]
)";
    auto p = load_project(dir.p / "compose.yaml", {"", {{"HOME", "/root"}}, {}});
    const Service& s = p.services.at(0);
    CHECK(s.ulimits == std::vector<std::string>{"nproc=65535", "nofile=20000:40000"});  // file order
    CHECK(s.sysctls == std::vector<std::string>{"net.core.somaxconn=1024"});
    CHECK(s.devices == std::vector<std::string>{"/dev/fuse", "/dev/net/tun:/dev/tun:rw"});
    CHECK(s.group_add == std::vector<std::string>{"audio", "1234"});
    CHECK(s.dns == std::vector<std::string>{"10.0.0.53"});
    auto r = run_request(p, s);
    CHECK(r.shm_size == "256m");
    CHECK(r.cpuset_cpus == "0");
    CHECK(*r.cpu_shares == 512);
    CHECK(r.memory_reservation == "512m");
    CHECK(r.memory_swap == "2g");
    CHECK(*r.oom_score_adj == 200);
    CHECK(r.device_cgroup_rules == std::vector<std::string>{"c 10:* rwm"});
    CHECK(r.dns_search == std::vector<std::string>{"corp.example"});
    CHECK(r.dns_options == std::vector<std::string>{"ndots:2"});
    auto opt = engine::check_run_options(r, 2);  // every value passes the engine's own checks
    CHECK(opt.rlimits.size() == 2);
}
