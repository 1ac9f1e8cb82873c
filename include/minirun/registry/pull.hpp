#pragma once
// Pulling an image into the store: manifest (and index) resolution, parallel layer
// downloads hashed while streaming and unpacked while downloading, Range resume.
#include <cstddef>
#include <string>

#include "minirun/image/manifest.hpp"
#include "minirun/registry/client.hpp"
#include "minirun/registry/progress.hpp"

namespace minirun::image {
class Store;
struct Reference;
}  // namespace minirun::image

namespace minirun::registry {

struct PullOptions {
    image::Platform platform = image::Platform::host();
    ProgressMode progress = ProgressMode::automatic;
    RegistryOptions registry;
    size_t parallel_layers = 3;
    uint64_t max_layer_bytes = 64ull << 30;  // uncompressed size cap per layer
};

struct PullResult {
    std::string name;             // fully qualified reference stored
    std::string digest;           // what the registry served for the reference (index or manifest)
    std::string manifest_digest;  // the platform manifest stored
    std::string image_id;         // config digest
    size_t layers_downloaded = 0;
    size_t layers_present = 0;
};

// Throws Error("pull <ref>: <reason>") and leaves the store as it was (no new image
// reference; only complete, verified blobs and layers may remain).
PullResult pull_image(image::Store& store, const image::Reference& ref, const PullOptions& opts);

}  // namespace minirun::registry
