#pragma once
// Human sizes as Docker accepts them: "512", "64k", "10m", "1.5g" (binary units).
#include <cstdint>
#include <string_view>

namespace minirun {

// Throws Error naming `what` on a malformed size.
uint64_t parse_size(std::string_view text, std::string_view what);

// Go/Docker durations ("1m30s", "500ms", "10s", "2h"; a bare number is seconds) in
// nanoseconds. Throws Error naming `what` on junk.
int64_t parse_duration_ns(std::string_view text, std::string_view what);

}  // namespace minirun
