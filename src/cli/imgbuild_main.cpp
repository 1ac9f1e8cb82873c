// imgbuild: build OCI images from Containerfiles and push them. A thin front end.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "cli_common.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/imgbuild/builder.hpp"
#include "minirun/imgbuild/containerfile.hpp"

namespace {

// The build's console output: "STEP n/N: …", "--> done (1.23s)", RUN output live on
// stdout and stderr; with --quiet nothing but a failed step's output (on stderr) and the image id.
class ConsoleProgress : public minirun::imgbuild::BuildProgress {
public:
    explicit ConsoleProgress(bool quiet) : quiet_(quiet) {}
    void step_started(size_t number, size_t total, const std::string& instruction) override {
        if (!quiet_) std::cout << "STEP " << number << "/" << total << ": " << instruction << std::endl;
    }
    void trigger_started(const std::string& instruction) override {
        if (!quiet_) std::cout << "--> ONBUILD " << instruction << std::endl;
    }
    void step_finished(bool cached, double seconds) override {
        if (quiet_) return;
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.2fs", seconds);
        std::cout << (cached ? "--> Using cache (" : "--> done (") << buf << ")" << std::endl;
    }
    OutputFds live_output() const override {
        if (quiet_) return {};
        return {STDOUT_FILENO, STDERR_FILENO};
    }
    void step_failed(const std::string& kept_output) override { std::cerr << kept_output << std::flush; }
    minirun::registry::ProgressMode pull_progress() const override {
        return quiet_ ? minirun::registry::ProgressMode::quiet : minirun::registry::ProgressMode::automatic;
    }

private:
    bool quiet_;
};

void add_build_command(CLI::App& app, minirun::cli::GlobalOptions& g) {
    static minirun::imgbuild::BuildOptions o;
    static std::string context = ".", file;
    static bool quiet = false;
    auto* b = app.add_subcommand("build", "Build an image from a Containerfile (alias: bud)");
    b->alias("bud");
    b->add_option("context", context, "Build context directory")->capture_default_str();
    b->add_option("-f,--file", file, "Containerfile (default: CONTEXT/Containerfile, else CONTEXT/Dockerfile; - for stdin)");
    b->add_option("-t,--tag", o.tags, "Name the image (repeatable)")->allow_extra_args(false);
    b->add_option("--build-arg", o.build_args, "KEY=VALUE for an ARG (repeatable)")->allow_extra_args(false);
    b->add_option("--secret", o.secrets, "id=ID,src=FILE or id=ID,env=VAR: a secret for RUN --mount=type=secret (repeatable)")
        ->allow_extra_args(false);
    b->add_option("--target", o.target, "Build up to this stage");
    b->add_flag("--no-cache", o.no_cache, "Run every step, ignoring the build cache");
    b->add_option("--pull", o.pull, "Pull base images: missing, always or never")->capture_default_str();
    b->add_option("--compression", o.compression, "Layer compression: gzip or zstd")->capture_default_str();
    b->add_option("--output,-o", o.outputs, "Also write oci:DIR or oci-archive:FILE")->allow_extra_args(false);
    b->add_option("--platform", o.platform, "Platform of the base images (os/arch[/variant])");
    b->add_flag("-q,--quiet", quiet, "Print only the image id");
    static std::vector<std::string> labels;
    static std::string iidfile, progress_mode = "auto";
    b->add_option("--label", labels, "KEY=VALUE: a label on the image (repeatable; over the Containerfile's)")
        ->allow_extra_args(false);
    b->add_option("--iidfile", iidfile, "Write the image id to this file");
    b->add_option("--network", o.network, "RUN steps' network unless they say: default (the host's), host or none")
        ->check(CLI::IsMember({"default", "host", "none"}));
    b->add_option("--progress", progress_mode, "auto, plain or tty: the steps as lines (quiet: as -q)")
        ->check(CLI::IsMember({"auto", "plain", "tty", "quiet"}));
    b->callback([&g] {
        if (progress_mode == "quiet") quiet = true;
        for (auto& l : labels) {
            auto eq = l.find('=');
            if (eq == 0) throw minirun::Error("invalid --label \"" + l + "\": no key", minirun::ErrorKind::InvalidArgument);
            o.labels[l.substr(0, eq)] = eq == std::string::npos ? "" : l.substr(eq + 1);
        }
        if (file == "-") {  // the Containerfile from stdin, as `docker build -f -`
            std::stringstream text;
            text << std::cin.rdbuf();
            o.containerfile_text = text.str();
            file.clear();
        }
        o.storage = minirun::cli::storage_root(g);
        o.context = context;
        o.containerfile = file;
        o.registry.insecure_registries = minirun::cli::insecure_registries(g);
        o.source_date_epoch = minirun::imgbuild::source_date_epoch_from_env();
        minirun::imgbuild::install_interrupt_handlers();  // build only: push keeps Ctrl-C's default
        ConsoleProgress progress(quiet);
        o.progress = &progress;
        try {
            auto r = minirun::imgbuild::build_image(o);
            if (!iidfile.empty()) minirun::fs::write_file_atomic(iidfile, r.image_id, 0644);
            if (quiet) {
                std::cout << r.image_id << "\n";
                return;
            }
            for (auto& t : o.tags) std::cout << "Tagged " << t << "\n";
            std::cout << "Image id: " << r.image_id << "\nDigest: " << r.manifest_digest << "\n"
                      << "Steps: " << r.executed_steps << " run, " << r.cached_steps << " cached\n";
        } catch (const minirun::imgbuild::ParseError& e) {
            // The offending line and a caret under the column.
            throw minirun::Error(e.pretty());
        }
    });
}

}  // namespace

int main(int argc, char** argv) {
    minirun::cli::GlobalOptions g;
    CLI::App app{"imgbuild: build OCI images from Containerfiles and push them"};
    app.set_version_flag("--version", "imgbuild 0.1.0");
    app.require_subcommand(1);
    minirun::cli::add_global_options(app, g);
    minirun::cli::add_login_commands(app, g);
    minirun::cli::add_push_command(app, g);
    add_build_command(app, g);
    int rc = minirun::cli::run_app(app, argc, argv, 1);
    // Killed by a signal as the shell reports it: 128 + its number.
    if (int sig = minirun::imgbuild::interrupted_by()) return 128 + sig;
    return rc;
}
