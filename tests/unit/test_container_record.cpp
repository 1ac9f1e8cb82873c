// Container records on disk: what `inspect` shows and what a later minirun reads back.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "minirun/common/error.hpp"
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

namespace {

ContainerRecord created(const ContainerStore& store, const std::string& name, bool auto_remove = false) {
    ContainerRecord r;
    r.id = ContainerStore::new_id();
    r.auto_remove = auto_remove;
    if (name.empty()) {
        r.name = store.claim_free_name(r.id);
    } else {
        store.claim_name(name, r.id);
        r.name = name;
    }
    store.save(r, true);
    return r;
}

// Ages an index entry as if it were made `seconds` ago (the reservation grace is by age).
void age_entry(const stdfs::path& storage, const std::string& name, int seconds) {
    timespec t[2];
    ::clock_gettime(CLOCK_REALTIME, &t[0]);
    t[0].tv_sec -= seconds;
    t[1] = t[0];
    REQUIRE(::utimensat(AT_FDCWD, (storage / "container-index" / "names" / name).c_str(), t, AT_SYMLINK_NOFOLLOW) == 0);
}

}  // namespace

TEST_CASE("container names: claimed once, found without reading other records, freed by rm") {
    ScratchStore s;
    ContainerRecord web = created(s.store, "web");
    ContainerRecord other = created(s.store, "");
    CHECK(other.name.find('_') != std::string::npos);
    CHECK(s.store.find("web").id == web.id);
    CHECK(s.store.find(web.id).name == "web");
    CHECK(s.store.find(other.name).id == other.id);
    // A second claim of a held name names the holder.
    CHECK_THROWS_WITH_AS(s.store.claim_name("web", ContainerStore::new_id()),
                         doctest::Contains(("the container name \"web\" is already in use by container " + web.id.substr(0, 12)).c_str()),
                         Error);
    CHECK_THROWS_AS(s.store.check_name_free("web"), Error);
    // Even an old entry is held while its record says so.
    age_entry(s.root, "web", 3600);
    CHECK_THROWS_AS(s.store.claim_name("web", ContainerStore::new_id()), Error);
    s.store.remove(web.id);
    CHECK_NOTHROW(s.store.check_name_free("web"));
    CHECK_THROWS_WITH_AS(s.store.find("web"), "no such container: web", Error);
    ContainerRecord again = created(s.store, "web");
    CHECK(s.store.find("web").id == again.id);
}

TEST_CASE("container names: a reservation without its record is held while young, reclaimed when stale") {
    ScratchStore s;
    std::string ghost = ContainerStore::new_id();
    s.store.claim_name("db", ghost);  // a create between its claim and its first write
    CHECK_THROWS_AS(s.store.claim_name("db", ContainerStore::new_id()), Error);
    age_entry(s.root, "db", 3600);  // that create died long ago
    std::string id = ContainerStore::new_id();
    CHECK_NOTHROW(s.store.claim_name("db", id));
    CHECK_THROWS_WITH_AS(s.store.claim_name("db", ghost), doctest::Contains(id.substr(0, 12).c_str()), Error);
    // Releasing under another id leaves the entry alone.
    s.store.release_name("db", ghost);
    CHECK_THROWS_AS(s.store.check_name_free("db"), Error);
    s.store.release_name("db", id);
    CHECK_NOTHROW(s.store.check_name_free("db"));
}

TEST_CASE("container names: a store from before the index is indexed on first use") {
    ScratchStore s;
    ContainerRecord a, b;
    a.id = ContainerStore::new_id(), a.name = "alpha", a.auto_remove = true;
    b.id = ContainerStore::new_id(), b.name = "beta";
    // Records written the old way: no index next to them.
    s.store.save(a, true);
    s.store.save(b, true);
    stdfs::remove_all(s.root / "container-index");
    ContainerStore reopened(s.root);
    CHECK(reopened.find("beta").id == b.id);
    CHECK_THROWS_AS(reopened.claim_name("alpha", ContainerStore::new_id()), Error);
    auto rm = reopened.auto_remove_records();
    REQUIRE(rm.size() == 1);
    CHECK(rm[0].id == a.id);
    reopened.remove(a.id);
    CHECK(reopened.auto_remove_records().empty());
}

TEST_CASE("container lookup: full id, name, then a unique id prefix") {
    ScratchStore s;
    auto make = [&](const std::string& id, const std::string& name) {
        ContainerRecord r;
        r.id = id;
        r.name = name;
        s.store.claim_name(name, id);
        s.store.save(r, true);
        return r;
    };
    ContainerRecord one = make("ab" + std::string(62, '1'), "one");
    ContainerRecord two = make("ac" + std::string(62, '2'), "two");
    CHECK(s.store.find("ab1").id == one.id);
    CHECK(s.store.find("ac").id == two.id);
    CHECK_THROWS_WITH_AS(s.store.find("a"), doctest::Contains("ambiguous"), Error);
    CHECK_THROWS_WITH_AS(s.store.find("nosuch"), "no such container: nosuch", Error);
    CHECK_THROWS_WITH_AS(s.store.find("../one"), "no such container: ../one", Error);
    // A name that looks like another container's id prefix: the name wins, as in Docker.
    ContainerRecord named = make("ff" + std::string(62, '3'), "ab1");
    CHECK(s.store.find("ab1").id == named.id);
}
