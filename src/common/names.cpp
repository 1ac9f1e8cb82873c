#include "minirun/common/names.hpp"

namespace minirun {

namespace {
bool is_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
}  // namespace

bool is_valid_object_name(std::string_view name, size_t max_length) {
    if (name.empty() || name.size() > max_length || !is_alnum(name[0])) return false;
    for (char c : name)
        if (!is_alnum(c) && c != '_' && c != '.' && c != '-') return false;
    return true;
}

}  // namespace minirun
