#include "minirun/common/time.hpp"

#include <ctime>
#include <cstdio>

namespace minirun {

namespace {
std::string format(time_t secs, long nanos, bool with_nanos) {
    std::tm tm{};
    ::gmtime_r(&secs, &tm);
    char buf[64];
    if (with_nanos)
        std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                      tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, nanos);
    else
        std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                      tm.tm_hour, tm.tm_min, tm.tm_sec);
    return buf;
}
}  // namespace

std::string rfc3339_now() {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return format(ts.tv_sec, ts.tv_nsec, true);
}

std::string rfc3339_seconds(std::int64_t epoch_seconds) { return format(static_cast<time_t>(epoch_seconds), 0, false); }

}  // namespace minirun
