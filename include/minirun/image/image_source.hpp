#pragma once
// An image wherever it lies, read and written through one pair of interfaces (after
// go-containerregistry's v1.Image with its layout/remote packages): an ImageSource names
// the manifest and opens blobs, an ImageSink takes blobs and names a manifest, and
// copy_image moves an image between any two. Sources: the store, an OCI image layout
// directory. Sinks: an OCI image layout directory. A registry is a sink through
// registry::push_image, which reads any ImageSource; `imgbuild --output oci:DIR` is
// copy_image(store → layout). Pulls from a registry stream each layer into the store while
// unpacking it, so they keep their own path (registry/pull.hpp).
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "minirun/common/fs.hpp"
#include "minirun/image/manifest.hpp"

namespace minirun::image {

class Store;

class ImageSource {
public:
    virtual ~ImageSource() = default;
    // Where it lies, for errors: "the store", "oci:/srv/out".
    virtual std::string location() const = 0;
    // The image's manifest (an image manifest or an index) as its index lists it.
    virtual const Descriptor& manifest() const = 0;
    virtual bool has_blob(std::string_view digest) const = 0;
    // Read-only; throws Error(NotFound) naming the blob and the source when it is absent.
    virtual fs::UniqueFd open_blob(std::string_view digest) const = 0;
    // A file holding the blob, when the source keeps blobs as files (a sink may link it).
    virtual std::optional<std::filesystem::path> blob_file(std::string_view digest) const = 0;

    // Whole blob, at most max_size bytes (manifests, configs).
    std::string read_blob(std::string_view digest, uint64_t max_size) const;
};

class ImageSink {
public:
    virtual ~ImageSink() = default;
    virtual bool has_blob(std::string_view digest) const = 0;
    // Takes blob `d` from `from`, checking its digest and size on the way in.
    virtual void put_blob(const Descriptor& d, const ImageSource& from) = 0;
    // Names `manifest` (its blob already put) as the image this sink holds.
    virtual void set_manifest(const Descriptor& manifest) = 0;
};

// An image manifest read from a source, with every blob it names checked present: what
// push and copy_image start from. Throws Error naming the source for an index (not
// supported yet), a malformed manifest or a missing blob.
struct SourceImage {
    std::string manifest_bytes;
    std::string media_type;  // the descriptor's, else the manifest's own
    Manifest manifest;
};
SourceImage read_source_image(const ImageSource& source);

// Copies manifest, config and layers that `to` lacks, then names the manifest there.
void copy_image(const ImageSource& from, ImageSink& to);

// Store image `name_or_id` (see Store::lookup); throws Error(NotFound) when there is none.
std::unique_ptr<ImageSource> store_source(const Store& store, std::string_view name_or_id);
// The store's image with this manifest (one just built, not named yet).
std::unique_ptr<ImageSource> store_source(const Store& store, const Descriptor& manifest);
// The image named ref_name in an OCI layout (the org.opencontainers.image.ref.name
// annotation); an empty ref_name takes the layout's only image.
std::unique_ptr<ImageSource> layout_source(const std::filesystem::path& dir, const std::string& ref_name);
// An OCI layout (created when missing) whose image ref_name is replaced.
std::unique_ptr<ImageSink> layout_sink(const std::filesystem::path& dir, const std::string& ref_name);

// "oci:DIR[:TAG]" as skopeo and buildah spell the transport → (DIR, TAG); nullopt when
// `text` does not start with "oci:". Throws Error for "oci:" without a directory.
std::optional<std::pair<std::string, std::string>> parse_oci_transport(std::string_view text,
                                                                      std::string_view transport = "oci");

}  // namespace minirun::image
