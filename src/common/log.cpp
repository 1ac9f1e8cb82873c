#include "minirun/common/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>

namespace minirun::log {

namespace {
std::atomic<bool> g_verbose{false};
}

void set_verbose(bool on) { g_verbose = on; }
bool verbose() { return g_verbose; }

void debug(const std::string& msg) {
    if (!g_verbose) return;
    // Milliseconds since the first debug line: enough to see where time goes.
    static const auto start = std::chrono::steady_clock::now();
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(stderr, "debug: [%8.3f ms] %s\n", ms, msg.c_str());
}

void warn(const std::string& msg) { std::fprintf(stderr, "warning: %s\n", msg.c_str()); }

}  // namespace minirun::log
