#pragma once
// Small string helpers every module needs; one definition each.
#include <string>
#include <string_view>
#include <vector>

namespace minirun {

// ASCII lower case (header names, scheme names, hostnames): no locale.
std::string lower(std::string s);
// Without leading and trailing ASCII whitespace (space, \t, \r, \n, \v, \f).
std::string trim(std::string_view s);
// Every field between separators, empty ones included: split("a,,b", ',') → a, "", b.
std::vector<std::string> split(std::string_view s, char sep);
// Sets KEY=VALUE in an environment list: an earlier entry for KEY is dropped and the new
// one goes last (the order Docker gives ENV and -e).
void set_env_entry(std::vector<std::string>& env, std::string_view key, std::string_view value);

}  // namespace minirun
