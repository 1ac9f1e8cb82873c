#include "minirun/common/units.hpp"

#include <cctype>
#include <cmath>
#include <string>

#include "minirun/common/error.hpp"

namespace minirun {

uint64_t parse_size(std::string_view text, std::string_view what) {
    auto bad = [&] { return Error("invalid " + std::string(what) + " \"" + std::string(text) + "\": expected a size such as 512m or 2g"); };
    size_t i = 0;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
    if (i == 0) throw bad();
    double number = 0;
    try {
        number = std::stod(std::string(text.substr(0, i)));
    } catch (...) {
        throw bad();
    }
    std::string unit(text.substr(i));
    for (auto& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!unit.empty() && unit.back() == 'b') unit.pop_back();
    if (unit.size() == 2 && unit[1] == 'i') unit.pop_back();  // "Mi" → "m"
    double mult = 1;
    if (unit.empty()) mult = 1;
    else if (unit == "k") mult = 1024.0;
    else if (unit == "m") mult = 1024.0 * 1024;
    else if (unit == "g") mult = 1024.0 * 1024 * 1024;
    else if (unit == "t") mult = 1024.0 * 1024 * 1024 * 1024;
    else throw bad();
    double v = std::floor(number * mult);
    if (!std::isfinite(v) || v < 0 || v > 1.8e19) throw bad();
    return static_cast<uint64_t>(v);
}

int64_t parse_duration_ns(std::string_view text, std::string_view what) {
    auto bad = [&] {
        return Error("invalid " + std::string(what) + " \"" + std::string(text) + "\": expected a duration such as 30s or 1m30s");
    };
    if (text.empty()) throw bad();
    if (text.find_first_not_of("0123456789.") == std::string_view::npos) {  // bare seconds
        try {
            return static_cast<int64_t>(std::stod(std::string(text)) * 1e9);
        } catch (...) {
            throw bad();
        }
    }
    double total = 0;
    size_t i = 0;
    while (i < text.size()) {
        size_t j = i;
        while (j < text.size() && (std::isdigit(static_cast<unsigned char>(text[j])) || text[j] == '.')) ++j;
        size_t k = j;
        while (k < text.size() && !std::isdigit(static_cast<unsigned char>(text[k])) && text[k] != '.') ++k;
        std::string_view unit = text.substr(j, k - j);
        double scale = unit == "ns" ? 1 : unit == "us" || unit == "µs" ? 1e3 : unit == "ms" ? 1e6 : unit == "s" ? 1e9
                     : unit == "m" ? 60e9 : unit == "h" ? 3600e9 : 0;
        if (j == i || scale == 0) throw bad();
        try {
            total += std::stod(std::string(text.substr(i, j - i))) * scale;
        } catch (...) {
            throw bad();
        }
        i = k;
    }
    return static_cast<int64_t>(total);
}

}  // namespace minirun
