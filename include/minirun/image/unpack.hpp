#pragma once
// Hardened unpacking of one image layer (a tar stream, gzip/zstd/plain) into a directory.
#include <cstdint>
#include <filesystem>
#include <string>

namespace minirun::image {

struct UnpackOptions {
    // Name used in error messages, normally the layer's blob digest.
    std::string layer_name;
    // Refuse a layer whose uncompressed tar stream exceeds this many bytes.
    uint64_t max_uncompressed_bytes = 64ull << 30;
    // Create device nodes (only meaningful as root); otherwise they are skipped with a warning.
    bool allow_devices = false;
    // Turn `.wh.NAME` into an overlayfs whiteout (char device 0:0) and `.wh..wh..opq` into the
    // trusted.overlay.opaque="y" xattr; when false the .wh. files are kept as plain empty files.
    bool overlay_whiteouts = false;
    // Restore owners (uid/gid) from the archive (root only).
    bool preserve_owners = false;
};

struct UnpackResult {
    std::string diff_id;            // "sha256:<hex>" of the uncompressed tar stream
    uint64_t uncompressed_size = 0;  // bytes of the uncompressed tar stream
    uint64_t entries = 0;
};

// Options suited to the current process: devices, owners and overlay whiteouts when root.
UnpackOptions default_unpack_options(const std::string& layer_name);

// Reads the whole stream from `fd` (compression detected from magic bytes) and extracts it
// into `dest`, an existing empty directory. Nothing is ever created or written outside
// `dest`. On error throws minirun::Error("layer <name>: entry \"<path>\": <reason>"); the
// caller removes `dest`.
UnpackResult unpack_layer(int fd, const std::filesystem::path& dest, const UnpackOptions& opts);

}  // namespace minirun::image
