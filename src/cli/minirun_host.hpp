#pragma once
// minirun's host-level subcommands: boot (after a reboot), generate systemd.
#include "cli_common.hpp"

namespace CLI {
class App;
}

namespace minirun::cli {

void add_host_commands(CLI::App& app, GlobalOptions& g, int& exit_code);

}  // namespace minirun::cli
