#include "minirun/image/unpack.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <exception>
#include <memory>

#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/common/log.hpp"
#include "unpack_extract.hpp"
#include "unpack_stream.hpp"

namespace minirun::image {

namespace {

using detail::LayerStream;
using detail::StreamError;

// libarchive pulls decompressed bytes through this; exceptions must not cross its C frames,
// so a stream failure is parked here and rethrown once libarchive gives up.
struct ReadContext {
    LayerStream* stream;
    std::exception_ptr error;
};

la_ssize_t read_callback(archive* a, void* client, const void** buf) {
    auto* ctx = static_cast<ReadContext*>(client);
    try {
        std::string_view chunk = ctx->stream->next();
        *buf = chunk.data();
        return static_cast<la_ssize_t>(chunk.size());
    } catch (...) {
        ctx->error = std::current_exception();
        archive_set_error(a, EIO, "layer stream failed");
        return -1;
    }
}

class TarReader {
public:
    TarReader(LayerStream& stream, std::string layer_name)
        : a_(archive_read_new(), &archive_read_free), ctx_{&stream, nullptr}, layer_(std::move(layer_name)) {
        if (!a_) throw Error("layer " + layer_ + ": cannot initialise libarchive");
        // Tar only, and no libarchive filters: decompression is ours, so every byte is hashed.
        archive_read_support_format_tar(a_.get());
        archive_read_support_format_gnutar(a_.get());
        if (archive_read_open(a_.get(), &ctx_, nullptr, read_callback, nullptr) != ARCHIVE_OK) fail("not a tar archive");
    }

    archive* get() { return a_.get(); }

    // The next header, or nullptr at the end of the archive.
    archive_entry* next() {
        archive_entry* ae = nullptr;
        int r = archive_read_next_header(a_.get(), &ae);
        if (r == ARCHIVE_EOF) return nullptr;
        if (r < ARCHIVE_WARN) fail("invalid tar archive");
        if (r == ARCHIVE_WARN) log::debug("layer " + layer_ + ": " + error_string());
        return ae;
    }

    // Rethrows a parked stream failure: it explains a libarchive error better than libarchive.
    void rethrow_stream_error() {
        if (ctx_.error) std::rethrow_exception(ctx_.error);
    }

    std::string error_string() {
        const char* msg = archive_error_string(a_.get());
        return msg ? msg : "unknown libarchive error";
    }

private:
    [[noreturn]] void fail(const std::string& what) {
        rethrow_stream_error();
        throw Error("layer " + layer_ + ": " + what + ": " + error_string());
    }

    std::unique_ptr<archive, int (*)(archive*)> a_;
    ReadContext ctx_;
    std::string layer_;
};

void extract_entry(detail::Extractor& ex, TarReader& reader, archive_entry* ae, const std::string& layer) {
    try {
        ex.extract(reader.get(), ae);
    } catch (const StreamError&) {
        throw;
    } catch (const Error& e) {
        reader.rethrow_stream_error();
        const char* path = archive_entry_pathname(ae);
        throw Error("layer " + layer + ": entry \"" + (path ? path : "?") + "\": " + e.what());
    }
}

}  // namespace

UnpackOptions default_unpack_options(const std::string& layer_name) {
    UnpackOptions opts;
    opts.layer_name = layer_name;
    bool root = ::geteuid() == 0;
    opts.allow_devices = root;
    opts.overlay_whiteouts = root;
    opts.preserve_owners = root;
    return opts;
}

UnpackResult unpack_layer(int fd, const std::filesystem::path& dest, const UnpackOptions& opts) {
    fs::UniqueFd root(::open(dest.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!root) throw_errno("layer " + opts.layer_name + ": open " + dest.string());
    LayerStream stream(fd, opts.layer_name, opts.max_uncompressed_bytes);
    TarReader reader(stream, opts.layer_name);
    detail::Extractor ex(root.get(), opts);
    UnpackResult result;
    while (archive_entry* ae = reader.next()) {
        ++result.entries;
        extract_entry(ex, reader, ae, opts.layer_name);
    }
    ex.finish();
    // The hash must cover the whole stream, including padding after the end-of-archive marker.
    stream.drain();
    result.uncompressed_size = stream.total();
    result.diff_id = stream.digest();
    return result;
}

}  // namespace minirun::image
