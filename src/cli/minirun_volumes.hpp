#pragma once
// `minirun volume create|ls|inspect|rm|prune`.
#include "cli_common.hpp"

namespace CLI {
class App;
}

namespace minirun::cli {

void add_volume_commands(CLI::App& app, GlobalOptions& g, int& exit_code);

}  // namespace minirun::cli
