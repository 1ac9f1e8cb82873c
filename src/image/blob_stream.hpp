#pragma once
// A BlobStream into a BlobWriter (the store's or a layout's blobs), reporting to a
// BlobTransfer and stopping when the copy was cancelled. Shared by the store and layout sinks.
#include <functional>

#include "minirun/common/error.hpp"
#include "minirun/image/image_source.hpp"
#include "minirun/image/store.hpp"

namespace minirun::image::detail {

class WriterStream : public BlobStream {
public:
    // `also` sees every chunk after the writer took it (the store's streaming unpack).
    WriterStream(BlobWriter& writer, BlobTransfer& transfer, std::function<void(const char*, size_t)> also = {},
                 std::function<void()> on_restart = {})
        : w_(writer), t_(transfer), also_(std::move(also)), on_restart_(std::move(on_restart)) {}
    uint64_t received() const override { return w_.size(); }
    void write(const char* data, size_t size) override {
        if (t_.cancelled()) throw Error("cancelled", ErrorKind::Conflict);
        w_.write(data, size);
        if (also_) also_(data, size);
        t_.bytes(w_.size());
    }
    void restart() override {
        w_.reset();
        if (on_restart_) on_restart_();
        t_.bytes(0);
    }

private:
    BlobWriter& w_;
    BlobTransfer& t_;
    std::function<void(const char*, size_t)> also_;
    std::function<void()> on_restart_;
};

}  // namespace minirun::image::detail
