#pragma once
// An image in the store read once: its record, manifest and typed config. What `run`,
// `images` and `inspect` consume, instead of each reading the blobs its own way.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "minirun/image/image_config.hpp"
#include "minirun/image/manifest.hpp"
#include "minirun/image/store.hpp"

namespace minirun::image {

struct StoredImage {
    ImageRecord record;
    Manifest manifest;
    ImageConfig config;
    std::string id() const { return manifest.config.digest; }  // the config digest, Docker's image id
    int64_t size() const;                                       // the layers as stored (compressed)
};

// Reads the manifest and the config; throws the store's or the parser's Error when either
// is missing or malformed.
StoredImage load_stored_image(const Store& store, const ImageRecord& rec);
// Throws Error("image X: layer D is not unpacked; pull it again") for the first missing layer.
void require_layers(const Store& store, const StoredImage& img);

// One row of `images`: named images, then the dangling ones (built without -t) as
// <none>/<none>. A damaged image is listed with `damaged` saying why.
struct ImageSummary {
    std::string repository, tag;  // as `docker images` shows them ("alpine", "3.20")
    std::string name, id, digest, created, damaged;
    int64_t size = 0;
    std::map<std::string, std::string> labels;  // the config's, for --filter label=
};
std::vector<ImageSummary> list_image_summaries(const Store& store);
// `inspect` of images (name, reference or id each), Docker's fields; throws
// Error("image not found: X") for the first unknown one.
std::string inspect_images_json(const Store& store, const std::vector<std::string>& names);

}  // namespace minirun::image
