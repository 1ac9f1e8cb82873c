// Container records on disk: what `inspect` shows and what a later minirun reads back.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "minirun/common/fs.hpp"
#include "minirun/engine/container_store.hpp"

using namespace minirun;
using namespace minirun::engine;
namespace stdfs = std::filesystem;

namespace {

struct ScratchStore {
    stdfs::path root = stdfs::temp_directory_path() / ("minirun-records-" + fs::unique_suffix());
    ContainerStore store{root};
    ~ScratchStore() {
        std::error_code ec;
        stdfs::remove_all(root, ec);
    }
};

network::PortMapping port(std::string ip, uint16_t host, uint16_t ctr, std::string proto = "tcp") {
    return network::PortMapping{std::move(ip), host, ctr, std::move(proto)};
}

}  // namespace

TEST_CASE("container record: published ports in Docker's shape, typed when read back") {
    ScratchStore s;
    ContainerRecord r;
    r.id = ContainerStore::new_id();
    r.name = "web";
    r.ports = {port("", 8080, 80), port("127.0.0.1", 5353, 53, "udp"), port("", 0, 443)};
    s.store.save(r, true);

    auto j = nlohmann::json::parse(record_to_json(s.store.load(r.id)));
    CHECK(j["HostConfig"]["PortBindings"]["80/tcp"] == nlohmann::json::parse(R"([{"HostIp":"","HostPort":"8080"}])"));
    CHECK(j["HostConfig"]["PortBindings"]["443/tcp"][0]["HostPort"] == "");  // any host port
    CHECK(j["NetworkSettings"]["Ports"]["80/tcp"][0]["HostIp"] == "0.0.0.0");
    CHECK(j["NetworkSettings"]["Ports"]["53/udp"][0]["HostIp"] == "127.0.0.1");

    auto back = s.store.load(r.id).ports;
    REQUIRE(back.size() == 3);
    for (const auto& p : r.ports) CHECK(std::find(back.begin(), back.end(), p) != back.end());
}

TEST_CASE("container record: ports of records written as display strings still read") {
    ScratchStore s;
    ContainerRecord r;
    r.id = ContainerStore::new_id();
    r.name = "old";
    s.store.save(r, true);
    auto file = s.store.dir(r.id) / "container.json";
    auto j = nlohmann::json::parse(fs::read_file(file, 1 << 20));
    j["HostConfig"]["PortBindings"] = {"0.0.0.0:8080->80/tcp", "127.0.0.1:5353->53/udp"};
    fs::write_file_atomic(file, j.dump());
    auto back = s.store.load(r.id).ports;
    REQUIRE(back.size() == 2);
    CHECK(back[0] == port("", 8080, 80));
    CHECK(back[1] == port("127.0.0.1", 5353, 53, "udp"));
}

TEST_CASE("container record: further networks kept in order with their aliases, addresses and --ip") {
    ScratchStore s;
    ContainerRecord r;
    r.id = ContainerStore::new_id();
    r.name = "api";
    r.network = "front";
    r.extra_networks = {{"back", {"store", "db-client"}, "10.9.0.7", "10.9.0.7", "02:42:0a:09:00:07"},
                        {"audit", {}, "", "", ""}};
    s.store.save(r, true);
    ContainerRecord back = s.store.load(r.id);
    REQUIRE(back.extra_networks.size() == 2);
    CHECK(back.extra_networks[0].network == "back");
    CHECK(back.extra_networks[0].aliases == std::vector<std::string>{"store", "db-client"});
    CHECK(back.extra_networks[0].requested_ip == "10.9.0.7");
    CHECK(back.extra_networks[0].mac == "02:42:0a:09:00:07");
    CHECK(back.extra_networks[1].network == "audit");
    // ps's NETWORKS and --filter network= see all of them, sorted as Docker lists them.
    CHECK(network_names(back) == std::vector<std::string>{"audit", "back", "front"});
    // A record without the key (written before several networks) reads as one network.
    ContainerRecord plain;
    plain.id = ContainerStore::new_id();
    s.store.save(plain, true);
    CHECK(s.store.load(plain.id).extra_networks.empty());
    CHECK(network_names(s.store.load(plain.id)) == std::vector<std::string>{"bridge"});
}
