// The store as an ImageSink (see image_source.hpp): blobs verified on the way in, each
// layer unpacked while its bytes stream in and checked against the config's diff id, the
// name written last. What a pull, `load` or any copy into the store goes through.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <exception>
#include <thread>

#include "blob_stream.hpp"
#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/common/log.hpp"
#include "minirun/image/image_source.hpp"
#include "minirun/image/store.hpp"
#include "minirun/image/unpack.hpp"

namespace minirun::image {

namespace stdfs = std::filesystem;

namespace {

// A layer temp dir removed unless committed.
class TempLayerDir {
public:
    explicit TempLayerDir(const Store& s) : path_(s.make_layer_tmp()) {}
    ~TempLayerDir() {
        if (!path_.empty()) {
            try {
                remove_tree(path_);
            } catch (...) {
            }
        }
    }
    TempLayerDir(const TempLayerDir&) = delete;
    TempLayerDir& operator=(const TempLayerDir&) = delete;
    const stdfs::path& path() const { return path_; }
    void release() { path_.clear(); }

private:
    stdfs::path path_;
};

// Feeds a blob's bytes to an unpacker thread through a pipe. Best effort: when the stream
// cannot continue (a restart from byte 0, an unpack error) it is dropped and the layer is
// unpacked again from the verified blob file.
class StreamingUnpack {
public:
    StreamingUnpack(const Store& store, const std::string& digest, uint64_t max_bytes) : dir_(store) {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno("pipe");
        read_.reset(fds[0]);
        write_.reset(fds[1]);
        ::fcntl(write_.get(), F_SETPIPE_SZ, 1 << 20);
        UnpackOptions o = default_unpack_options(digest);
        o.max_uncompressed_bytes = max_bytes;
        thread_ = std::thread([this, o] {
            try {
                result_ = unpack_layer(read_.get(), dir_.path(), o);
            } catch (...) {
                error_ = std::current_exception();
            }
            read_.reset();  // a writer still feeding us gets EPIPE instead of blocking
        });
    }
    ~StreamingUnpack() {
        write_.reset();
        if (thread_.joinable()) thread_.join();
    }
    StreamingUnpack(const StreamingUnpack&) = delete;
    StreamingUnpack& operator=(const StreamingUnpack&) = delete;
    void feed(const char* data, size_t size) {
        if (!write_) return;
        while (size > 0) {
            ssize_t n = ::write(write_.get(), data, size);
            if (n < 0) {
                if (errno == EINTR) continue;
                abandon();
                return;
            }
            data += n;
            size -= static_cast<size_t>(n);
        }
    }
    void abandon() {
        write_.reset();
        failed_ = true;
    }
    // Closes the stream and waits; true when the layer was unpacked completely.
    bool finish() {
        write_.reset();
        if (thread_.joinable()) thread_.join();
        if (error_) {
            try {
                std::rethrow_exception(error_);
            } catch (const std::exception& e) {
                log::debug(std::string("streamed unpack failed, retrying from the blob: ") + e.what());
            }
            return false;
        }
        return !failed_;
    }
    TempLayerDir& dir() { return dir_; }
    const UnpackResult& result() const { return result_; }

private:
    TempLayerDir dir_;
    fs::UniqueFd read_, write_;
    std::thread thread_;
    UnpackResult result_;
    std::exception_ptr error_;
    bool failed_ = false;
};

void check_diff_id(const UnpackResult& res, const Descriptor& layer, const std::string& diff_id) {
    if (res.diff_id != diff_id)
        throw Error("layer " + layer.digest + ": uncompressed content " + res.diff_id +
                    " does not match the config's diff_id " + diff_id);
}

class StoreSink final : public ImageSink {
public:
    StoreSink(Store& store, std::string name, uint64_t max_layer_bytes)
        : store_(store), guard_(store), name_(std::move(name)), max_layer_bytes_(max_layer_bytes) {
        // A failed streaming unpack closes its pipe: writes must fail with EPIPE, not kill us.
        ::signal(SIGPIPE, SIG_IGN);
        store_.sweep_leftovers();
    }
    bool has_blob(std::string_view digest) const override { return store_.has_blob(digest); }
    bool needs_diff_ids() const override { return true; }

    BlobOutcome put_blob(const Descriptor& d, const ImageSource& from, BlobTransfer& transfer) override {
        // What is reused is verified: a truncated or damaged blob is fetched again.
        if (store_.blob_intact(d.digest, d.size)) return BlobOutcome::present;
        BlobWriter blob = store_.begin_blob();
        detail::WriterStream stream(blob, transfer);
        from.stream_blob(d, stream);
        blob.commit(d.digest, static_cast<uint64_t>(d.size));
        return BlobOutcome::copied;
    }

    BlobOutcome put_layer(const Descriptor& d, const std::string& diff_id, const ImageSource& from,
                          BlobTransfer& transfer) override {
        bool blob_ok = store_.blob_intact(d.digest, d.size);
        if (blob_ok && store_.has_layer(diff_id)) return BlobOutcome::present;
        if (blob_ok) {
            unpack_from_blob(d, diff_id);
            return BlobOutcome::reused;
        }
        BlobWriter blob = store_.begin_blob();
        StreamingUnpack unpack(store_, d.digest, max_layer_bytes_);
        detail::WriterStream stream(
            blob, transfer, [&](const char* data, size_t n) { unpack.feed(data, n); }, [&] { unpack.abandon(); });
        from.stream_blob(d, stream);
        blob.commit(d.digest, static_cast<uint64_t>(d.size));
        if (unpack.finish()) {
            check_diff_id(unpack.result(), d, diff_id);
            store_.commit_layer(unpack.dir().path(), diff_id);
            unpack.dir().release();
        } else {
            unpack_from_blob(d, diff_id);
        }
        return BlobOutcome::copied;
    }

    void set_manifest(const Descriptor& manifest, const std::string& bytes) override {
        store_.put_blob(bytes, manifest.digest);
        // No name (an untagged image loaded from an archive): kept and found by its id.
        if (name_.empty())
            store_.add_unnamed(manifest);
        else
            store_.set_image(name_, manifest);
    }

private:
    void unpack_from_blob(const Descriptor& layer, const std::string& diff_id) {
        ensure_unpacked(store_, layer, diff_id, max_layer_bytes_);
    }

    Store& store_;
    Store::PullGuard guard_;
    std::string name_;
    uint64_t max_layer_bytes_;
};

}  // namespace

void ensure_unpacked(Store& store, const Descriptor& blob, const std::string& diff_id, uint64_t max_bytes) {
    TempLayerDir dir(store);
    fs::UniqueFd fd(::open(store.blob_path(blob.digest).c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw_errno("open " + store.blob_path(blob.digest).string());
    UnpackOptions o = default_unpack_options(blob.digest);
    o.max_uncompressed_bytes = max_bytes;
    check_diff_id(unpack_layer(fd.get(), dir.path(), o), blob, diff_id);
    store.commit_layer(dir.path(), diff_id);
    dir.release();
}

std::unique_ptr<ImageSink> store_sink(Store& store, std::string name, uint64_t max_layer_bytes) {
    return std::make_unique<StoreSink>(store, std::move(name), max_layer_bytes);
}

}  // namespace minirun::image
