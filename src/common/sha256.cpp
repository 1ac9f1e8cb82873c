#include "minirun/common/sha256.hpp"

// OpenSSL's SHA256_* functions, deprecated in 3.0 in favour of EVP but still provided:
// EVP's first digest initialises the provider machinery and reads openssl.cnf, 0.5–1.4 ms
// that every `minirun run` paid to check a 2 KB manifest. These run the same SHA-NI code
// (1.7 GB/s here) with no set-up.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include "minirun/common/error.hpp"

namespace minirun {

struct Sha256::Impl {
    SHA256_CTX ctx;
};

Sha256::Sha256() : impl_(std::make_unique<Impl>()) {
    if (SHA256_Init(&impl_->ctx) != 1) throw Error("sha256: init failed");
}
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(const void* data, size_t size) {
    if (size && SHA256_Update(&impl_->ctx, data, size) != 1) throw Error("sha256: update failed");
}

std::string Sha256::hex() {
    unsigned char md[SHA256_DIGEST_LENGTH];
    const unsigned len = SHA256_DIGEST_LENGTH;
    if (SHA256_Final(md, &impl_->ctx) != 1) throw Error("sha256: final failed");
    static const char* digits = "0123456789abcdef";
    std::string out(len * 2, '0');
    for (unsigned i = 0; i < len; ++i) {
        out[2 * i] = digits[md[i] >> 4];
        out[2 * i + 1] = digits[md[i] & 0xf];
    }
    return out;
}

std::string sha256_digest(std::string_view data) {
    Sha256 h;
    h.update(data);
    return h.digest();
}

}  // namespace minirun
