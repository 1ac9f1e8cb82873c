#pragma once
// `save` and `load`: images as one tar file, in the two formats Docker and podman trade.
//   docker-archive: manifest.json [{Config, RepoTags, Layers}], each layer an uncompressed
//                   tar named by its diff id, the config as <id>.json (`docker save`,
//                   podman's default)
//   oci-archive:    an OCI image layout tarred (`podman save --format oci-archive`), each
//                   image named by its org.opencontainers.image.ref.name annotation
// load takes either (Docker 25's archives, which carry both, through manifest.json),
// plain, gzip- or zstd-compressed, and treats it as untrusted: only regular files,
// directories and links that stay inside the archive; sizes capped.
#include <cstdint>
#include <string>
#include <vector>

namespace minirun::image {

class Store;

enum class ArchiveFormat { docker, oci };
// "docker-archive" | "oci-archive"; throws Error(InvalidArgument) naming the value.
ArchiveFormat parse_archive_format(const std::string& text);

// Writes the images (names, references or ids as `lookup` takes them) to `out_fd`.
// Throws Error("image not found: X") before writing anything when one is unknown.
void save_images(const Store& store, const std::vector<std::string>& images, ArchiveFormat format, int out_fd,
                 const std::string& out_name);

struct LoadedImage {
    std::string name;  // empty: the archive gave it none (`Loaded image ID`)
    std::string id;    // the config digest
};
// Reads an archive from `in_fd` into the store: every layer unpacked and checked against
// its config's diff ids, each name written last. `in_name` names the input in errors.
std::vector<LoadedImage> load_images(Store& store, int in_fd, const std::string& in_name, uint64_t max_layer_bytes);

}  // namespace minirun::image
