#pragma once
// The local image store. `store/` is a plain OCI image layout (readable by skopeo,
// umoci, oci-image-tool); `layers/<hex>` holds each layer unpacked once, keyed by diff id.
//
// Writes are atomic (temp file, verify, fsync, rename). index.json changes under an
// exclusive flock. Pulls hold a shared "gc" lock for their duration so `rmi`'s garbage
// collection (exclusive) never deletes blobs a pull is about to reference.
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "minirun/common/fs.hpp"
#include "minirun/common/sha256.hpp"
#include "minirun/image/manifest.hpp"
#include "minirun/image/oci_layout.hpp"

namespace minirun::image {

struct Reference;

// The digest the registry served for the reference (an index when multi-platform).
inline constexpr std::string_view kRepoDigestAnnotation = "io.minirun.repo.digest";

// Content kept alive by something other than an image name: blob digests' hex and
// unpacked layers' diff-id hex.
struct GcRoots {
    std::set<std::string> blobs;
    std::set<std::string> layers;
};

struct ImageRecord {
    std::string name;  // fully qualified reference, e.g. docker.io/library/alpine:latest
    Descriptor manifest;
};

// Streams one blob into the store: hashing as it goes; commit() checks digest and size.
class BlobWriter {
public:
    explicit BlobWriter(const std::filesystem::path& blobs_dir);
    void write(const void* data, size_t size);
    // Restart from scratch (a server that ignored our Range request).
    void reset();
    uint64_t size() const { return size_; }
    int fd() const { return tmp_.fd(); }
    // Verifies and renames into place. Throws on mismatch (the temp file is removed).
    void commit(const std::string& expected_digest, std::optional<uint64_t> expected_size);
    // For content we produced ourselves: names the blob by its hash; returns the digest.
    std::string commit_new();

private:
    std::filesystem::path blobs_dir_;
    fs::TempFile tmp_;
    Sha256 hash_;
    uint64_t size_ = 0;
};

// Where imgbuild keeps its step cache (one JSON per step naming the layer it made):
// a garbage-collection root until `builder prune` or `system prune` clears it.
std::filesystem::path build_cache_dir(const std::filesystem::path& storage_root);

class Store {
public:
    // Opens (creating when needed) the store under `root`.
    explicit Store(std::filesystem::path root);

    // --storage / $MINIRUN_STORAGE, else /var/lib/minirun as root, else $XDG_DATA_HOME/minirun.
    static std::filesystem::path default_root();

    const std::filesystem::path& root() const { return root_; }
    std::filesystem::path layout_dir() const { return root_ / "store"; }
    std::filesystem::path blob_path(std::string_view digest) const;
    std::filesystem::path layer_dir(std::string_view diff_id) const;
    std::filesystem::path temp_dir() const { return root_ / "tmp"; }

    bool has_blob(std::string_view digest) const;
    bool has_layer(std::string_view diff_id) const;
    // The blob is present and hashes to its name (size too, when given): what a pull may
    // reuse. A damaged one is removed (unless !remove_damaged), so the caller fetches it again.
    bool blob_intact(std::string_view digest, int64_t size = -1, bool remove_damaged = true) const;
    // Reads a small blob and verifies it against its digest.
    std::string read_blob(std::string_view digest, uint64_t max_size = kMaxConfigBytes) const;
    // Writes `data`, returning its digest; checks `expected_digest` when given.
    std::string put_blob(std::string_view data, std::string_view expected_digest = {});
    BlobWriter begin_blob() const { return BlobWriter(root_ / "store/blobs/sha256"); }

    // Moves a freshly unpacked directory into place as layers/<diff id>. When another
    // process got there first, the duplicate is removed and the existing one kept.
    void commit_layer(const std::filesystem::path& unpacked_tmp, std::string_view diff_id);
    // A temp directory under layers/ for unpacking (removed again by sweep when abandoned).
    std::filesystem::path make_layer_tmp() const;

    std::vector<ImageRecord> list_images() const;
    std::optional<ImageRecord> find_image(std::string_view name) const;
    // Looks up a user-typed reference or a (prefix of an) image id / manifest digest.
    std::optional<ImageRecord> lookup(std::string_view text) const;
    void set_image(const std::string& name, const Descriptor& manifest);
    bool remove_image(std::string_view name);
    // An image without a name (`imgbuild build` without -t): kept in index.json with no
    // ref-name annotation, found by id (lookup), listed by neither `images` nor list_images.
    void add_unnamed(const Descriptor& manifest);
    bool remove_unnamed(std::string_view manifest_digest);
    std::vector<ImageRecord> list_unnamed() const;

    // Removes blobs and unpacked layers that neither an image name nor `extra` (what
    // containers still use) references; returns how many went.
    size_t garbage_collect(const GcRoots& extra = {});
    // The image id (config digest) of a named image; empty when its manifest is unreadable.
    std::string image_id(const ImageRecord& rec) const;
    // Removes temp files and directories whose creating process is gone.
    void sweep_leftovers() const;

    // Held for the duration of a pull: blocks garbage collection, not other pulls.
    class PullGuard {
    public:
        explicit PullGuard(const Store& s);
        ~PullGuard();
        PullGuard(const PullGuard&) = delete;
        PullGuard& operator=(const PullGuard&) = delete;

    private:
        fs::UniqueFd fd_;
    };

private:
    // Drops the index entries `doomed` picks, under the store lock; false when none matched.
    bool remove_entries(const std::function<bool(const ImageRecord&)>& doomed);
    std::vector<ImageRecord> read_index() const;
    void write_index(const std::vector<ImageRecord>& images);
    std::filesystem::path root_;
};

// Recursively removes a tree, clearing immutable obstacles such as read-only dirs.
void remove_tree(const std::filesystem::path& p);

}  // namespace minirun::image
