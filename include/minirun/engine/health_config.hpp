#pragma once
// Health checks in one unit (nanoseconds, as Docker's API and the image config store
// them) and two roles: what a container runs (HealthConfig, resolved, kept in its record)
// and what a user asks for over the image's HEALTHCHECK (HealthOverride: the --health-*
// flags, or a Compose service's healthcheck). The image's own HEALTHCHECK is
// image::Healthcheck (engine/image_config.hpp turns it into a HealthConfig).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace minirun::engine {

// A container's health check (Docker's HealthConfig).
struct HealthConfig {
    std::vector<std::string> test;  // ["CMD", ...] or ["CMD-SHELL", "..."]; ["NONE"]: disabled
    int64_t interval_ns = 30'000'000'000, timeout_ns = 30'000'000'000, start_period_ns = 0,
            start_interval_ns = 5'000'000'000;
    int retries = 3;
};

// The fields given replace the image's; the others keep the image's (or the defaults).
struct HealthOverride {
    std::vector<std::string> test;  // empty: the image's test
    std::optional<int64_t> interval_ns, timeout_ns, start_period_ns, start_interval_ns;
    std::optional<int> retries;
    bool disable = false;  // --no-healthcheck, Compose's `disable: true` or test NONE

    bool any_field() const {
        return !test.empty() || interval_ns || timeout_ns || start_period_ns || start_interval_ns || retries;
    }
};

// The image's check with `over` applied (Docker merges them the same way); nullopt when
// there is none or it is disabled. Throws Error for a non-positive duration or retries < 1,
// or timings without any test.
std::optional<HealthConfig> effective_health(const HealthOverride& over, const std::optional<HealthConfig>& image);

}  // namespace minirun::engine
