// Deciding a build before running it (build_plan.hpp).
#include "minirun/imgbuild/build_plan.hpp"

#include <cstdlib>
#include <functional>

#include "minirun/common/error.hpp"
#include "minirun/common/strings.hpp"
#include "minirun/image/manifest.hpp"

namespace minirun::imgbuild {

ShellEnv BuildPlan::meta_env() const {
    ShellEnv env;
    for (auto& [k, v] : meta_args)
        if (v) env[k] = *v;
    return env;
}

std::optional<size_t> BuildPlan::stage_ref(const std::string& name, size_t before) const {
    std::string l = lower(name);
    for (size_t i = 0; i < before && i < file.stages.size(); ++i)
        if (!file.stages[i].name.empty() && file.stages[i].name == l) return i;
    if (!l.empty() && l.size() < 10 && l.find_first_not_of("0123456789") == std::string::npos) {
        size_t i = std::stoul(l);
        if (i < before) return i;
    }
    return std::nullopt;
}

namespace {

std::map<std::string, std::string> resolve_build_args(const std::vector<std::string>& args) {
    std::map<std::string, std::string> out;
    for (auto& a : args) {
        auto eq = a.find('=');
        if (eq == 0) throw Error("invalid --build-arg \"" + a + "\": expected KEY=VALUE", ErrorKind::InvalidArgument);
        if (eq == std::string::npos) {
            if (const char* v = std::getenv(a.c_str())) out[a] = v;
            continue;
        }
        out[a.substr(0, eq)] = a.substr(eq + 1);
    }
    return out;
}

// The predefined platform args, in the global scope as BuildKit has them, then the ARGs
// before the first FROM, each overridable by --build-arg.
void resolve_meta_args(BuildPlan& plan, const std::string& platform) {
    image::Platform p = platform.empty() ? image::Platform::host() : image::Platform::parse(platform);
    image::Platform host = image::Platform::host();
    std::map<std::string, std::string> predefined = {
        {"TARGETPLATFORM", p.str()}, {"TARGETOS", p.os}, {"TARGETARCH", p.architecture}, {"TARGETVARIANT", p.variant},
        {"BUILDPLATFORM", host.str()}, {"BUILDOS", host.os}, {"BUILDARCH", host.architecture}, {"BUILDVARIANT", host.variant}};
    for (auto& [k, v] : predefined) plan.meta_args[k] = v;
    ShellLexer lexer = plan.lexer();
    for (auto& ins : plan.file.meta_args) {
        for (auto& word : ins.args) {
            auto eq = word.find('=');
            std::string name = word.substr(0, eq);
            std::optional<std::string> value;
            if (eq != std::string::npos) value = lexer.process_word(word.substr(eq + 1), plan.meta_env());
            if (auto it = plan.build_args.find(name); it != plan.build_args.end()) {
                value = it->second;
                plan.used_args.insert(name);
            }
            plan.meta_args[name] = value;
        }
    }
}

std::set<size_t> needed_stages(const BuildPlan& plan, size_t target) {
    const ShellEnv meta = plan.meta_env();
    ShellLexer lexer = plan.lexer();
    std::set<size_t> need;
    std::function<void(size_t)> visit = [&](size_t i) {
        if (!need.insert(i).second) return;
        const Stage& s = plan.file.stages[i];
        if (auto r = plan.stage_ref(lexer.process_word(s.base_image, meta), i)) visit(*r);
        for (auto& ins : s.instructions)
            if ((ins.keyword == "COPY" || ins.keyword == "ADD") && ins.has_flag("from"))
                if (auto r = plan.stage_ref(lexer.process_word(ins.flag("from"), meta), i)) visit(*r);
    };
    visit(target);
    return need;
}

}  // namespace

BuildPlan plan_build(Containerfile file, const PlanRequest& request) {
    BuildPlan plan;
    plan.file = std::move(file);
    // Every instruction typed before any work: a bad one fails at its line, nothing built.
    for (auto& stage : plan.file.stages) {
        auto& typed = plan.commands.emplace_back();
        for (auto& ins : stage.instructions) {
            try {
                typed.push_back(to_command(ins));
            } catch (const Error& e) {
                throw wrap_error(e, plan.file.file + ":" + std::to_string(ins.line));
            }
        }
    }
    plan.build_args = resolve_build_args(request.build_args);
    resolve_meta_args(plan, request.platform);
    if (plan.file.stages.empty()) throw Error(plan.file.file + ": no FROM instruction", ErrorKind::InvalidArgument);
    plan.target = plan.file.stages.size() - 1;
    if (!request.target.empty()) {
        const Stage* s = plan.file.find_stage(request.target);
        if (!s) throw Error("--target " + request.target + ": no such stage in " + plan.file.file, ErrorKind::InvalidArgument);
        plan.target = static_cast<size_t>(s->index);
    }
    plan.stages = needed_stages(plan, plan.target);
    for (size_t i : plan.stages) plan.total_steps += 1 + plan.file.stages[i].instructions.size();
    return plan;
}

}  // namespace minirun::imgbuild
