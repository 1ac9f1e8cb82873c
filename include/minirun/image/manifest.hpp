#pragma once
// OCI / Docker schema2 manifest, index and config types, parsed defensively
// (they come from registries and are untrusted).
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace minirun::image {

namespace media {
inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kOciLayerTar = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view kOciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view kOciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr std::string_view kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerList = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view kDockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr std::string_view kDockerForeignLayer = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
// What a pull asks a registry for, in order of preference.
inline constexpr std::string_view kAcceptManifests =
    "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";
}  // namespace media

// Largest manifest / config we accept: real ones are a few KB.
inline constexpr uint64_t kMaxManifestBytes = 4ull << 20;
inline constexpr uint64_t kMaxConfigBytes = 16ull << 20;

struct Platform {
    std::string os;
    std::string architecture;
    std::string variant;

    static Platform host();
    // "os/arch[/variant]"; throws Error on a malformed value.
    static Platform parse(std::string_view text);
    std::string str() const;
    // True when this (an index entry's platform) satisfies `want`; an empty variant in
    // `want` accepts any variant.
    bool satisfies(const Platform& want) const;
};

struct Descriptor {
    std::string media_type;
    std::string digest;
    int64_t size = 0;
    std::optional<Platform> platform;
    std::map<std::string, std::string> annotations;
};

enum class ManifestKind { image, index };

struct Manifest {
    std::string media_type;
    Descriptor config;
    std::vector<Descriptor> layers;
    std::map<std::string, std::string> annotations;
};

struct Index {
    std::string media_type;
    std::vector<Descriptor> manifests;
};

// Decides from the media type (the Content-Type, else the document's mediaType field).
// Throws Error("unsupported manifest media type ...") for schema1 and unknown types.
ManifestKind classify_manifest(std::string_view media_type);
// The effective media type of a manifest document: `content_type` unless empty or generic,
// else its "mediaType" field, else guessed from its shape.
std::string manifest_media_type(std::string_view body, std::string_view content_type);

// Throw Error("malformed manifest: REASON") on anything unexpected.
Manifest parse_manifest(std::string_view json);
Index parse_index(std::string_view json);
// The writers: schemaVersion 2, the fields above (empty annotations and platform left out).
// Compact JSON unless indent >= 0; the bytes are what a digest is taken of.
std::string manifest_json(const Manifest& m);
std::string index_json(const Index& idx, int indent = -1);

bool is_layer_media_type(std::string_view media_type);

// Picks the manifest for `want` from an index, skipping attestation entries; throws
// Error("no image for platform X (available: ...)").
const Descriptor& select_platform(const Index& index, const Platform& want);

}  // namespace minirun::image
