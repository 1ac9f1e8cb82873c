#pragma once
// Streaming SHA-256 over OpenSSL (its SHA-NI code); digests are compared as "sha256:<hex>".
#include <memory>
#include <string>
#include <string_view>

namespace minirun {

class Sha256 {
public:
    Sha256();
    ~Sha256();
    Sha256(Sha256&&) noexcept;
    Sha256& operator=(Sha256&&) noexcept;
    void update(const void* data, size_t size);
    void update(std::string_view s) { update(s.data(), s.size()); }
    // Lowercase hex of the digest; the hasher cannot be updated afterwards.
    std::string hex();
    // "sha256:<hex>".
    std::string digest() { return "sha256:" + hex(); }

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

std::string sha256_digest(std::string_view data);  // "sha256:<hex>"

}  // namespace minirun
