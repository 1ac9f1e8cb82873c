#pragma once
// Pushing an image from the store to a registry (OCI distribution API): per blob a HEAD
// (already there → skipped), a cross-repository mount when sources are given, else an
// upload (monolithic PUT for small blobs, PATCH chunks resumed from the registry's
// reported offset for large ones); layers in parallel, then the config, then the manifest.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "minirun/registry/client.hpp"
#include "minirun/registry/progress.hpp"

namespace minirun::image {
class Store;
struct Reference;
}  // namespace minirun::image

namespace minirun::registry {

struct PushOptions {
    ProgressMode progress = ProgressMode::automatic;
    RegistryOptions registry;
    size_t parallel_blobs = 3;
    uint64_t chunk_size = 8ull << 20;  // blobs this size or larger go up in PATCH chunks of this size
    // Repositories in the same registry to try a cross-repository mount from.
    std::vector<std::string> mount_from;
};

struct PushResult {
    std::string name;    // fully qualified destination reference
    std::string digest;  // manifest digest (what the registry stored for the tag)
    size_t uploaded = 0, mounted = 0, skipped = 0;  // blobs (layers and config)
};

// Pushes store image `source` (a name or id prefix, see image::Store::lookup) to `dest`
// (tag required). Throws Error("push <dest>: <reason>").
PushResult push_image(image::Store& store, const std::string& source, const image::Reference& dest,
                      const PushOptions& opts);

}  // namespace minirun::registry
