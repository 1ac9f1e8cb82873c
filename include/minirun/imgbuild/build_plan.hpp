#pragma once
// What a build will do, decided before anything runs (after buildkit's dockerfile2llb,
// which turns the file into a plan before the solver executes it): the Containerfile with
// every instruction typed, the build arguments as the global ARGs and --build-arg resolve
// them, the target stage, the stages it needs and the step count. Pure: no store, no
// context, no root; a bad instruction, --target or --build-arg fails here, at its line.
#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "minirun/imgbuild/containerfile.hpp"
#include "minirun/imgbuild/instructions.hpp"
#include "minirun/imgbuild/shell_expand.hpp"

namespace minirun::imgbuild {

struct PlanRequest {
    std::vector<std::string> build_args;  // KEY=VALUE, or KEY to take it from our environment
    std::string target;                   // stage name or index; empty: the last stage
    std::string platform;                 // os/arch[/variant]; empty: this host's
};

struct BuildPlan {
    Containerfile file;
    std::vector<std::vector<Command>> commands;  // per stage, parallel to its instructions
    std::map<std::string, std::string> build_args;
    // The predefined platform ARGs and the ARGs before the first FROM (unset: nullopt).
    std::map<std::string, std::optional<std::string>> meta_args;
    std::set<std::string> used_args;  // build args some ARG consumed (so far)
    size_t target = 0;
    std::set<size_t> stages;  // the target and every stage it reads from, transitively
    size_t total_steps = 0;   // FROM plus instructions, over those stages

    // Meta ARGs with values: what FROM lines and --from expand with.
    ShellEnv meta_env() const;
    // A stage named `name` (its AS name or its index) defined before stage `before`.
    std::optional<size_t> stage_ref(const std::string& name, size_t before) const;
    ShellLexer lexer() const { return ShellLexer(file.directives.escape); }
};

// Plans a loaded Containerfile; throws Error (file:line for instructions).
BuildPlan plan_build(Containerfile file, const PlanRequest& request);

}  // namespace minirun::imgbuild
