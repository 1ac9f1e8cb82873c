#include "unpack_stream.hpp"

#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <cerrno>
#include <cstring>

namespace minirun::image::detail {

namespace {

constexpr size_t kChunk = 256 << 10;  // large enough for gunzip speed, small enough to not matter

// The compressed side: fixed buffer refilled from the fd only once it is used up.
class Input {
public:
    explicit Input(int fd) : fd_(fd), buf_(new char[kChunk]) {}

    const char* data() const { return buf_.get() + pos_; }
    size_t avail() const { return len_ - pos_; }
    bool eof() const { return eof_; }
    void consume(size_t n) { pos_ += n; }

    // Reads a new chunk when the current one is used up; false once nothing is left.
    bool refill() {
        if (avail() > 0) return true;
        if (eof_) return false;
        pos_ = len_ = 0;
        len_ = read_some(0);
        return len_ > 0;
    }

    // Reads until `n` bytes are buffered or the fd ends (pipes deliver short reads).
    void fill_prefix(size_t n) {
        while (len_ < n && !eof_) len_ += read_some(len_);
    }

private:
    size_t read_some(size_t at) {
        for (;;) {
            ssize_t got = ::read(fd_, buf_.get() + at, kChunk - at);
            if (got > 0) return static_cast<size_t>(got);
            if (got == 0) {
                eof_ = true;
                return 0;
            }
            if (errno != EINTR) throw_errno("read");
        }
    }

    int fd_;
    std::unique_ptr<char[]> buf_;
    size_t pos_ = 0;
    size_t len_ = 0;
    bool eof_ = false;
};

}  // namespace

// Turns the compressed input into chunks of tar bytes; empty at the end. Throws Error
// with a bare reason, which LayerStream prefixes with the layer name.
class LayerStream::Decoder {
public:
    explicit Decoder(Input in) : in_(std::move(in)) {}
    virtual ~Decoder() = default;
    virtual std::string_view next() = 0;

protected:
    Input in_;
};

namespace {

class PlainDecoder : public LayerStream::Decoder {
public:
    using Decoder::Decoder;
    std::string_view next() override {
        if (!in_.refill()) return {};
        std::string_view chunk(in_.data(), in_.avail());
        in_.consume(chunk.size());
        return chunk;
    }
};

class GzipDecoder : public LayerStream::Decoder {
public:
    explicit GzipDecoder(Input in) : Decoder(std::move(in)), out_(new char[kChunk]) {
        // 16 + MAX_WBITS: gzip wrapper only, so anything else is "invalid gzip data".
        if (inflateInit2(&z_, 16 + MAX_WBITS) != Z_OK) throw Error("cannot initialise zlib");
    }
    ~GzipDecoder() override { inflateEnd(&z_); }

    std::string_view next() override {
        for (;;) {
            in_.refill();
            if (member_done_ && !start_next_member()) return {};
            size_t given = in_.avail();
            z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in_.data()));
            z_.avail_in = static_cast<uInt>(given);
            z_.next_out = reinterpret_cast<Bytef*>(out_.get());
            z_.avail_out = static_cast<uInt>(kChunk);
            int ret = inflate(&z_, Z_NO_FLUSH);
            in_.consume(given - z_.avail_in);
            if (ret == Z_STREAM_END) {
                member_done_ = true;
            } else if (ret != Z_OK && ret != Z_BUF_ERROR) {
                throw Error(std::string("invalid gzip data") + (z_.msg ? std::string(": ") + z_.msg : ""));
            }
            size_t produced = kChunk - z_.avail_out;
            if (produced > 0) return {out_.get(), produced};
            // No output and no input left: the member ended early.
            if (!member_done_ && in_.avail() == 0 && in_.eof()) throw Error("truncated gzip stream");
        }
    }

private:
    // Concatenated members form one stream (as gunzip and Go's reader treat them).
    bool start_next_member() {
        if (in_.avail() == 0) return false;
        if (inflateReset(&z_) != Z_OK) throw Error("invalid gzip data");
        member_done_ = false;
        return true;
    }

    z_stream z_{};
    std::unique_ptr<char[]> out_;
    bool member_done_ = false;
};

class ZstdDecoder : public LayerStream::Decoder {
public:
    explicit ZstdDecoder(Input in) : Decoder(std::move(in)), ds_(ZSTD_createDStream()), out_(new char[kChunk]) {
        if (!ds_) throw Error("cannot initialise zstd");
    }
    ~ZstdDecoder() override { ZSTD_freeDStream(ds_); }

    std::string_view next() override {
        for (;;) {
            bool more = in_.refill();
            ZSTD_inBuffer zin{in_.data(), in_.avail(), 0};
            ZSTD_outBuffer zout{out_.get(), kChunk, 0};
            size_t ret = ZSTD_decompressStream(ds_, &zout, &zin);
            in_.consume(zin.pos);
            if (ZSTD_isError(ret)) throw Error(std::string("invalid zstd data: ") + ZSTD_getErrorName(ret));
            // A call that did nothing returns a header-size hint, not the frame state.
            if (zin.pos > 0 || zout.pos > 0) last_ret_ = ret;
            if (zout.pos > 0) return {out_.get(), zout.pos};
            if (!more) {
                if (last_ret_ == 0) return {};  // the last frame is complete and flushed
                throw Error("truncated zstd stream");
            }
        }
    }

private:
    ZSTD_DStream* ds_;
    std::unique_ptr<char[]> out_;
    size_t last_ret_ = 1;
};

std::unique_ptr<LayerStream::Decoder> make_decoder(int fd) {
    Input in(fd);
    in.fill_prefix(4);
    auto magic = [&](std::string_view m) {
        return in.avail() >= m.size() && std::memcmp(in.data(), m.data(), m.size()) == 0;
    };
    if (magic("\x1f\x8b")) return std::make_unique<GzipDecoder>(std::move(in));
    if (magic("\x28\xb5\x2f\xfd")) return std::make_unique<ZstdDecoder>(std::move(in));
    return std::make_unique<PlainDecoder>(std::move(in));
}

}  // namespace

LayerStream::LayerStream(int fd, std::string layer_name, uint64_t max_bytes)
    : layer_name_(std::move(layer_name)), max_bytes_(max_bytes) {
    try {
        decoder_ = make_decoder(fd);
    } catch (const Error& e) {
        throw StreamError("layer " + layer_name_ + ": " + e.what());
    }
}

LayerStream::~LayerStream() = default;

std::string_view LayerStream::next() {
    std::string_view chunk;
    try {
        chunk = decoder_->next();
    } catch (const Error& e) {
        throw StreamError("layer " + layer_name_ + ": " + e.what());
    }
    total_ += chunk.size();
    if (total_ > max_bytes_) {
        throw StreamError("layer " + layer_name_ + ": uncompressed size exceeds the limit of " +
                          std::to_string(max_bytes_) + " bytes (max_uncompressed_bytes)");
    }
    hash_.update(chunk.data(), chunk.size());
    return chunk;
}

void LayerStream::drain() {
    while (!next().empty()) {
    }
}

uint64_t LayerStream::total() const { return total_; }

std::string LayerStream::digest() { return hash_.digest(); }

}  // namespace minirun::image::detail
