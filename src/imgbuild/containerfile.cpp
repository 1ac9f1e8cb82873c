// Stage-level validation of a parsed Containerfile.
#include <cctype>
#include <fstream>
#include <set>
#include <sstream>

#include "minirun/imgbuild/containerfile.hpp"
#include "minirun/common/strings.hpp"

namespace minirun::imgbuild {
namespace {

struct Checker {
    std::string file;
    std::vector<std::string> lines;

    [[noreturn]] void fail(const Instruction& ins, int col, const std::string& msg) const {
        std::string text = ins.line >= 1 && static_cast<size_t>(ins.line) <= lines.size() ? lines[static_cast<size_t>(ins.line - 1)] : "";
        throw ParseError(file, ins.line, col < 1 ? 1 : col, msg, text);
    }
    [[noreturn]] void fail(const Instruction& ins, const std::string& msg) const { fail(ins, ins.column, msg); }
    int column_of(const Instruction& ins, std::string_view needle) const {
        if (ins.line < 1 || static_cast<size_t>(ins.line) > lines.size() || needle.empty()) return ins.column;
        const auto& l = lines[static_cast<size_t>(ins.line - 1)];
        auto p = l.find(needle, static_cast<size_t>(ins.column - 1));
        return p == std::string::npos ? ins.column : static_cast<int>(p) + 1;
    }

    void check_flags(const Instruction& ins) const {
        static const std::map<std::string, std::set<std::string>> allowed = {
            {"FROM", {"platform"}},
            {"RUN", {"mount", "network", "security"}},
            {"COPY", {"from", "chown", "chmod", "link", "parents", "exclude"}},
            {"ADD", {"chown", "chmod", "link", "checksum", "keep-git-dir", "exclude", "unpack"}},
            {"HEALTHCHECK", {"interval", "timeout", "start-period", "start-interval", "retries"}},
        };
        static const std::set<std::string> boolean = {"link", "parents", "keep-git-dir", "unpack"};
        static const std::set<std::string> repeatable = {"mount", "exclude"};
        auto it = allowed.find(ins.keyword);
        std::set<std::string> seen;
        for (const auto& raw : ins.raw_flags) {
            int col = column_of(ins, raw.substr(0, raw.find('=')));
            if (raw.size() < 3 || raw.compare(0, 2, "--") != 0) fail(ins, col, "invalid flag \"" + raw + "\"");
            std::string body = raw.substr(2);
            auto eq = body.find('=');
            std::string name = body.substr(0, eq);
            if (it == allowed.end() || !it->second.count(name)) fail(ins, col, "unknown flag: " + name);
            if (!repeatable.count(name) && !seen.insert(name).second) fail(ins, col, "duplicate flag specified: " + name);
            if (eq == std::string::npos && !boolean.count(name)) fail(ins, col, "missing a value on flag: " + name);
            if (eq != std::string::npos && boolean.count(name)) {
                std::string v = lower(body.substr(eq + 1));
                if (v != "true" && v != "false") fail(ins, col, "expecting boolean value for flag " + name + ", not: " + body.substr(eq + 1));
            }
        }
    }

