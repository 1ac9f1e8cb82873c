#pragma once
// `commit`, `export`, `import`: images from containers and back. `commit`: a container's changes (its overlay upper dir) as one new layer on top of its
// image, with the container's config (command, env, working dir, labels, published ports)
// and Docker's `--change` instructions applied. Runs in imgbuild (minirun hands the command
// over), which links the tar writer.
#include <filesystem>
#include <string>
#include <vector>

#include "minirun/image/layer_pack.hpp"

namespace minirun::imgbuild {

struct CommitOptions {
    std::filesystem::path storage;
    std::string container;             // name or id
    std::string name;                  // REPOSITORY[:TAG]; empty: an unnamed image
    std::string author, message;
    std::vector<std::string> changes;  // CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, USER, VOLUME, WORKDIR, STOPSIGNAL
    image::Compression compression = image::Compression::gzip;
};

// Returns the new image's id (config digest). Throws Error naming the container, the
// change (with its text) or the store problem.
std::string commit_container(const CommitOptions& opts);

// `export`: the container's root filesystem (its image with its changes; volumes left
// out, as Docker's) as a plain tar written to `out_fd`.
void export_container(const std::filesystem::path& storage, const std::string& container, int out_fd);

struct ImportOptions {
    std::filesystem::path storage;
    std::string source_name;           // for the history ("imported from …") and errors
    std::string name;                  // REPOSITORY[:TAG]; empty: unnamed
    std::string message;
    std::vector<std::string> changes;  // as commit's
    std::string platform;              // os/arch[/variant]; empty: this host's
};
// `import`: a tar of a root filesystem (plain, gzip or zstd) read from `in_fd` as a
// one-layer image. Returns its id.
std::string import_tarball(const ImportOptions& opts, int in_fd);

}  // namespace minirun::imgbuild
