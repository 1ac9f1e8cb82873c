#pragma once
// minirun's host-level subcommands: boot (after a reboot), generate systemd, version, info.
#include <string>
#include <vector>

#include "cli_common.hpp"

namespace CLI {
class App;
}

namespace minirun::cli {

// boot, generate systemd, version, info.
void add_host_commands(CLI::App& app, GlobalOptions& g, int& exit_code);

// Docker's management-command spellings turned into minirun's verbs before parsing:
// `container ls` → `ps`, `image ls` → `images`, `image rm` → `rmi`, `container inspect`
// → `inspect --type container`, … Other words pass unchanged.
std::vector<std::string> docker_aliases(std::vector<std::string> args);
// `commit`, `export` and `import` (after docker_aliases) run as the imgbuild beside us:
// execs it with the same arguments; returns for any other command.
void hand_over_to_imgbuild(const std::vector<std::string>& args);

}  // namespace minirun::cli
