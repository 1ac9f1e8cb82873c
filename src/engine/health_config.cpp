// The image's health check with the user's over it (see health_config.hpp).
#include "minirun/engine/health_config.hpp"

#include "minirun/common/error.hpp"

namespace minirun::engine {

namespace {

void set_positive(const std::optional<int64_t>& given, const char* what, int64_t& out) {
    if (!given) return;
    if (*given <= 0) throw Error(std::string("invalid health check ") + what + ": must be positive", ErrorKind::InvalidArgument);
    out = *given;
}

bool disabled(const HealthConfig& h) { return h.test.empty() || h.test[0] == "NONE"; }

}  // namespace

std::optional<HealthConfig> effective_health(const HealthOverride& over, const std::optional<HealthConfig>& image) {
    if (over.disable) return std::nullopt;
    if (!over.any_field()) return image && !disabled(*image) ? image : std::nullopt;
    HealthConfig h = image.value_or(HealthConfig{});
    if (!over.test.empty()) h.test = over.test;
    set_positive(over.interval_ns, "interval", h.interval_ns);
    set_positive(over.timeout_ns, "timeout", h.timeout_ns);
    set_positive(over.start_period_ns, "start period", h.start_period_ns);
    set_positive(over.start_interval_ns, "start interval", h.start_interval_ns);
    if (over.retries) {
        if (*over.retries < 1) throw Error("invalid health check retries: must be at least 1", ErrorKind::InvalidArgument);
        h.retries = *over.retries;
    }
    if (h.test.empty())
        throw Error("--health-* options need a health check: --health-cmd, or a HEALTHCHECK in the image",
                    ErrorKind::InvalidArgument);
    if (h.test[0] == "NONE") return std::nullopt;
    return h;
}

}  // namespace minirun::engine
