#pragma once
// Pulling an image into the store: manifest (and index) resolution, parallel layer
// downloads hashed while streaming and unpacked while downloading, Range resume.
#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "minirun/image/manifest.hpp"
#include "minirun/registry/client.hpp"
#include "minirun/registry/progress.hpp"

namespace minirun::image {
class ImageSource;
class Store;
struct Reference;
struct ImageRecord;
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

// The image `ref` names in its registry, as an ImageSource (image/image_source.hpp): an
// index is resolved to the manifest for `platform`; blobs stream with Range resume.
// Throws Error (RegistryError for HTTP answers) when the manifest cannot be had.
std::unique_ptr<image::ImageSource> registry_source(const image::Reference& ref, const image::Platform& platform,
                                                    const RegistryOptions& opts);

// copy_image(registry_source → store_sink). Throws Error("pull <ref>: <reason>") and leaves the store as it was (no new image
// reference; only complete, verified blobs and layers may remain).
PullResult pull_image(image::Store& store, const image::Reference& ref, const PullOptions& opts);

// podman's name for an image pulled from an OCI layout: localhost<absolute DIR>:<TAG|latest>.
std::string layout_image_name(const std::filesystem::path& dir, const std::string& tag);
// copy_image(layout_source → store_sink) under that name (`minirun pull oci:DIR[:TAG]`).
PullResult pull_layout(image::Store& store, const std::filesystem::path& dir, const std::string& tag,
                       const PullOptions& opts);

// --pull as run, build (FROM) and apply take it.
enum class PullPolicy { missing, always, never };
// "missing" | "always" | "never"; throws Error naming the value otherwise.
PullPolicy parse_pull_policy(const std::string& text);

// The image `name` as `policy` says: the store's when it has one (missing, never), else
// pulled (missing, always). `announce` runs just before a pull (run's "Unable to find
// image" line). Throws Error when the policy forbids the pull; `where` ("file:line") then
// prefixes the message.
image::ImageRecord ensure_image(image::Store& store, const std::string& name, PullPolicy policy, const PullOptions& opts,
                                const std::function<void(const image::Reference&)>& announce = {},
                                const std::string& where = "");

}  // namespace minirun::registry
