#pragma once
// Timestamps as Docker and the OCI specs write them: RFC 3339 in UTC.
#include <cstdint>
#include <string>

namespace minirun {

// Now, with nanoseconds: "2026-12-05T16:35:54.123456789Z" (container records, logs, events).
std::string rfc3339_now();
// Whole seconds since the epoch: "2026-12-05T16:35:54Z" (image history and created, which
// must be reproducible from SOURCE_DATE_EPOCH).
std::string rfc3339_seconds(std::int64_t epoch_seconds);

}  // namespace minirun
