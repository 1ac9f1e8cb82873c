// Compose's variable interpolation and .env files.
#include "interpolate.hpp"

#include <fstream>

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
    std::ifstream in(file);
    if (!in) {
        if (required) throw Error(file.string() + ": cannot read the env file");
        return out;
    }
    std::string line;
    for (int lineno = 1; std::getline(in, line); ++lineno) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        size_t s = line.find_first_not_of(" \t");
        if (s == std::string::npos || line[s] == '#') continue;
        line = line.substr(s);
        if (line.rfind("export ", 0) == 0) line = line.substr(7);
        auto eq = line.find('=');
        std::string key = line.substr(0, eq);
        while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.pop_back();
        if (key.empty() || !name_char(key[0], true))
            throw Error(file.string() + ":" + std::to_string(lineno) + ": invalid variable name \"" + key + "\"");
        if (eq == std::string::npos) continue;  // a bare name sets nothing
        std::string v = line.substr(eq + 1);
        size_t vs = v.find_first_not_of(" \t");
        v = vs == std::string::npos ? "" : v.substr(vs);
        if (v.size() >= 2 && (v[0] == '"' || v[0] == '\'') && v.find(v[0], 1) != std::string::npos) {
            v = v.substr(1, v.find(v[0], 1) - 1);  // quoted: taken as is, up to the closing quote
        } else {
            auto hash = v.find(" #");
            if (hash != std::string::npos) v.resize(hash);
            while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.pop_back();
        }
        out[key] = v;
    }
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
