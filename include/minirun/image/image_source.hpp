#pragma once
// An image wherever it lies, read and written through one pair of interfaces (after
// go-containerregistry's v1.Image with its layout/remote packages): an ImageSource names
// the manifest and streams blobs, an ImageSink takes blobs and names a manifest, and
// copy_image moves an image between any two, layers in parallel with progress.
//   sources: the store, an OCI layout directory, a registry (registry/remote_image.hpp)
//   sinks:   the store (unpacking each layer as it streams in), an OCI layout directory,
//            a registry (registry/remote_image.hpp)
// So pull is copy_image(registry → store), push copy_image(store or layout → registry),
// `imgbuild --output oci:DIR` copy_image(store → layout); run and FROM take a pulled image
// through registry::ensure_image.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "minirun/common/fs.hpp"
#include "minirun/image/manifest.hpp"

namespace minirun::image {

class Store;

// Where a source writes a blob's bytes (ImageSource::stream_blob).
class BlobStream {
public:
    virtual ~BlobStream() = default;
    // Bytes taken so far: a source that can resume continues from here.
    virtual uint64_t received() const = 0;
    // Throws to stop the source (a local failure, a cancelled copy).
    virtual void write(const char* data, size_t size) = 0;
    // The source starts again from byte 0 (a server that ignored a Range request).
    virtual void restart() = 0;
};

// One blob on its way into a sink, as copy_image drives it: the sink reports how many
// bytes it holds, and gives up when another blob's failure cancelled the copy.
class BlobTransfer {
public:
    virtual ~BlobTransfer() = default;
    virtual void bytes(uint64_t held) = 0;
    virtual bool cancelled() const = 0;
};

// What a sink did with one blob; the progress line and the pull/push counts come from it.
enum class BlobOutcome {
    present,  // the sink had it
    mounted,  // a registry took it from another repository
    reused,   // the sink had the blob but not its unpacked layer, and unpacked it
    copied,   // its bytes went over
};

class ImageSource {
public:
    virtual ~ImageSource() = default;
    // Where it lies, for errors: "the store", "oci:/srv/out", "registry 127.0.0.1:5000/app:1".
    virtual std::string location() const = 0;
    // The image's manifest (an image manifest or an index) as its index lists it.
    virtual const Descriptor& manifest() const = 0;
    virtual bool has_blob(std::string_view digest) const = 0;
    // Read-only; throws Error(NotFound) naming the blob and the source when it is absent.
    virtual fs::UniqueFd open_blob(std::string_view digest) const = 0;
    // A file holding the blob, when the source keeps blobs as files (a sink may link it).
    virtual std::optional<std::filesystem::path> blob_file(std::string_view digest) const = 0;
    // True when has_blob is cheap (no network): copy_image then checks every blob before
    // it writes anything.
    virtual bool local() const { return true; }
    // Writes blob `d` into `out` from out.received() on. The default reads open_blob.
    virtual void stream_blob(const Descriptor& d, BlobStream& out) const;
    // Whole blob, at most max_size bytes (manifests, configs).
    virtual std::string read_blob(std::string_view digest, uint64_t max_size) const;
};

class ImageSink {
public:
    virtual ~ImageSink() = default;
    virtual bool has_blob(std::string_view digest) const = 0;
    // Takes blob `d` from `from`, checking its digest and size on the way in.
    virtual BlobOutcome put_blob(const Descriptor& d, const ImageSource& from, BlobTransfer& transfer) = 0;
    // A layer, with the diff id its image's config gives it (empty unless needs_diff_ids).
    virtual BlobOutcome put_layer(const Descriptor& d, const std::string& diff_id, const ImageSource& from,
                                  BlobTransfer& transfer) {
        (void)diff_id;
        return put_blob(d, from, transfer);
    }
    // A sink that unpacks layers (the store) checks each against the config's diff id.
    virtual bool needs_diff_ids() const { return false; }
    // Stores the manifest (`bytes`, already verified against `manifest.digest`) and names
    // it as the image this sink holds; last, so a reader never finds a manifest whose
    // blobs are missing. `manifest` carries the image's platform.
    virtual void set_manifest(const Descriptor& manifest, const std::string& bytes) = 0;
};

// Where copy_image reports progress (registry::Progress draws it).
class TransferObserver {
public:
    virtual ~TransferObserver() = default;
    virtual size_t add(const std::string& digest, int64_t total) = 0;  // returns a slot
    virtual void set_bytes(size_t slot, uint64_t bytes) = 0;
    virtual void finish(size_t slot, const std::string& status) = 0;
};

// An image manifest read from a source, with every blob it names checked present (when
// `check_blobs`): what copy_image starts from. Throws Error naming the source for an
// index (not supported yet), a malformed manifest or a missing blob.
struct SourceImage {
    std::string manifest_bytes;
    std::string media_type;  // the descriptor's, else the manifest's own
    Manifest manifest;
};
SourceImage read_source_image(const ImageSource& source, bool check_blobs = true);

struct CopyOptions {
    size_t parallel = 3;                  // layers in flight at once
    TransferObserver* observer = nullptr; // none: silent
};

struct CopyResult {
    std::string manifest_digest, config_digest;
    std::optional<Platform> platform;  // the config's
    struct Counts {
        size_t present = 0, mounted = 0, reused = 0, copied = 0;
    } layers;                                     // distinct layers
    BlobOutcome config = BlobOutcome::present;  // also when the config is one of the layers
};

// Moves an image: layers in parallel (the first failure cancels the rest and is thrown),
// then the config, then the manifest, which names it. What the sink has already is not
// copied again.
CopyResult copy_image(const ImageSource& from, ImageSink& to, const CopyOptions& opts = {});

// Store image `name_or_id` (see Store::lookup); throws Error(NotFound) when there is none.
std::unique_ptr<ImageSource> store_source(const Store& store, std::string_view name_or_id);
// The store's image with this manifest (one just built, not named yet).
std::unique_ptr<ImageSource> store_source(const Store& store, const Descriptor& manifest);
// The image named ref_name in an OCI layout (the org.opencontainers.image.ref.name
// annotation); an empty ref_name takes the layout's only image.
std::unique_ptr<ImageSource> layout_source(const std::filesystem::path& dir, const std::string& ref_name);
// An OCI layout (created when missing) whose image ref_name is replaced.
std::unique_ptr<ImageSink> layout_sink(const std::filesystem::path& dir, const std::string& ref_name);
// The store, naming the image `name` (a full reference; empty: unnamed, found by id). Holds the store's pull guard
// (garbage collection waits) while it lives; each layer is unpacked as it streams in,
// checked against the config's diff id, and capped at max_layer_bytes uncompressed.
std::unique_ptr<ImageSink> store_sink(Store& store, std::string name, uint64_t max_layer_bytes);
// Unpacks a stored layer blob into layers/<diff_id>, checked against the diff id (always:
// a blob whose layer is present may still not be that layer): the store sink's path for a
// blob it already had, and commit's and import's.
void ensure_unpacked(Store& store, const Descriptor& blob, const std::string& diff_id, uint64_t max_bytes = 64ull << 30);

// "oci:DIR[:TAG]" as skopeo and buildah spell the transport → (DIR, TAG); nullopt when
// `text` does not start with "oci:". Throws Error for "oci:" without a directory.
std::optional<std::pair<std::string, std::string>> parse_oci_transport(std::string_view text,
                                                                      std::string_view transport = "oci");

}  // namespace minirun::image
