// imgbuild: build OCI images from Containerfiles and push them. A thin front end.
#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "cli_common.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/common/error.hpp"
#include "minirun/common/events.hpp"
#include "minirun/image/layer_pack.hpp"
#include "minirun/imgbuild/builder.hpp"
#include "minirun/imgbuild/commit.hpp"
#include "minirun/imgbuild/container_tar.hpp"
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
    b->add_option("--ssh", o.ssh,
                  "default|ID[=SOCKET|KEY[,KEY...]]: an ssh agent for RUN --mount=type=ssh (default: $SSH_AUTH_SOCK; key files are loaded into an agent of the build's own) (repeatable)")
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
            for (auto& t : o.tags) minirun::events::record(o.storage, {"image", "tag", r.image_id, {{"name", t}}, 0});
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

// commit, export and import; minirun hands its own spellings of them over to these.
void add_container_image_commands(CLI::App& app, minirun::cli::GlobalOptions& g) {
    namespace mi = minirun::imgbuild;
    static mi::CommitOptions c;
    static std::string compression = "gzip";
    auto* commit = app.add_subcommand("commit", "Make an image of a container's changes");
    commit->add_option("container", c.container, "Container name or id")->required();
    commit->add_option("image", c.name, "REPOSITORY[:TAG] to name it (default: unnamed)");
    commit->add_option("-a,--author", c.author, "Author");
    commit->add_option("-m,--message", c.message, "Commit message (the history's comment)");
    commit->add_option("-c,--change", c.changes, "Dockerfile instruction: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, "
                                                  "USER, VOLUME, WORKDIR, STOPSIGNAL (repeatable)")
        ->allow_extra_args(false);
    static bool pause = true;
    commit->add_flag("-p,--pause", pause, "Accepted for Docker's scripts (the container is not paused)");
    commit->add_option("--compression", compression, "Layer compression: gzip or zstd")->capture_default_str();
    static bool commit_quiet = false;
    commit->add_flag("-q,--quiet", commit_quiet, "Accepted (only the id is printed anyway)");
    commit->callback([&g] {
        c.storage = minirun::cli::storage_root(g);
        c.compression = minirun::image::parse_compression(compression);
        std::string id = mi::commit_container(c);
        minirun::events::record(c.storage, {"container", "commit", c.container, {{"imageID", id}, {"name", c.name}}, 0});
        std::cout << id << "\n";
    });

    // `minirun cp CONTAINER:PATH -` lands here (minirun has no tar writer).
    static std::string cp_src, cp_dst;
    static bool cp_archive = false, cp_follow = false, cp_quiet = false;
    auto* cp = app.add_subcommand("cp", "Write CONTAINER:PATH as a tar stream on standard output (DEST is -)");
    cp->group("");  // minirun's `cp` is the documented one
    cp->add_option("src", cp_src, "CONTAINER:PATH")->required();
    cp->add_option("dest", cp_dst, "-")->required();
    cp->add_flag("-a,--archive", cp_archive, "Accepted (a tar stream always keeps owners)");
    cp->add_flag("-L,--follow-link", cp_follow, "Write what a symlink SRC points at");
    cp->add_flag("-q,--quiet", cp_quiet, "Accepted for Docker's scripts");
    cp->callback([&g] {
        auto colon = cp_src.find(':');
        if (cp_dst != "-" || colon == std::string::npos || colon == 0 || cp_src[0] == '/' || cp_src[0] == '.')
            throw minirun::Error("cp: imgbuild writes CONTAINER:PATH to \"-\" only; use `minirun cp` for the other forms",
                                 minirun::ErrorKind::InvalidArgument);
        if (::isatty(STDOUT_FILENO))
            throw minirun::Error("cp: refusing to write a tar stream to a terminal: redirect the output",
                                 minirun::ErrorKind::InvalidArgument);
        std::string path = cp_src.substr(colon + 1);
        if (path.empty()) throw minirun::Error("cp: " + cp_src + ": no path after the container name", minirun::ErrorKind::InvalidArgument);
        mi::copy_out_as_tar(minirun::cli::storage_root(g), cp_src.substr(0, colon), path, cp_follow, STDOUT_FILENO);
    });

    static std::string export_container, export_output;
    auto* exp = app.add_subcommand("export", "Write a container's root filesystem as a tar");
    exp->add_option("container", export_container, "Container name or id")->required();
    exp->add_option("-o,--output", export_output, "Write to this file (atomically) instead of standard output");
    exp->callback([&g] {
        auto storage = minirun::cli::storage_root(g);
        if (export_output.empty()) {
            if (::isatty(STDOUT_FILENO))
                throw minirun::Error("export: refusing to write a tar to a terminal: use -o FILE or redirect the output",
                                     minirun::ErrorKind::InvalidArgument);
            mi::export_container(storage, export_container, STDOUT_FILENO);
            return;
        }
        std::filesystem::path out = export_output;
        minirun::fs::TempFile tmp(out.has_parent_path() ? out.parent_path() : std::filesystem::path("."));
        mi::export_container(storage, export_container, tmp.fd());
        tmp.commit(out);
    });

    static mi::ImportOptions im;
    static std::string import_file;
    auto* imp = app.add_subcommand("import", "Make a one-layer image of a root filesystem tar (plain, gzip or zstd)");
    imp->add_option("file", import_file, "The tar file, or - for standard input")->required();
    imp->add_option("image", im.name, "REPOSITORY[:TAG] to name it (default: unnamed)");
    imp->add_option("-m,--message", im.message, "The history's comment");
    imp->add_option("-c,--change", im.changes, "Dockerfile instruction, as commit's (repeatable)")->allow_extra_args(false);
    imp->add_option("--platform", im.platform, "os/arch[/variant] the image says it is for (default: this host's)");
    imp->callback([&g] {
        im.storage = minirun::cli::storage_root(g);
        minirun::fs::UniqueFd file;
        int fd = STDIN_FILENO;
        im.source_name = import_file == "-" ? "standard input" : import_file;
        if (import_file != "-") {
            file.reset(::open(import_file.c_str(), O_RDONLY | O_CLOEXEC));
            if (!file) minirun::throw_errno("import: open " + import_file);
            fd = file.get();
        }
        std::string id = mi::import_tarball(im, fd);
        minirun::events::record(im.storage, {"image", "import", id, {{"name", im.name}}, 0});
        std::cout << id << "\n";
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
    add_container_image_commands(app, g);
    int rc = minirun::cli::run_app(app, argc, argv, 1);
    // Killed by a signal as the shell reports it: 128 + its number.
    if (int sig = minirun::imgbuild::interrupted_by()) return 128 + sig;
    return rc;
}
