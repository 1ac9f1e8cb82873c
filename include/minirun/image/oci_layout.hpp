#pragma once
// An OCI image layout directory (image-spec "image-layout"): oci-layout, index.json and
// blobs/sha256/<hex>. The one reader and writer of these files: the store keeps its images
// in one, and `imgbuild build --output oci:DIR` writes one.
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "minirun/image/manifest.hpp"

namespace minirun::image {

// The annotation OCI layouts use to name an image.
inline constexpr std::string_view kRefNameAnnotation = "org.opencontainers.image.ref.name";

class OciLayout {
public:
    explicit OciLayout(std::filesystem::path dir) : dir_(std::move(dir)) {}

    const std::filesystem::path& dir() const { return dir_; }
    std::filesystem::path index_path() const { return dir_ / "index.json"; }
    std::filesystem::path blob_path(std::string_view digest) const;

    // Creates blobs/sha256, oci-layout and an empty index.json where they are missing.
    void init() const;
    // index.json's manifests; throws Error naming the file when it is not a valid index.
    std::vector<Descriptor> manifests() const;
    // Replaces index.json atomically (temp file, fsync, rename).
    void write_manifests(const std::vector<Descriptor>& manifests) const;
    // Names `manifest` ref_name (the org.opencontainers.image.ref.name annotation),
    // replacing the entry that had that name.
    void set_ref(const std::string& ref_name, Descriptor manifest) const;

private:
    std::filesystem::path dir_;
};

}  // namespace minirun::image
