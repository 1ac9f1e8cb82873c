#pragma once
// Pieces both front ends share: global options, login/logout, error reporting.
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace minirun::cli {

inline constexpr const char* kVersion = "0.1.0";

// Docker's rule for `run` and `exec` (pflag's SetInterspersed(false)): flags end at the
// first positional word (the image, the container); every word after it is the command's,
// even one that looks like our flag (`run --entrypoint echo IMG -e x`, `exec C ls -l`).
// `head` is what the parser sees (argv up to that word), `tail` the command; `split` is
// false when argv holds none of `verbs` or no positional word after it.
struct CommandSplit {
    std::vector<std::string> head, tail;
    bool split = false;
};
CommandSplit split_command_tail(const CLI::App& app, const std::vector<std::string>& argv,
                                const std::vector<std::string>& verbs);

struct GlobalOptions {
    std::string storage;
    bool debug = false;
    std::vector<std::string> insecure_registries;
};

void add_global_options(CLI::App& app, GlobalOptions& g);
// Applies --debug and returns the storage root to use.
std::string storage_root(const GlobalOptions& g);
std::vector<std::string> insecure_registries(const GlobalOptions& g);

// `login` and `logout` subcommands (identical in minirun and imgbuild).
void add_login_commands(CLI::App& app, GlobalOptions& g);

// `push IMAGE [DEST]` (the same in minirun and imgbuild).
void add_push_command(CLI::App& app, GlobalOptions& g);

// Parses and runs the app, printing "Error: <message>" and returning `error_code` on failure.
int run_app(CLI::App& app, int argc, char** argv, int error_code);

}  // namespace minirun::cli
