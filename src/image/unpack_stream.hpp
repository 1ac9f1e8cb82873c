#pragma once
// The decompressed byte stream of a layer: reads an fd in chunks, detects gzip/zstd/plain
// from the magic bytes, decompresses, counts and hashes every byte it hands out.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "minirun/common/error.hpp"
#include "minirun/common/sha256.hpp"

namespace minirun::image::detail {

// A failure of the stream itself (I/O, corrupt or truncated compression, size cap);
// its message already reads "layer <name>: <reason>".
class StreamError : public Error {
public:
    using Error::Error;
};

class LayerStream {
public:
    LayerStream(int fd, std::string layer_name, uint64_t max_bytes);
    ~LayerStream();
    LayerStream(const LayerStream&) = delete;
    LayerStream& operator=(const LayerStream&) = delete;

    // The next decompressed chunk, valid until the next call; empty at the end of the
    // stream. Throws StreamError.
    std::string_view next();
    // Consumes (and hashes) whatever is left, e.g. the zero padding after the tar end marker.
    void drain();
    uint64_t total() const;
    // "sha256:<hex>" of all bytes handed out; call once, after the end.
    std::string digest();

    class Decoder;

private:
    std::unique_ptr<Decoder> decoder_;
    std::string layer_name_;
    uint64_t max_bytes_;
    uint64_t total_ = 0;
    Sha256 hash_;
};

}  // namespace minirun::image::detail
