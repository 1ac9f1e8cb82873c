#pragma once
// minirun's container subcommands.
#include <optional>
#include <string>
#include <vector>

#include "cli_common.hpp"
#include "minirun/engine/engine.hpp"

namespace CLI {
class App;
}

namespace minirun::cli {

// The command line as typed (for checks CLI11 cannot express).
void set_raw_args(int argc, char** argv);
const std::vector<std::string>& raw_args();
// run's and exec's command: the words after the image or container (split_command_tail).
void set_command_tail(std::vector<std::string> tail);
// `exit_code` receives run/exec's status (the container's, or 125/126/127).
void add_container_commands(CLI::App& app, GlobalOptions& g, int& exit_code);
// The engine on the store and registry settings of the global options.
engine::Engine open_engine(GlobalOptions& g);
// `inspect NAME` of a container: its JSON array; nullopt when no container has that name or id.
std::optional<std::string> inspect_container(GlobalOptions& g, const std::string& name);

}  // namespace minirun::cli
