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

}  // namespace minirun
