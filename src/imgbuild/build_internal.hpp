#pragma once
// Pieces of the builder shared by its source files (not a public interface).
#include <cstdint>
#include <string>
#include <vector>

#include "minirun/image/build_cache.hpp"
#include "minirun/image/layer_pack.hpp"
#include "minirun/image/manifest.hpp"
#include "minirun/runtime/spec.hpp"

namespace minirun::image {
class Store;
}

namespace minirun::imgbuild::detail {

using Layer = image::LayerRef;

// An overlay of a parent's layers: writable with a fresh upper dir (the step's diff, which
// becomes the new layer), or a read-only view (COPY --from a stage, name lookups).
class StepRoot {
public:
    StepRoot(image::Store& store, const std::vector<std::string>& diff_ids, bool writable);
    ~StepRoot();
    StepRoot(const StepRoot&) = delete;
    StepRoot& operator=(const StepRoot&) = delete;

    const std::string& bundle() const { return bundle_; }
    std::string rootfs() const { return bundle_ + "/rootfs"; }
    int root_fd() const { return root_fd_; }
    // Whether the step wrote anything (the upper dir is not empty).
    bool changed() const;
    // A directory (absolute in the rootfs) the step may have copied up only to create and
    // remove a mount point in it: dropped from the diff at commit when it is left empty.
    void prune_if_empty(const std::string& dir) { prune_.push_back(dir); }
    // Unmounts, packs the upper dir into a blob and moves it to layers/<diff id>.
    Layer commit(const image::PackOptions& opts);

private:
    void unmount();
    void release() noexcept;
    image::Store& store_;
    std::string bundle_, upper_, empty_;
    std::vector<std::string> prune_;
    int root_fd_ = -1;
    bool mounted_ = false;
};

struct RunStep {
    std::vector<std::string> args;
    std::vector<std::string> env;
    std::string cwd = "/";
    std::string user;  // USER as written: name or uid[:group]
    bool network_none = false;
    // RUN --mount: binds (context, stage), cache dirs and tmpfs, by container path.
    std::vector<runtime::Mount> mounts;
    // Files to bind read-only into the container's /dev (heredoc scripts): host path, name.
    std::vector<std::pair<std::string, std::string>> scripts;
    // Where stdout and stderr go as it runs; -1 (either): both kept back and returned.
    int stdout_fd = -1, stderr_fd = -1;
};

// Runs a RUN step's process in a container on `root` through the runtime core and returns
// its exit status. Mount points the runtime had to create are removed again, so they do
// not end up in the layer.
int run_step(image::Store& store, StepRoot& root, const RunStep& step, std::string& output);

// ADD <url>: streams the body into `out_fd`, checking `checksum` ("sha256:…") when given.
struct Download {
    std::string digest;  // of the body
    int64_t mtime = 0;   // Last-Modified (seconds since the epoch), 0 when the server sent none
};
Download download_url(const std::string& url, int out_fd, const std::string& checksum);

}  // namespace minirun::imgbuild::detail