    void check(const Instruction& ins, bool in_onbuild) const {
        static const std::set<std::string> known = {"ADD",    "ARG",        "CMD",  "COPY",    "ENTRYPOINT", "ENV",
                                                    "EXPOSE", "FROM",       "HEALTHCHECK", "LABEL", "MAINTAINER",
                                                    "ONBUILD", "RUN",       "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR"};
        const std::string& k = ins.keyword;
        if (!known.count(k)) fail(ins, "unknown instruction: " + k);
        check_flags(ins);
        size_t n = ins.args.size();
        auto at_least = [&](size_t m, const char* what) {
            if (n < m) fail(ins, k + " requires at least " + what);
        };
        if (k == "FROM") {
            if (in_onbuild) fail(ins, "FROM isn't allowed as an ONBUILD trigger");
            if (n != 1 && n != 3) fail(ins, "FROM requires either one or three arguments");
            if (n == 3 && lower(ins.args[1]) != "as") fail(ins, column_of(ins, ins.args[1]), "Third argument to FROM must be AS");
        } else if (k == "RUN" || k == "CMD" || k == "ENTRYPOINT") {
            if (k == "RUN") at_least(1, "one argument");
        } else if (k == "SHELL") {
            if (!ins.json) fail(ins, "SHELL requires the arguments to be in JSON form");
            at_least(1, "one argument");
        } else if (k == "COPY" || k == "ADD") {
            at_least(2, "two arguments, but only one was provided. Destination could not be determined");
        } else if (k == "EXPOSE" || k == "VOLUME" || k == "USER" || k == "STOPSIGNAL" || k == "MAINTAINER" || k == "ARG") {
            at_least(1, "at least one argument");
            if (k == "VOLUME")
                for (const auto& a : ins.args)
                    if (a.empty()) fail(ins, "VOLUME specified can not be an empty string");
            if (k == "ARG")
                for (const auto& a : ins.args)
                    if (a.empty() || a[0] == '=') fail(ins, column_of(ins, a), "ARG names can not be blank");
        } else if (k == "WORKDIR") {
            if (n != 1) fail(ins, "WORKDIR requires exactly one argument");
        } else if (k == "HEALTHCHECK") {
            at_least(1, "at least one argument");
            std::string typ = ins.args[0];
            std::string u;
            for (char c : typ) u.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
            if (u == "NONE") {
                if (n != 1 || !ins.raw_flags.empty()) fail(ins, "HEALTHCHECK NONE takes no arguments");
            } else if (u == "CMD") {
                if (n < 2) fail(ins, "Missing command after HEALTHCHECK CMD");
            } else {
                fail(ins, column_of(ins, typ), "Unknown type \"" + typ + "\" in HEALTHCHECK (try CMD)");
            }
        } else if (k == "ONBUILD") {
            if (ins.trigger.empty()) fail(ins, "ONBUILD requires at least one argument");
            const auto& t = ins.trigger.front();
            if (t.keyword == "ONBUILD") fail(ins, t.column, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
            if (t.keyword == "MAINTAINER") fail(ins, t.column, "MAINTAINER isn't allowed as an ONBUILD trigger");
            check(t, true);
        }
    }
};

bool valid_stage_name(const std::string& s) {
    if (s.empty() || !(s[0] >= 'a' && s[0] <= 'z')) return false;
    for (char c : s)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.')) return false;
    return true;
}

}  // namespace

const Stage* Containerfile::find_stage(std::string_view name_or_index) const {
    std::string n = lower(std::string(name_or_index));
    for (const auto& s : stages)
        if (!s.name.empty() && s.name == n) return &s;
    if (!n.empty() && n.find_first_not_of("0123456789") == std::string::npos && n.size() < 9) {
        size_t idx = std::stoul(n);
        if (idx < stages.size()) return &stages[idx];
    }
    return nullptr;
}

Containerfile parse_containerfile(std::string_view text, std::string_view file) {
    Containerfile cf;
    cf.file = std::string(file);
    auto instructions = parse_instructions(text, file, &cf.directives);
    Checker chk{std::string(file), {}};
    {
        std::istringstream in{std::string(text)};
        std::string l;
        while (std::getline(in, l)) {
            if (!l.empty() && l.back() == '\r') l.pop_back();
            chk.lines.push_back(l);
        }
        if (!chk.lines.empty() && chk.lines[0].compare(0, 3, "\xEF\xBB\xBF") == 0) chk.lines[0].erase(0, 3);
    }
    std::set<std::string> names;
    for (auto& ins : instructions) {
        chk.check(ins, false);
        if (ins.keyword == "FROM") {
            Stage st;
            st.index = static_cast<int>(cf.stages.size());
            st.base_image = ins.args[0];
            st.platform = ins.flag("platform");
            if (ins.args.size() == 3) {
                st.name = lower(ins.args[2]);
                int col = chk.column_of(ins, ins.args[2]);
                if (!valid_stage_name(st.name))
                    chk.fail(ins, col, "invalid name for build stage: \"" + ins.args[2] +
                                           "\", name can't start with a number or contain symbols");
                if (!names.insert(st.name).second) chk.fail(ins, col, "duplicate stage name \"" + st.name + "\"");
            }
            st.from = std::move(ins);
            cf.stages.push_back(std::move(st));
        } else if (cf.stages.empty()) {
            if (ins.keyword != "ARG") chk.fail(ins, "no build stage in current context: " + ins.keyword + " before the first FROM");
            cf.meta_args.push_back(std::move(ins));
        } else {
            cf.stages.back().instructions.push_back(std::move(ins));
        }
    }
    if (cf.stages.empty()) throw ParseError(cf.file, 1, 1, "no FROM instruction: a Containerfile needs at least one stage",
                                            chk.lines.empty() ? "" : chk.lines[0]);
    return cf;
}

Containerfile load_containerfile(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error("cannot read " + path.string());
    std::stringstream ss;
    ss << in.rdbuf();
    return parse_containerfile(ss.str(), path.string());
}

}  // namespace minirun::imgbuild
