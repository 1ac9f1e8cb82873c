#include "minirun/common/strings.hpp"

namespace minirun {

std::string lower(std::string s) {
    for (auto& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
}

std::string trim(std::string_view s) {
    constexpr std::string_view ws = " \t\r\n\v\f";
    size_t b = s.find_first_not_of(ws);
    if (b == std::string_view::npos) return {};
    size_t e = s.find_last_not_of(ws);
    return std::string(s.substr(b, e - b + 1));
}

std::vector<std::string> split(std::string_view s, char sep) {
    std::vector<std::string> out;
    size_t start = 0;
    for (;;) {
        size_t pos = s.find(sep, start);
        out.emplace_back(s.substr(start, pos == std::string_view::npos ? std::string_view::npos : pos - start));
        if (pos == std::string_view::npos) return out;
        start = pos + 1;
    }
}

void set_env_entry(std::vector<std::string>& env, std::string_view key, std::string_view value) {
    std::erase_if(env, [&](const std::string& e) { return std::string_view(e).substr(0, e.find('=')) == key; });
    std::string entry(key);
    entry += '=';
    entry += value;
    env.push_back(std::move(entry));
}

}  // namespace minirun
