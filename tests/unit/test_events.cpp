// The event journal: append and read back in a window, rotation past its size, Docker's
// filter combination and --since/--until forms.
#include <doctest/doctest.h>

#include <fstream>

#include "minirun/common/error.hpp"
#include "minirun/common/events.hpp"
#include "scratch_dir.hpp"

using namespace minirun;
using namespace minirun::events;

TEST_CASE("events: recorded, read back in their window, across a rotation") {
    test::ScratchDir dir("events");
    record(dir.p, {"container", "create", "abc", {{"name", "web"}}, 100});
    record(dir.p, {"container", "start", "abc", {{"name", "web"}}, 200});
    // Past its size the journal moves to events.jsonl.1 and both are read.
    std::ofstream(dir.p / "events.jsonl", std::ios::app) << std::string(9 << 20, 'x') << "\n";
    record(dir.p, {"container", "die", "abc", {{"exitCode", "3"}}, 300});
    CHECK(std::filesystem::exists(dir.p / "events.jsonl.1"));
    auto all = read(dir.p, 0, 1000);
    REQUIRE(all.size() == 3);
    CHECK(all[2].attributes.at("exitCode") == "3");
    CHECK(read(dir.p, 150, 300).size() == 1);  // since inclusive, until exclusive
    CHECK(docker_line(all[0]) == "1970-01-01T00:00:00.000000100Z container create abc (name=web)");
}

TEST_CASE("events: filters combine as Docker's") {
    Event die{"container", "die", "0123456789ab", {{"name", "web"}, {"image", "busybox"}, {"tier", "front"}}, 1};
    Event vol{"volume", "create", "data", {}, 2};
    auto m = [](std::vector<std::string> f, const Event& e) { return matches(parse_filters(f), e); };
    CHECK(m({"event=die", "event=start"}, die));
    CHECK_FALSE(m({"event=die", "type=volume"}, die));
    CHECK(m({"container=web"}, die));
    CHECK(m({"container=0123"}, die));
    CHECK_FALSE(m({"container=01"}, die));  // ids need 4 characters at least
    CHECK(m({"image=busybox"}, die));
    CHECK(m({"label=tier"}, die));
    CHECK(m({"label=tier=front"}, die));
    CHECK_FALSE(m({"label=tier=back"}, die));
    CHECK(m({"volume=data"}, vol));
    CHECK_FALSE(m({"volume=data"}, die));
    CHECK_THROWS_WITH_AS(parse_filters({"colour=red"}),
                         "invalid filter \"colour=red\": use type, event, container, image, label, volume or network=VALUE",
                         Error);
}

TEST_CASE("events: --since and --until forms") {
    CHECK(parse_event_time("1796645085", "--since") == 1796645085LL * 1000000000);
    CHECK(parse_event_time("1796645085.5", "--since") == 1796645085LL * 1000000000 + 500000000);
    CHECK(parse_event_time("2026-12-07T12:04:45Z", "--since") == 1796645085LL * 1000000000);
    CHECK(parse_event_time("10m", "--since") > 0);
    CHECK_THROWS_WITH_AS(parse_event_time("yesterday", "--since"),
                         "invalid --since \"yesterday\": use an RFC 3339 time, Unix seconds or a duration (10m)", Error);
    CHECK_THROWS_AS(parse_event_time("1.2.3", "--until"), Error);
}
