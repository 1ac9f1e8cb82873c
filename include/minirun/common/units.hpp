#pragma once
// Human sizes as Docker accepts them: "512", "64k", "10m", "1.5g" (binary units).
#include <cstdint>
#include <string_view>

namespace minirun {

// Throws Error naming `what` on a malformed size.
uint64_t parse_size(std::string_view text, std::string_view what);

}  // namespace minirun
