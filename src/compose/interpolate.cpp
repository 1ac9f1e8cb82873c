// Compose's variable interpolation and .env files.
#include "interpolate.hpp"

#include <cerrno>

#include "minirun/common/env_file.hpp"
#include "minirun/common/error.hpp"

namespace minirun::compose::detail {

namespace {

bool name_char(char c, bool first) {
    return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (!first && c >= '0' && c <= '9');
}

}  // namespace

std::string interpolate(const std::string& in, const Env& env, const std::string& where) {
    std::string out;
    for (size_t i = 0; i < in.size(); ++i) {
        char c = in[i];
        if (c != '$' || i + 1 >= in.size()) {
            out += c;
            continue;
        }
        char n = in[i + 1];
        if (n == '$') {  // $$ is a literal $
            out += '$';
            ++i;
            continue;
        }
        if (name_char(n, true)) {
            size_t j = i + 1;
            while (j < in.size() && name_char(in[j], false)) ++j;
            auto it = env.find(in.substr(i + 1, j - i - 1));
            if (it != env.end()) out += it->second;
            i = j - 1;
            continue;
        }
        if (n != '{') {
            out += c;
            continue;
        }
        // ${...}: find the matching brace (defaults may nest ${...}).
        size_t depth = 0, j = i + 1;
        for (; j < in.size(); ++j) {
            if (in[j] == '{') ++depth;
            else if (in[j] == '}' && --depth == 0) break;
        }
        if (j >= in.size()) throw Error(where + ": invalid interpolation format for \"" + in + "\": missing }");
        std::string body = in.substr(i + 2, j - i - 2);
        size_t k = 0;
        while (k < body.size() && name_char(body[k], k == 0)) ++k;
        std::string name = body.substr(0, k), rest = body.substr(k);
        if (name.empty()) throw Error(where + ": invalid interpolation format for \"" + in + "\"");
        auto it = env.find(name);
        bool set = it != env.end(), nonempty = set && !it->second.empty();
        if (rest.empty()) {
            if (set) out += it->second;
        } else if (rest.rfind(":-", 0) == 0 || rest.rfind("-", 0) == 0) {
            bool colon = rest[0] == ':';
            std::string dflt = rest.substr(colon ? 2 : 1);
            out += (colon ? nonempty : set) ? it->second : interpolate(dflt, env, where);
        } else if (rest.rfind(":?", 0) == 0 || rest.rfind("?", 0) == 0) {
            bool colon = rest[0] == ':';
            if (!(colon ? nonempty : set)) {
                std::string msg = interpolate(rest.substr(colon ? 2 : 1), env, where);
                throw Error(where + ": required variable " + name + " is missing a value" + (msg.empty() ? "" : ": " + msg));
            }
            out += it->second;
        } else if (rest.rfind(":+", 0) == 0 || rest.rfind("+", 0) == 0) {
            bool colon = rest[0] == ':';
            if (colon ? nonempty : set) out += interpolate(rest.substr(colon ? 2 : 1), env, where);
        } else {
            throw Error(where + ": invalid interpolation format for \"" + in + "\"");
        }
        i = j;
    }
    return out;
}

Env read_env_file(const std::filesystem::path& file, bool required) {
    Env out;
    std::vector<EnvFileEntry> entries;
    try {
        entries = minirun::read_env_file(file, EnvFileDialect::compose);
    } catch (const Error& e) {
        if (!required && e.sys_errno() == ENOENT) return out;  // `required: false` and absent
        throw;
    }
    for (auto& e : entries)
        if (e.value) out[e.name] = *e.value;  // a bare name sets nothing
    return out;
}

std::vector<std::string> split_command(const std::string& s, const std::string& where) {
    std::vector<std::string> out;
    std::string cur;
    bool in_word = false;
    for (size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (c == ' ' || c == '\t' || c == '\n') {
            if (in_word) out.push_back(cur), cur.clear(), in_word = false;
            continue;
        }
        in_word = true;
        if (c == '\'' || c == '"') {
            size_t end = s.find(c, i + 1);
            if (end == std::string::npos) throw Error(where + ": unterminated quote in \"" + s + "\"");
            cur += s.substr(i + 1, end - i - 1);
            i = end;
        } else if (c == '\\' && i + 1 < s.size()) {
            cur += s[++i];
        } else {
            cur += c;
        }
    }
    if (in_word) out.push_back(cur);
    return out;
}

}  // namespace minirun::compose::detail
