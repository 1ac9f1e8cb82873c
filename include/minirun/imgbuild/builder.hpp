#pragma once
// `imgbuild build`: a Containerfile and its context into an OCI image in the store.
// Stages are built as the target needs them; each filesystem step (RUN, COPY, ADD, a
// WORKDIR that creates its directory) runs on an overlay of its parent's layers and its
// upper dir becomes the layer; steps are cached by parent chain, expanded instruction and
// the content of the files they read; tars and compression are reproducible.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "minirun/registry/client.hpp"
#include "minirun/registry/progress.hpp"

namespace minirun::imgbuild {

// What a build tells its user, step by step. The builder decides what happens; the
// front end decides how it looks. The defaults are silent: a library caller gets no output.
class BuildProgress {
public:
    virtual ~BuildProgress() = default;
    // A Containerfile instruction (or a stage's FROM) begins: step `number` of `total`.
    virtual void step_started(size_t /*number*/, size_t /*total*/, const std::string& /*instruction*/) {}
    // An ONBUILD trigger of the base image runs, as part of the FROM step.
    virtual void trigger_started(const std::string& /*instruction*/) {}
    virtual void step_finished(bool /*cached*/, double /*seconds*/) {}
    // Where a RUN step's stdout and stderr go while it runs; -1 keeps them back for step_failed.
    struct OutputFds {
        int out = -1, err = -1;
    };
    virtual OutputFds live_output() const { return {}; }
    // A RUN step failed: the output kept back (empty when it went to live_output_fd).
    virtual void step_failed(const std::string& /*kept_output*/) {}
    // How base image pulls report their downloads.
    virtual registry::ProgressMode pull_progress() const { return registry::ProgressMode::quiet; }
};

struct BuildOptions {
    std::filesystem::path storage;
    std::filesystem::path context = ".";
    std::filesystem::path containerfile;  // empty: Containerfile, else Dockerfile, in the context
    std::vector<std::string> tags;
    std::vector<std::string> build_args;  // KEY=VALUE, or KEY to take it from our environment
    std::vector<std::string> secrets;     // --secret id=ID,src=FILE|env=VAR (see secrets.hpp)
    std::vector<std::string> ssh;         // --ssh default|ID[=SOCKET|KEY[,KEY…]] (see ssh_agent.hpp)
    std::string target;                   // stage name or index; empty: the last stage
    bool no_cache = false;
    std::string pull = "missing";         // missing | always | never (base images)
    std::string compression = "gzip";     // gzip | zstd
    std::vector<std::string> outputs;     // oci:DIR, oci-archive:FILE
    BuildProgress* progress = nullptr;    // null: silent
    int64_t source_date_epoch = 0;
    std::string platform;                 // os/arch[/variant] for base images
    registry::RegistryOptions registry;
    std::map<std::string, std::string> labels;  // --label: over the Containerfile's LABELs
    std::string network = "default";            // --network: RUN steps' default (host, none)
    // -f -: the Containerfile's text (read from stdin by the CLI); errors name it "stdin".
    std::optional<std::string> containerfile_text;
};

struct BuildResult {
    std::string image_id;         // config digest
    std::string manifest_digest;
    uint64_t cached_steps = 0, executed_steps = 0;
};

BuildResult build_image(const BuildOptions& opts);

// SIGINT/SIGTERM/SIGHUP to imgbuild (by pid, not only a terminal's Ctrl-C): the running RUN
// step's whole container is killed, the build stops with an error and tags nothing.
void install_interrupt_handlers();
// The signal that interrupted the build, or 0.
int interrupted_by();
// Throws when a signal has arrived: called between steps and before tagging.
void check_interrupted();

// SOURCE_DATE_EPOCH from the environment (0 when unset); throws on a malformed value.
int64_t source_date_epoch_from_env();

}  // namespace minirun::imgbuild
