#pragma once
// Layer packing: a directory in overlayfs upper-dir form (whiteouts as char 0:0 devices,
// opaque directories marked with trusted.overlay.opaque) → a layer blob in the store.
// The tar stream is reproducible: entries sorted by name, mtimes clamped to
// SOURCE_DATE_EPOCH, no user/group names, no atime/ctime, a fixed compression level and a
// gzip header without name or time.
#include <cstdint>
#include <filesystem>
#include <string>

#include "minirun/image/manifest.hpp"

namespace minirun::image {

class Store;

enum class Compression { gzip, zstd };

// "gzip" | "zstd"; throws Error naming the flag otherwise.
Compression parse_compression(const std::string& text);
std::string_view layer_media_type(Compression c);

struct PackOptions {
    Compression compression = Compression::gzip;
    int64_t source_date_epoch = 0;  // mtimes later than this are clamped to it
};

struct PackedLayer {
    Descriptor blob;      // media type, digest and size of the compressed blob
    std::string diff_id;  // "sha256:<hex>" of the uncompressed tar stream
    uint64_t entries = 0;
};

// Packs `dir` into a new blob in `store`. `.wh.` entries replace whiteouts and
// `.wh..wh..opq` marks opaque directories; trusted.overlay.* xattrs are dropped.
PackedLayer pack_layer(Store& store, const std::filesystem::path& dir, const PackOptions& opts);
// The same tar stream, uncompressed, written to `out_fd` (`export` of a container's root).
void pack_tree(const std::filesystem::path& dir, int out_fd, const PackOptions& opts);
// The entry `entry_fd` (an O_PATH fd, e.g. from fs::open_in_root) and everything below it
// as a plain tar stream to `out_fd`, named `as` (`minirun cp CONTAINER:PATH -`); an empty
// `as` packs a directory's contents under their own names. Each step below is opened
// O_NOFOLLOW; files keep their times and owners. `what` names the source in errors.
void pack_entry(int entry_fd, const std::string& as, int out_fd, const std::string& what);

}  // namespace minirun::image

namespace minirun::image {
// A tar stream from `fd` (plain, gzip or zstd) stored as an uncompressed layer blob and
// unpacked into the store, as `import` takes a root filesystem. Throws Error naming
// `what` for a stream that is not a tar or exceeds max_bytes.
PackedLayer import_layer(Store& store, int fd, const std::string& what, uint64_t max_bytes);
}  // namespace minirun::image
