#include "minirun/common/env_file.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>

#include "minirun/common/error.hpp"

namespace minirun {

namespace {

bool name_start(char c) { return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

std::string trim_right(std::string s, const char* chars) {
    s.erase(s.find_last_not_of(chars) + 1);
    return s;
}

// Docker's reader: the value is everything after the first '=', as written.
std::optional<EnvFileEntry> docker_line(std::string line, const std::string& where) {
    line = trim_right(line, " \r");
    size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') return std::nullopt;
    line = line.substr(start);
    if (line[0] == '=') throw Error(where + ": variable name is empty");
    EnvFileEntry e;
    auto eq = line.find('=');
    e.name = line.substr(0, eq);
    if (e.name.find_first_of(" \t") != std::string::npos)
        throw Error(where + ": variable \"" + e.name + "\" contains whitespace");  // as Docker refuses it
    if (eq != std::string::npos) e.value = line.substr(eq + 1);
    return e;
}

std::optional<EnvFileEntry> compose_line(std::string line, const std::string& where) {
    line = trim_right(line, "\r");
    size_t s = line.find_first_not_of(" \t");
    if (s == std::string::npos || line[s] == '#') return std::nullopt;
    line = line.substr(s);
    if (line.rfind("export ", 0) == 0) line = line.substr(7);
    auto eq = line.find('=');
    EnvFileEntry e;
    e.name = trim_right(line.substr(0, eq), " \t");
    if (e.name.empty() || !name_start(e.name[0])) throw Error(where + ": invalid variable name \"" + e.name + "\"");
    if (eq == std::string::npos) return e;
    std::string v = line.substr(eq + 1);
    size_t vs = v.find_first_not_of(" \t");
    v = vs == std::string::npos ? "" : v.substr(vs);
    if (v.size() >= 2 && (v[0] == '"' || v[0] == '\'') && v.find(v[0], 1) != std::string::npos) {
        v = v.substr(1, v.find(v[0], 1) - 1);  // quoted: taken as is, up to the closing quote
    } else {
        auto hash = v.find(" #");
        if (hash != std::string::npos) v.resize(hash);
        v = trim_right(v, " \t");
    }
    e.value = v;
    return e;
}

}  // namespace

std::vector<EnvFileEntry> read_env_file(const std::filesystem::path& file, EnvFileDialect dialect) {
    std::ifstream in(file);
    if (!in) {
        int err = errno;
        throw Error(file.string() + ": cannot read it: " + std::strerror(err), kind_of_errno(err), err);
    }
    std::vector<EnvFileEntry> out;
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
        std::string where = file.string() + ":" + std::to_string(n);
        auto e = dialect == EnvFileDialect::docker ? docker_line(line, where) : compose_line(line, where);
        if (!e) continue;
        e->line = n;
        out.push_back(std::move(*e));
    }
    return out;
}

}  // namespace minirun
