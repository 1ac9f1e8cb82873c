#pragma once
// Timestamps as Docker and the OCI specs write them: RFC 3339 in UTC.
#include <cstdint>
#include <optional>
#include <string>

namespace minirun {

// Now, with nanoseconds: "2026-12-05T16:35:54.123456789Z" (container records, logs, events).
std::string rfc3339_now();
// Whole seconds since the epoch: "2026-12-05T16:35:54Z" (image history and created, which
// must be reproducible from SOURCE_DATE_EPOCH).
std::string rfc3339_seconds(std::int64_t epoch_seconds);

// Seconds since the epoch of an RFC 3339 time ("…Z", fraction ignored); nullopt for junk.
std::optional<std::int64_t> parse_rfc3339(const std::string& text);
// Docker's human durations (go-units HumanDuration): "Less than a second", "5 seconds",
// "About a minute", "3 minutes", "About an hour", "5 hours", "3 days", "2 weeks", …
std::string human_duration(std::int64_t seconds);
// "5 minutes ago" for an RFC 3339 time, "" when unreadable (Docker's CreatedSince).
std::string human_since(const std::string& rfc3339);
// Go's time.Time.String() in UTC, as Docker's CreatedAt prints: "2026-12-07 05:30:00 +0000 UTC".
std::string docker_time(const std::string& rfc3339);

}  // namespace minirun
