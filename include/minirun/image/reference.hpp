#pragma once
// Docker image references: parse, normalise and print them.
//   alpine                    -> docker.io/library/alpine:latest
//   localhost:5000/a/b:tag    -> registry localhost:5000, repository a/b
//   name@sha256:<64 hex>      -> pinned by digest (no implied tag)
#include <string>
#include <string_view>

namespace minirun::image {

struct Reference {
    std::string registry;    // "docker.io", "localhost:5000", "[::1]:5000"
    std::string repository;  // "library/alpine", "a/b"
    std::string tag;         // "latest" when neither tag nor digest is given; may be empty with a digest
    std::string digest;      // "sha256:<hex>" or empty

    // Throws minirun::Error: `invalid reference "TEXT": REASON`.
    static Reference parse(std::string_view text);

    // The host the registry API lives on (docker.io -> registry-1.docker.io).
    std::string api_host() const;
    // registry/repository
    std::string name() const;
    // Fully qualified: docker.io/library/alpine:latest, …@sha256:…
    std::string str() const;
    // Docker's short form: alpine:latest, fblupi/x:1, localhost:5000/a:b
    std::string familiar() const;
    // Tag if any, else digest: what to ask /v2/<repo>/manifests/<…> for.
    std::string manifest_ref() const { return digest.empty() ? tag : digest; }

    bool operator==(const Reference&) const = default;
};

// Validates "sha256:<64 lowercase hex>" (other algorithms refused); throws Error naming `what`.
void validate_digest(std::string_view digest, std::string_view what = "digest");
bool is_valid_digest(std::string_view digest);

}  // namespace minirun::image
