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

namespace minirun {

std::optional<std::int64_t> parse_rfc3339(const std::string& text) {
    std::tm tm{};
    if (text.empty() || !::strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return std::nullopt;
    return static_cast<std::int64_t>(::timegm(&tm));
}

std::string human_duration(std::int64_t seconds) {
    auto plural = [](std::int64_t n, const char* unit) { return std::to_string(n) + " " + unit + (n == 1 ? "" : "s"); };
    if (seconds < 1) return "Less than a second";
    if (seconds == 1) return "1 second";
    if (seconds < 60) return plural(seconds, "second");
    std::int64_t minutes = seconds / 60;
    if (minutes == 1) return "About a minute";
    if (minutes < 60) return plural(minutes, "minute");
    std::int64_t hours = (seconds + 1800) / 3600;  // rounded, as go-units rounds d.Hours()
    if (hours == 1) return "About an hour";
    if (hours < 48) return plural(hours, "hour");
    if (hours < 24 * 7 * 2) return plural(hours / 24, "day");
    if (hours < 24 * 30 * 2) return plural(hours / 24 / 7, "week");
    if (hours < 24 * 365 * 2) return plural(hours / 24 / 30, "month");
    return plural(hours / 24 / 365, "year");
}

std::string human_since(const std::string& rfc3339) {
    auto t = parse_rfc3339(rfc3339);
    if (!t) return "";
    return human_duration(static_cast<std::int64_t>(std::time(nullptr)) - *t) + " ago";
}

std::string docker_time(const std::string& rfc3339) {
    auto t = parse_rfc3339(rfc3339);
    if (!t) return "";
    time_t secs = static_cast<time_t>(*t);
    std::tm tm{};
    ::gmtime_r(&secs, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S +0000 UTC", &tm);
    return buf;
}

}  // namespace minirun
