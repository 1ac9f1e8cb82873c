#pragma once
// imgbuild's step cache: what a step's key is, and which layer (or none) a key produced.
// Entries are small JSON files under build_cache_dir, written atomically; an entry whose
// layer was garbage-collected since reads as a miss. The store's garbage collector keeps
// the layers they name (add_roots) until `builder prune`.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "minirun/image/manifest.hpp"
#include "minirun/image/store.hpp"

namespace minirun::image {

// A layer as a manifest names it (the compressed blob) and as the store keeps it (diff id).
struct LayerRef {
    Descriptor blob;
    std::string diff_id;
};

// What a cached step produced: a layer, or no layer (the step changed no file).
using CachedStep = std::optional<LayerRef>;

struct StepKeyInputs {
    std::string parent_chain;  // the key of the step before (or the base image's chain)
    std::string instruction;   // the expanded instruction with everything it reads
    std::string compression;   // gzip | zstd: a different blob for the same diff
    int64_t source_date_epoch = 0;
};

// The step's cache key (a sha256 digest); it also becomes the next step's parent chain.
std::string step_key(const StepKeyInputs& in);

// One step entry as `system df -v` lists it.
struct BuildCacheEntry {
    std::string key;
    std::optional<CachedStep> step;  // nullopt: unreadable
    int64_t created = 0, last_used = 0;  // unix seconds: written, last found by a build
};

class BuildCache {
public:
    explicit BuildCache(const Store& store) : store_(store), dir_(build_cache_dir(store.root())) {}

    // nullopt: a miss (no entry, an unreadable one, or its layer is gone).
    std::optional<CachedStep> find(const std::string& key) const;
    void remember(const std::string& key, const CachedStep& step) const;

    // COPY sources: a digest of their stat data remembers their content digest.
    std::optional<std::string> content_digest_for(const std::string& stat_digest_hex) const;
    void remember_content_digest(const std::string& stat_digest_hex, const std::string& content_digest) const;

    // The blobs and layers the entries name: kept by garbage collection.
    void add_roots(GcRoots& roots) const;
    // Every step entry (not the stat memos), sorted by key.
    std::vector<BuildCacheEntry> entries() const;
    // Forgets every entry and memo; returns how many step entries went.
    size_t prune() const;

private:
    std::filesystem::path entry(const std::string& key) const;
    const Store& store_;
    std::filesystem::path dir_;
};

}  // namespace minirun::image
