// ps and images --filter: Docker's rules (one key's values are alternatives, keys combine,
// every label must hold) on records built here.
#include <doctest/doctest.h>

#include "minirun/common/error.hpp"
#include "minirun/engine/list_filters.hpp"

using namespace minirun;
using namespace minirun::engine;

namespace {

ContainerRecord container(const std::string& name, const std::string& status, const std::string& created) {
    ContainerRecord r;
    r.id = name + "0123456789abcdef";
    r.name = name;
    r.status = status;
    r.created = created;
    r.image = "busybox";
    r.image_name = "docker.io/library/busybox:latest";
    r.image_id = "sha256:feedface00";
    return r;
}

std::vector<std::string> pick(const std::vector<ContainerRecord>& all, const std::vector<std::string>& filters,
                              ContainerFacts facts = {}) {
    auto f = parse_container_filters(filters);
    if (!facts.container)
        facts.container = [&](const std::string& n) {
            for (auto& r : all)
                if (r.name == n) return r;
            throw Error("no such container: " + n);
        };
    std::vector<std::string> out;
    for (auto& r : all)
        if (matches(f, r, facts)) out.push_back(r.name);
    return out;
}

std::string error_of(const std::vector<std::string>& filters) {
    try {
        parse_container_filters(filters);
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::InvalidArgument);
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("ps filters: Docker's keys and how they combine") {
    auto web = container("web", "running", "2026-01-01T00:00:01Z");
    web.labels = {{"tier", "front"}, {"env", "prod"}};
    web.network = "shop";
    web.extra_networks = {{"audit", {}, "", "", ""}};  // joined with `network connect`
    web.volumes = {"webdata"};
    web.mounts = {"/srv/site:/usr/share/html:ro"};
    auto db = container("db", "exited", "2026-01-01T00:00:02Z");
    db.exit_code = 3;
    db.labels = {{"tier", "back"}, {"env", "prod"}};
    db.image = "mariadb:11";
    db.image_name = "docker.io/library/mariadb:11";
    db.image_id = "sha256:abcdef0123";
    auto job = container("web-job", "exited", "2026-01-01T00:00:03Z");
    std::vector<ContainerRecord> all{web, db, job};

    CHECK(pick(all, {"name=web"}) == std::vector<std::string>{"web", "web-job"});  // a regular expression, unanchored
    CHECK(pick(all, {"name=^web$"}) == std::vector<std::string>{"web"});
    CHECK(pick(all, {"name=^db$", "name=^web$"}) == std::vector<std::string>{"web", "db"});  // same key: either
    CHECK(pick(all, {"id=db01"}) == std::vector<std::string>{"db"});
    CHECK(pick(all, {"label=env=prod"}) == std::vector<std::string>{"web", "db"});
    CHECK(pick(all, {"label=env=prod", "label=tier=back"}) == std::vector<std::string>{"db"});  // labels: all
    CHECK(pick(all, {"label=tier"}) == std::vector<std::string>{"web", "db"});
    CHECK(pick(all, {"status=exited"}) == std::vector<std::string>{"db", "web-job"});
    CHECK(pick(all, {"status=exited", "name=web"}) == std::vector<std::string>{"web-job"});  // keys: both
    CHECK(pick(all, {"exited=3"}) == std::vector<std::string>{"db"});
    CHECK(pick(all, {"network=shop"}) == std::vector<std::string>{"web"});
    CHECK(pick(all, {"network=audit"}) == std::vector<std::string>{"web"});  // a further network counts
    CHECK(pick(all, {"volume=webdata"}) == std::vector<std::string>{"web"});
    CHECK(pick(all, {"volume=/usr/share/html"}) == std::vector<std::string>{"web"});  // a mount's destination
    CHECK(pick(all, {"ancestor=mariadb:11"}) == std::vector<std::string>{"db"});
    CHECK(pick(all, {"ancestor=abcdef"}) == std::vector<std::string>{"db"});  // an image id prefix
    ContainerFacts facts;
    facts.image_id = [](const std::string& ref) -> std::optional<std::string> {
        if (ref == "busybox:latest") return "sha256:feedface00";
        return std::nullopt;
    };
    CHECK(pick(all, {"ancestor=busybox:latest"}, facts) == std::vector<std::string>{"web", "web-job"});
    facts.health = [](const ContainerRecord& r) { return r.name == "web" ? std::string("healthy") : std::string(); };
    CHECK(pick(all, {"health=healthy"}, facts) == std::vector<std::string>{"web"});
    CHECK(pick(all, {"health=none"}, facts) == std::vector<std::string>{"db", "web-job"});
    CHECK(pick(all, {"before=web-job"}) == std::vector<std::string>{"web", "db"});
    CHECK(pick(all, {"since=web"}) == std::vector<std::string>{"db", "web-job"});
    CHECK(parse_container_filters({"status=exited"}).wants_stopped());
    CHECK_FALSE(parse_container_filters({"name=x"}).wants_stopped());
}

TEST_CASE("ps filters: bad ones are refused with one line naming them") {
    CHECK(error_of({"colour=red"}).find("invalid filter \"colour\"") != std::string::npos);
    CHECK(error_of({"status=sleeping"}) ==
          "invalid filter \"status=sleeping\" (status is one of created, restarting, running, removing, paused, exited, dead)");
    CHECK(error_of({"health=fine"}).find("invalid filter \"health=fine\"") != std::string::npos);
    CHECK(error_of({"exited=x"}) == "invalid filter \"exited=x\" (an exit code is a number)");
    CHECK(error_of({"name=("}).find("invalid filter \"name=(\"") == 0);
    CHECK(error_of({"novalue"}) == "bad format of filter \"novalue\" (expected name=value)");
}

TEST_CASE("images filters: reference globs, dangling, labels, before and since") {
    auto img = [](std::string repo, std::string tag, std::string created, std::map<std::string, std::string> labels = {}) {
        image::ImageSummary s;
        s.repository = repo;
        s.tag = tag;
        s.name = repo == "<none>" ? "" : repo + ":" + tag;
        s.id = "sha256:" + std::string(64, repo[0] == '<' ? 'e' : repo[0]);
        s.created = created;
        s.labels = std::move(labels);
        return s;
    };
    std::vector<image::ImageSummary> all{img("busybox", "1.36", "2026-01-01T00:00:01Z", {{"org", "x"}}),
                                         img("localhost:5000/shop/web", "v2", "2026-01-01T00:00:02Z"),
                                         img("<none>", "<none>", "2026-01-01T00:00:03Z")};
    auto pick_images = [&](const std::vector<std::string>& filters) {
        auto f = parse_image_filters(filters);
        std::vector<std::string> out;
        for (auto& s : all)
            if (matches(f, s, all)) out.push_back(s.repository);
        return out;
    };
    CHECK(pick_images({"reference=busybox"}) == std::vector<std::string>{"busybox"});
    CHECK(pick_images({"reference=busy*"}) == std::vector<std::string>{"busybox"});
    CHECK(pick_images({"reference=*:v2"}).empty());  // '*' does not cross '/'
    CHECK(pick_images({"reference=*/*/*:v2"}) == std::vector<std::string>{"localhost:5000/shop/web"});
    CHECK(pick_images({"dangling=true"}) == std::vector<std::string>{"<none>"});
    CHECK(pick_images({"dangling=false"}) == std::vector<std::string>{"busybox", "localhost:5000/shop/web"});
    CHECK(pick_images({"label=org=x"}) == std::vector<std::string>{"busybox"});
    CHECK(pick_images({"before=localhost:5000/shop/web:v2"}) == std::vector<std::string>{"busybox"});
    CHECK(pick_images({"since=busybox:1.36"}) == std::vector<std::string>{"localhost:5000/shop/web", "<none>"});
    CHECK_THROWS_WITH_AS(pick_images({"since=nothere:1"}), "invalid filter \"since=nothere:1\": no such image", Error);
    CHECK_THROWS_WITH_AS(parse_image_filters({"dangling=maybe"}),
                         "invalid filter \"dangling=maybe\" (dangling is one of true, false, 1, 0)", Error);
    CHECK_THROWS_AS(parse_image_filters({"size=1"}), Error);
}
