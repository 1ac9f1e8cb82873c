#pragma once
// Minimal leveled logging to stderr.
#include <string>

namespace minirun::log {

void set_verbose(bool on);
bool verbose();
void debug(const std::string& msg);
void warn(const std::string& msg);

}  // namespace minirun::log
