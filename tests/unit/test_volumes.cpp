// Named volumes: metadata, the name rule that keeps them under the store, in-use refusal
// and prune's anonymous-only default.
#include <doctest/doctest.h>

#include <fstream>

#include "minirun/common/error.hpp"
#include "minirun/engine/volumes.hpp"
#include "scratch_dir.hpp"

using namespace minirun;
using namespace minirun::engine;
namespace stdfs = std::filesystem;

TEST_CASE("volumes: create, find, list, and create of an existing name returns it") {
    test::ScratchDir dir("volumes");
    VolumeStore store(dir.p);
    auto v = store.create("webdata", {{"tier", "front"}});
    CHECK(v.name == "webdata");
    CHECK(v.mountpoint == (dir.p / "volumes/webdata/_data").string());
    CHECK(stdfs::is_directory(v.mountpoint));
    std::ofstream(v.mountpoint + "/keep") << "x";
    auto again = store.create("webdata", {{"other", "1"}});  // Docker: the existing one, untouched
    CHECK(again.labels == std::map<std::string, std::string>{{"tier", "front"}});
    CHECK(stdfs::exists(v.mountpoint + "/keep"));
    auto random = store.create("");
    CHECK(random.name.size() == 64);
    auto found = store.find("webdata");
    REQUIRE(found);
    CHECK(found->labels.at("tier") == "front");
    CHECK(!found->created.empty());
    CHECK(store.list().size() == 2);
    CHECK_FALSE(store.find("nothere"));
    CHECK_THROWS_WITH_AS(store.get("nothere"), "no such volume: nothere", Error);
    // A volume made before metadata existed (only _data) still lists, dated by its directory.
    stdfs::create_directories(dir.p / "volumes/old/_data");
    auto old = store.find("old");
    REQUIRE(old);
    CHECK(!old->created.empty());
    CHECK_FALSE(old->anonymous);
}

TEST_CASE("volumes: names cannot leave the store") {
    test::ScratchDir dir("volumes");
    VolumeStore store(dir.p);
    for (const char* bad : {"../escape", "a/b", ".hidden", "-x", "/abs"}) {
        CHECK_THROWS_AS(store.create(bad), Error);
        CHECK_FALSE(store.find(bad));
    }
    CHECK_FALSE(stdfs::exists(dir.p / "escape"));
    CHECK_THROWS_WITH_AS(store.create("x", {}, {{"size", "1g"}}),
                         "volume x: unknown option \"size\" (the local driver takes type, device, o)", Error);
}

TEST_CASE("volumes: rm refuses a volume in use, prune takes unused anonymous ones, or all with -a") {
    test::ScratchDir dir("volumes");
    VolumeStore store(dir.p);
    store.create("named");
    store.create("busy");
    store.ensure("abc123-0", true);  // what -v /path makes
    store.ensure("abc123-1", true);
    ContainerRecord user;
    user.id = "f00dcafe0000deadbeef";
    user.volumes = {"busy", "abc123-1"};
    std::vector<ContainerRecord> containers{user};
    try {
        store.remove("busy", containers);
        FAIL("removed a volume in use");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::Conflict);
        CHECK(std::string(e.what()) == "remove busy: volume is in use - [f00dcafe0000]");
    }
    uint64_t bytes = 0;
    std::ofstream(store.get("abc123-0").mountpoint + "/f") << std::string(1000, 'x');
    CHECK(store.prune(containers, false, bytes) == std::vector<std::string>{"abc123-0"});
    CHECK(bytes == 1000);
    CHECK(store.prune(containers, true, bytes) == std::vector<std::string>{"named"});
    CHECK(store.list().size() == 2);  // busy and abc123-1, both in use
    store.remove("busy", containers, true);
    CHECK_FALSE(store.find("busy"));
    CHECK(stdfs::directory_iterator(dir.p / "volumes") != stdfs::directory_iterator());
    for (auto& e : stdfs::directory_iterator(dir.p / "volumes"))
        CHECK(e.path().filename().string().rfind(".removing-", 0) != 0);  // nothing half-removed left
}
