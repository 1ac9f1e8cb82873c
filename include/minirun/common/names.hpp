#pragma once
// The one name rule: Docker's for the names users give containers, volumes and networks,
// runc's for container ids.
#include <cstddef>
#include <limits>
#include <string_view>

namespace minirun {

// [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most `max_length` characters.
bool is_valid_object_name(std::string_view name, size_t max_length = std::numeric_limits<size_t>::max());

}  // namespace minirun
