// Syntax nodes → typed instructions: each instruction's argument shape read in one place.
#include "minirun/imgbuild/instructions.hpp"

#include "minirun/common/error.hpp"
#include "minirun/common/strings.hpp"

namespace minirun::imgbuild {

namespace {

CommandLine command_line(const Instruction& ins, size_t first = 0) {
    CommandLine c;
    c.exec_form = ins.json;
    if (first < ins.args.size()) c.words.assign(ins.args.begin() + static_cast<std::ptrdiff_t>(first), ins.args.end());
    // The shell form is one line; an empty one stays one empty word.
    if (!c.exec_form) c.words = {c.words.empty() ? std::string() : c.words.front()};
    return c;
}

// ENV and LABEL arrive as triples: key, value, separator.
std::vector<KeyValue> pairs(const Instruction& ins, bool names_required) {
    std::vector<KeyValue> out;
    for (size_t i = 0; i + 1 < ins.args.size(); i += 3) {
        // Docker: "ENV names can not be blank" (ENV =x would set a nameless variable).
        if (names_required && ins.args[i].empty()) throw Error(ins.keyword + " names can not be blank");
        out.push_back({ins.args[i], ins.args[i + 1]});
    }
    return out;
}

std::optional<std::string> optional_flag(const Instruction& ins, const char* name) {
    if (!ins.has_flag(name)) return std::nullopt;
    return ins.flag(name);
}

const std::string& first_arg(const Instruction& ins) {
    if (ins.args.empty()) throw Error(ins.keyword + " needs an argument");
    return ins.args.front();
}

std::string joined(const std::vector<std::string>& words) {
    std::string out;
    for (auto& w : words) out += (out.empty() ? "" : " ") + w;
    return out;
}

}  // namespace

Command to_command(const Instruction& ins) {
    const std::string& k = ins.keyword;
    if (k == "RUN") {
        RunCommand r;
        r.command = command_line(ins);
        r.mounts = ins.flag_values("mount");
        r.network = ins.flag("network", "default");
        r.security = ins.has_flag("security");
        r.heredocs = ins.heredocs;
        return r;
    }
    if (k == "COPY" || k == "ADD") {
        CopyCommand c;
        c.add = k == "ADD";
        if (ins.args.size() < 2) throw Error(k + " needs at least one source and a destination");
        c.sources.assign(ins.args.begin(), ins.args.end() - 1);
        c.dest = ins.args.back();
        c.from = optional_flag(ins, "from");
        c.chown = optional_flag(ins, "chown");
        c.chmod = optional_flag(ins, "chmod");
        c.checksum = ins.flag("checksum");
        c.unpack = lower(ins.flag("unpack", "true")) != "false";
        c.excludes = ins.flag_values("exclude");
        c.parents = ins.has_flag("parents") && lower(ins.flag("parents", "true")) != "false";
        if (ins.has_flag("keep-git-dir")) c.unsupported.push_back("keep-git-dir");
        c.heredocs = ins.heredocs;
        return c;
    }
    if (k == "WORKDIR") return WorkdirCommand{first_arg(ins)};
    if (k == "ENV") return EnvCommand{pairs(ins, true)};
    if (k == "LABEL") return LabelCommand{pairs(ins, false)};
    if (k == "ARG") {
        ArgCommand a;
        for (auto& word : ins.args) {
            auto eq = word.find('=');
            ArgCommand::Declaration d{word.substr(0, eq), std::nullopt};
            if (eq != std::string::npos) d.default_value = word.substr(eq + 1);
            a.declarations.push_back(d);
        }
        return a;
    }
    if (k == "USER") return UserCommand{first_arg(ins)};
    if (k == "EXPOSE") return ExposeCommand{ins.args};
    if (k == "VOLUME") return VolumeCommand{ins.args};
    if (k == "CMD") return CmdCommand{command_line(ins)};
    if (k == "ENTRYPOINT") return EntrypointCommand{command_line(ins)};
    if (k == "SHELL") {
        if (!ins.json || ins.args.empty()) throw Error("SHELL requires the JSON form, e.g. SHELL [\"/bin/bash\", \"-c\"]");
        return ShellCommand{ins.args};
    }
    if (k == "STOPSIGNAL") return StopSignalCommand{first_arg(ins)};
    if (k == "HEALTHCHECK") {
        HealthcheckCommand h;
        h.none = ins.args.empty() || lower(ins.args[0]) == "none";
        if (!h.none) h.command = command_line(ins, 1);
        h.interval = optional_flag(ins, "interval");
        h.timeout = optional_flag(ins, "timeout");
        h.start_period = optional_flag(ins, "start-period");
        h.start_interval = optional_flag(ins, "start-interval");
        h.retries = optional_flag(ins, "retries");
        return h;
    }
    if (k == "ONBUILD") return OnbuildCommand{first_arg(ins)};
    if (k == "MAINTAINER") return MaintainerCommand{joined(ins.args)};
    throw Error("unsupported instruction " + k);
}

}  // namespace minirun::imgbuild
