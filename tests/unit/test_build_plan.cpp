// The build plan: decided before anything runs, without a store, a context or root.
#include <doctest/doctest.h>

#include <cstdlib>

#include "minirun/common/error.hpp"
#include "minirun/imgbuild/build_plan.hpp"
#include "minirun/imgbuild/containerfile.hpp"

using namespace minirun;
using namespace minirun::imgbuild;

namespace {

BuildPlan plan(std::string_view text, PlanRequest req = {}) {
    return plan_build(parse_containerfile(text, "Containerfile"), req);
}

constexpr std::string_view kMultiStage = R"(ARG BASE=busybox
ARG TAG
FROM $BASE AS deps
RUN echo deps
FROM busybox AS unused
RUN echo never
FROM deps AS build
COPY --from=1 /x /x
RUN echo build
FROM busybox
COPY --from=build /out /out
CMD ["/out"]
)";

}  // namespace

TEST_CASE("build plan: the target needs its base stages and COPY --from stages, nothing else") {
    BuildPlan p = plan(kMultiStage);
    CHECK(p.target == 3);
    CHECK(p.stages == std::set<size_t>{0, 1, 2, 3});  // build copies --from=1
    CHECK(p.total_steps == 2 + 2 + 3 + 3);

    BuildPlan deps = plan(kMultiStage, PlanRequest{{}, "deps", ""});
    CHECK(deps.target == 0);
    CHECK(deps.stages == std::set<size_t>{0});
    CHECK(deps.total_steps == 2);

    BuildPlan by_index = plan(kMultiStage, PlanRequest{{}, "2", ""});
    CHECK(by_index.stages == std::set<size_t>{0, 1, 2});
    CHECK(by_index.commands.size() == 4);
    CHECK(by_index.commands[2].size() == 2);
    CHECK(std::holds_alternative<CopyCommand>(by_index.commands[2][0]));
}

TEST_CASE("build plan: global ARGs take --build-arg over their defaults, and the platform ARGs are predefined") {
    BuildPlan p = plan(kMultiStage, PlanRequest{{"BASE=alpine", "UNUSED=1"}, "", "linux/arm64/v8"});
    CHECK(p.meta_args.at("BASE") == std::optional<std::string>("alpine"));
    CHECK_FALSE(p.meta_args.at("TAG").has_value());
    CHECK(p.meta_env().count("TAG") == 0);
    CHECK(p.used_args == std::set<std::string>{"BASE"});
    CHECK(p.meta_args.at("TARGETARCH") == std::optional<std::string>("arm64"));
    CHECK(p.meta_args.at("TARGETVARIANT") == std::optional<std::string>("v8"));
    CHECK(p.meta_env().at("TARGETPLATFORM") == "linux/arm64/v8");

    ::setenv("MINIRUN_PLAN_TEST_BASE", "from-env", 1);
    BuildPlan env = plan("ARG MINIRUN_PLAN_TEST_BASE\nFROM $MINIRUN_PLAN_TEST_BASE\n",
                         PlanRequest{{"MINIRUN_PLAN_TEST_BASE"}, "", ""});
    CHECK(env.meta_env().at("MINIRUN_PLAN_TEST_BASE") == "from-env");
    ::unsetenv("MINIRUN_PLAN_TEST_BASE");
}

TEST_CASE("build plan: a stage reference is a name or an index before the stage") {
    BuildPlan p = plan(kMultiStage);
    CHECK(p.stage_ref("deps", 3) == std::optional<size_t>(0));
    CHECK(p.stage_ref("DEPS", 3) == std::optional<size_t>(0));
    CHECK(p.stage_ref("build", 2) == std::nullopt);  // not yet defined at stage 2
    CHECK(p.stage_ref("1", 2) == std::optional<size_t>(1));
    CHECK(p.stage_ref("3", 3) == std::nullopt);
    CHECK(p.stage_ref("99999999999999999999", 3) == std::nullopt);  // not a stage, not a crash
    CHECK(p.stage_ref("busybox", 3) == std::nullopt);
}

TEST_CASE("build plan: a bad target, build arg or instruction fails before any work, naming what and where") {
    CHECK_THROWS_WITH_AS(plan(kMultiStage, PlanRequest{{}, "nope", ""}), "--target nope: no such stage in Containerfile",
                         Error);
    CHECK_THROWS_WITH_AS(plan(kMultiStage, PlanRequest{{"=x"}, "", ""}),
                         "invalid --build-arg \"=x\": expected KEY=VALUE", Error);
    try {
        plan("FROM busybox\nRUN echo ok\nSHELL /bin/sh -c\n");
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(std::string(e.what()).rfind("Containerfile:3", 0) == 0);
        CHECK(std::string(e.what()).find("SHELL") != std::string::npos);
    }
}
