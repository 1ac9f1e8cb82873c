#include "minirun/common/log.hpp"

#include <atomic>
#include <cstdio>

namespace minirun::log {

namespace {
std::atomic<bool> g_verbose{false};
}

void set_verbose(bool on) { g_verbose = on; }
bool verbose() { return g_verbose; }

void debug(const std::string& msg) {
    if (g_verbose) std::fprintf(stderr, "debug: %s\n", msg.c_str());
}

void warn(const std::string& msg) { std::fprintf(stderr, "warning: %s\n", msg.c_str()); }

}  // namespace minirun::log
