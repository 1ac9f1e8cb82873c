#include <doctest/doctest.h>

#include <filesystem>

#include "minirun/imgbuild/containerfile.hpp"
#include "minirun/imgbuild/context.hpp"

using namespace minirun::imgbuild;

TEST_CASE("build context: clean_relative cleans like Go's filepath.Clean and stays at the top") {
    CHECK(clean_relative("./a//b/../c/") == "a/c");
    CHECK(clean_relative("/") == "");
    CHECK(clean_relative(".") == "");
    CHECK(clean_relative("../../etc/passwd") == "etc/passwd");
    CHECK(clean_relative("/srv/app/") == "srv/app");
}

TEST_CASE("build context: ignore patterns with Docker's semantics") {
    IgnoreMatcher m("# comment\n\nnode_modules\n*.log\n**/*.md\n!docs/keep.md\n/build/\ntmp?\n[abc].txt\n");
    CHECK(m.ignored("node_modules"));
    CHECK(m.ignored("node_modules/x/y.js"));  // a directory match covers its content
    CHECK(m.ignored("debug.log"));
    CHECK_FALSE(m.ignored("logs/debug.log"));  // '*' stays inside one component
    CHECK(m.ignored("README.md"));
    CHECK(m.ignored("docs/deep/x.md"));
    CHECK_FALSE(m.ignored("docs/keep.md"));  // exception, later pattern wins
    CHECK(m.ignored("build/out.o"));
    CHECK(m.ignored("tmp1"));
    CHECK_FALSE(m.ignored("tmp12"));
    CHECK(m.ignored("b.txt"));
    CHECK_FALSE(m.ignored("d.txt"));
    CHECK_FALSE(m.ignored("src/main.c"));
    CHECK(m.has_exceptions());

    IgnoreMatcher order("!a.txt\n*.txt\n");
    CHECK(order.ignored("a.txt"));  // the last matching pattern decides
    IgnoreMatcher none("");
    CHECK(none.empty());
    CHECK_FALSE(none.ignored("anything"));
}

TEST_CASE("build context: ** matches any number of components, including none") {
    auto p = split_path("a/**/z");
    CHECK(match_components(p, 0, split_path("a/z"), 0));
    CHECK(match_components(p, 0, split_path("a/b/c/z"), 0));
    CHECK_FALSE(match_components(p, 0, split_path("b/z"), 0));
}

TEST_CASE("the sample Containerfiles parse (the Alpine ones cannot be built offline)") {
    namespace fs = std::filesystem;
    int n = 0;
    for (auto dir : {fs::path(MINIRUN_SOURCE_DIR) / "Containerfiles", fs::path(MINIRUN_SOURCE_DIR) / "images"})
        for (auto& e : fs::recursive_directory_iterator(dir)) {
            auto name = e.path().filename().string();
            if (name != "Containerfile" && e.path().extension() != ".Containerfile") continue;
            CAPTURE(e.path().string());
            Containerfile cf = load_containerfile(e.path());
            CHECK_FALSE(cf.stages.empty());
            ++n;
        }
    CHECK(n >= 6);
}
