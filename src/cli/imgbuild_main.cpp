// imgbuild: build OCI images from Containerfiles and push them. A thin front end.
// Building and pushing arrive with their issues; today it manages registry logins.
#include <CLI/CLI.hpp>

#include "cli_common.hpp"

int main(int argc, char** argv) {
    minirun::cli::GlobalOptions g;
    CLI::App app{"imgbuild: build OCI images from Containerfiles and push them"};
    app.set_version_flag("--version", "imgbuild 0.1.0");
    app.require_subcommand(1);
    minirun::cli::add_global_options(app, g);
    minirun::cli::add_login_commands(app, g);
    minirun::cli::add_push_command(app, g);
    return minirun::cli::run_app(app, argc, argv, 1);
}
