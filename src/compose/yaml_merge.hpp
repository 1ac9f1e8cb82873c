#pragma once
// YAML merge keys (`<<: *anchor`, `<<: [*a, *b]`), which Compose files use to share settings
// between services and which yaml-cpp leaves as a plain "<<" key.
#include <yaml-cpp/yaml.h>

#include <string>

namespace minirun::compose::detail {

// Resolves every merge key below `root` in place: keys of the map itself win over merged
// ones, and in a list of maps the earlier map wins (YAML 1.1's merge type). Throws Error
// naming file:line:col for a merge value that is not a map or list of maps, and stops
// alias fan-outs (a "billion laughs" file) after a bounded number of nodes.
void resolve_merge_keys(YAML::Node root, const std::string& file);

}  // namespace minirun::compose::detail
