#pragma once
// Pushing an image (from the store or an OCI layout) to a registry (OCI distribution API): per blob a HEAD
// (already there → skipped), a cross-repository mount when sources are given, else an
// upload (one PUT for small blobs; large ones streamed with PATCH, resumed from the
// registry's reported offset); layers in parallel, then the config, then the manifest.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "minirun/registry/client.hpp"
#include "minirun/registry/progress.hpp"

namespace minirun::image {
class ImageSink;
class ImageSource;
struct Reference;
}  // namespace minirun::image

namespace minirun::registry {

struct PushOptions {
    ProgressMode progress = ProgressMode::automatic;
    RegistryOptions registry;
    size_t parallel_blobs = 3;
    // Blobs this size or larger are streamed with PATCH (resumable from the offset the
    // registry reports), smaller ones go in one PUT.
    uint64_t patch_threshold = 8ull << 20;
    // Bytes per PATCH request; 0: the whole rest of the blob in one request. One PATCH
    // is what docker and skopeo send, and what registries digest fastest (docker-registry
    // persists its hash state per request; its monolithic PUT even re-reads the blob).
    uint64_t chunk_size = 0;
    // Repositories in the same registry to try a cross-repository mount from.
    std::vector<std::string> mount_from;
};

struct PushResult {
    std::string name;    // fully qualified destination reference
    std::string digest;  // manifest digest (what the registry stored for the tag)
    size_t uploaded = 0, mounted = 0, skipped = 0;  // blobs (layers and config)
};

// The repository `dest` names, as an ImageSink; set_manifest tags it dest.tag (required:
// Error(InvalidArgument) otherwise).
std::unique_ptr<image::ImageSink> registry_sink(const image::Reference& dest, const PushOptions& opts);

// copy_image(source → registry_sink). Pushes `source` (the store's image, an OCI layout's: image/image_source.hpp) to `dest`
// (tag required). Throws Error("push <dest>: <reason>").
PushResult push_image(const image::ImageSource& source, const image::Reference& dest, const PushOptions& opts);

}  // namespace minirun::registry
