// Directory (overlayfs upper-dir form) → reproducible layer blob. One pass: the tar
// stream is hashed for the diff id while it is compressed into the store's blob writer.
#include "minirun/image/layer_pack.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <deque>
#include <future>
#include <map>
#include <memory>
#include <vector>

#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"
#include "unpack_stream.hpp"
#include "minirun/common/sha256.hpp"
#include "minirun/image/image_source.hpp"
#include "minirun/image/store.hpp"

namespace minirun::image {

namespace {

// Docker's default gzip level: a fixed level keeps digests stable across builds.
constexpr int kGzipLevel = 6;
constexpr int kZstdLevel = 3;
constexpr size_t kChunk = 1 << 20;

class Compressor {
public:
    explicit Compressor(BlobWriter& out) : out_(out) {}
    virtual ~Compressor() = default;
    virtual void write(const void* data, size_t size) = 0;
    virtual void finish() = 0;

protected:
    BlobWriter& out_;
};

// gzip compressed in independent 1 MiB blocks on worker threads, pigz-style: each block
// is raw deflate primed with the previous block's last 32 KiB and ended with a sync
// flush, so the output depends only on the input and the level, never on the threads.
class GzipCompressor : public Compressor {
public:
    explicit GzipCompressor(BlobWriter& out) : Compressor(out) {
        // Header: magic, deflate, no flags, mtime 0, no extra flags, OS = Unix.
        const unsigned char header[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
        out_.write(header, sizeof header);
        block_.reserve(kBlock);
    }
    ~GzipCompressor() override {
        for (auto& f : pending_)
            if (f.valid()) f.wait();
    }
    void write(const void* data, size_t size) override {
        auto* p = static_cast<const char*>(data);
        while (size > 0) {
            size_t n = std::min(size, kBlock - block_.size());
            block_.append(p, n);
            p += n;
            size -= n;
            if (block_.size() == kBlock) submit(false);
        }
    }
    void finish() override {
        submit(true);
        while (!pending_.empty()) drain_one();
        unsigned char trailer[8];
        for (int i = 0; i < 4; ++i) trailer[i] = static_cast<unsigned char>(crc_ >> (8 * i));
        for (int i = 0; i < 4; ++i) trailer[4 + i] = static_cast<unsigned char>(total_ >> (8 * i));
        out_.write(trailer, sizeof trailer);
    }

private:
    static constexpr size_t kBlock = 1 << 20;
    static constexpr size_t kDict = 32 << 10;
    struct Done {
        std::string data;
        uLong crc = 0;
        size_t in_size = 0;
        std::string error;
    };
    static Done compress(std::string in, std::string dict, bool last) {
        Done d;
        d.in_size = in.size();
        d.crc = crc32(0L, reinterpret_cast<const Bytef*>(in.data()), static_cast<uInt>(in.size()));
        z_stream z{};
        if (deflateInit2(&z, kGzipLevel, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
            d.error = "cannot initialise zlib";
            return d;
        }
        if (!dict.empty()) deflateSetDictionary(&z, reinterpret_cast<const Bytef*>(dict.data()), static_cast<uInt>(dict.size()));
        d.data.resize(deflateBound(&z, in.size()) + 16);
        z.next_in = reinterpret_cast<Bytef*>(in.data());
        z.avail_in = static_cast<uInt>(in.size());
        z.next_out = reinterpret_cast<Bytef*>(d.data.data());
        z.avail_out = static_cast<uInt>(d.data.size());
        int rc = deflate(&z, last ? Z_FINISH : Z_SYNC_FLUSH);
        if ((last && rc != Z_STREAM_END) || (!last && (rc != Z_OK || z.avail_in != 0))) d.error = "gzip compression failed";
        d.data.resize(d.data.size() - z.avail_out);
        deflateEnd(&z);
        return d;
    }
    void submit(bool last) {
        std::string dict = prev_tail_;
        prev_tail_ = block_.size() >= kDict ? block_.substr(block_.size() - kDict) : prev_tail_.substr(
            prev_tail_.size() - std::min(prev_tail_.size(), kDict - block_.size())) + block_;
        pending_.push_back(std::async(std::launch::async, compress, std::move(block_), std::move(dict), last));
        block_.clear();
        block_.reserve(kBlock);
        // Bounded: a few blocks in flight keep both cores busy without buffering the layer.
        while (pending_.size() > kInFlight) drain_one();
    }
    void drain_one() {
        Done d = pending_.front().get();
        pending_.pop_front();
        if (!d.error.empty()) throw Error(d.error);
        out_.write(d.data.data(), d.data.size());
        crc_ = crc32_combine(crc_, d.crc, static_cast<z_off_t>(d.in_size));
        total_ += d.in_size;
    }
    static constexpr size_t kInFlight = 3;
    std::string block_, prev_tail_;
    std::deque<std::future<Done>> pending_;
    uLong crc_ = crc32(0L, Z_NULL, 0);
    uint64_t total_ = 0;
};

class ZstdCompressor : public Compressor {
public:
    explicit ZstdCompressor(BlobWriter& out) : Compressor(out), cctx_(ZSTD_createCCtx()), buf_(ZSTD_CStreamOutSize()) {
        if (!cctx_) throw Error("cannot initialise zstd");
        ZSTD_CCtx_setParameter(cctx_, ZSTD_c_compressionLevel, kZstdLevel);
        ZSTD_CCtx_setParameter(cctx_, ZSTD_c_checksumFlag, 1);
    }
    ~ZstdCompressor() override { ZSTD_freeCCtx(cctx_); }
    void write(const void* data, size_t size) override {
        ZSTD_inBuffer in{data, size, 0};
        while (in.pos < in.size) step(in, ZSTD_e_continue);
    }
    void finish() override {
        ZSTD_inBuffer in{nullptr, 0, 0};
        while (step(in, ZSTD_e_end) != 0) {
        }
    }

private:
    size_t step(ZSTD_inBuffer& in, ZSTD_EndDirective mode) {
        ZSTD_outBuffer out{buf_.data(), buf_.size(), 0};
        size_t left = ZSTD_compressStream2(cctx_, &out, &in, mode);
        if (ZSTD_isError(left)) throw Error(std::string("zstd compression failed: ") + ZSTD_getErrorName(left));
        out_.write(buf_.data(), out.pos);
        return left;
    }
    ZSTD_CCtx* cctx_;
    std::vector<char> buf_;
};

struct Sink {
    Sha256 diff;
    Compressor* compressor = nullptr;  // none: plain tar to fd
    int fd = -1;
    uint64_t bytes = 0;
    std::string error;
};

la_ssize_t write_callback(struct archive*, void* ctx, const void* data, size_t size) {
    auto* s = static_cast<Sink*>(ctx);
    try {
        s->diff.update(data, size);
        if (s->compressor)
            s->compressor->write(data, size);
        else
            fs::write_all(s->fd, data, size, "tar output");
        s->bytes += size;
    } catch (const std::exception& e) {
        s->error = e.what();
        return -1;
    }
    return static_cast<la_ssize_t>(size);
}

struct ArchiveDeleter {
    void operator()(struct archive* a) const { archive_write_free(a); }
};
struct EntryDeleter {
    void operator()(archive_entry* e) const { archive_entry_free(e); }
};

bool is_whiteout(const struct stat& st) { return S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0); }

std::vector<std::string> sorted_names(int dirfd, const std::string& where) {
    int dup = ::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dup < 0) throw_errno("open " + where);
    DIR* d = ::fdopendir(dup);
    if (!d) {
        ::close(dup);
        throw_errno("read " + where);
    }
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n != "." && n != "..") names.push_back(std::move(n));
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    return names;
}

// Extended attributes worth shipping (file capabilities, user.*); overlay's own and other
// trusted.* ones stay on this host.
std::vector<std::pair<std::string, std::string>> shipped_xattrs(int fd) {
    std::vector<std::pair<std::string, std::string>> out;
    ssize_t n = ::flistxattr(fd, nullptr, 0);
    if (n <= 0) return out;
    std::string names(static_cast<size_t>(n), '\0');
    n = ::flistxattr(fd, names.data(), names.size());
    if (n <= 0) return out;
    for (size_t p = 0; p < static_cast<size_t>(n);) {
        std::string name = names.c_str() + p;
        p += name.size() + 1;
        if (name.rfind("trusted.", 0) == 0 || name == "security.selinux") continue;
        ssize_t vn = ::fgetxattr(fd, name.c_str(), nullptr, 0);
        if (vn < 0) continue;
        std::string value(static_cast<size_t>(vn), '\0');
        vn = ::fgetxattr(fd, name.c_str(), value.data(), value.size());
        if (vn < 0) continue;
        value.resize(static_cast<size_t>(vn));
        out.emplace_back(name, value);
    }
    std::sort(out.begin(), out.end());
    return out;
}

class Packer {
public:
    Packer(struct archive* a, const PackOptions& opts) : a_(a), opts_(opts), buf_(kChunk) {}

    void walk(int dirfd, const std::string& prefix) {
        for (const auto& name : sorted_names(dirfd, prefix.empty() ? "." : prefix)) add(dirfd, name, prefix + name);
    }

    // `name` in `dirfd` (and all below it) as the entry `path`; an empty `name`: `dirfd`
    // itself (an O_PATH fd of the entry, as openat2 resolved it).
    void add(int dirfd, const std::string& name, const std::string& path) {
        struct stat st {};
        const int at_flags = AT_SYMLINK_NOFOLLOW | (name.empty() ? AT_EMPTY_PATH : 0);
        if (::fstatat(dirfd, name.c_str(), &st, at_flags) != 0) throw_errno("stat " + path);
        if (is_whiteout(st)) {
            auto slash = path.rfind('/');
            add_marker(path.substr(0, slash + 1) + ".wh." + path.substr(slash + 1));
            return;
        }
        if (S_ISSOCK(st.st_mode)) return;  // sockets do not travel in layers
        fs::UniqueFd fd;
        if (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)) {
            int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0);
            // An O_PATH fd cannot be read: reopened through /proc (the same inode, no lookup).
            fd.reset(name.empty() ? ::open(("/proc/self/fd/" + std::to_string(dirfd)).c_str(), flags & ~O_NOFOLLOW)
                                  : ::openat(dirfd, name.c_str(), flags));
            if (!fd) throw_errno("open " + path);
        }
        auto e = entry(path, st);
        if (fd)
            for (auto& [k, v] : shipped_xattrs(fd.get())) archive_entry_xattr_add_entry(e.get(), k.c_str(), v.data(), v.size());
        if (S_ISLNK(st.st_mode)) {
            std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
            ssize_t n = ::readlinkat(dirfd, name.c_str(), target.data(), target.size());
            if (n < 0) throw_errno("readlink " + path);
            target.resize(static_cast<size_t>(n));
            archive_entry_set_symlink(e.get(), target.c_str());
        } else if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
            auto key = std::make_pair(st.st_dev, st.st_ino);
            auto it = links_.find(key);
            if (it != links_.end()) {
                archive_entry_set_hardlink(e.get(), it->second.c_str());
                archive_entry_set_size(e.get(), 0);
                header(e.get(), path);
                return;
            }
            links_.emplace(key, path);
        } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
            archive_entry_set_rdevmajor(e.get(), major(st.st_rdev));
            archive_entry_set_rdevminor(e.get(), minor(st.st_rdev));
        }
        header(e.get(), path);
        if (S_ISREG(st.st_mode)) copy_data(fd.get(), path, static_cast<uint64_t>(st.st_size));
        if (S_ISDIR(st.st_mode)) {
            char opq = 0;
            if (::fgetxattr(fd.get(), "trusted.overlay.opaque", &opq, 1) == 1 && opq == 'y')
                add_marker(path + "/.wh..wh..opq");
            walk(fd.get(), path + "/");
        }
    }

    uint64_t entries() const { return entries_; }

private:
    std::unique_ptr<archive_entry, EntryDeleter> entry(const std::string& path, const struct stat& st) {
        std::unique_ptr<archive_entry, EntryDeleter> e(archive_entry_new());
        archive_entry_set_pathname(e.get(), path.c_str());
        archive_entry_set_mode(e.get(), st.st_mode);
        archive_entry_set_uid(e.get(), st.st_uid);
        archive_entry_set_gid(e.get(), st.st_gid);
        archive_entry_set_mtime(e.get(), std::min<int64_t>(st.st_mtime, opts_.source_date_epoch), 0);
        if (S_ISREG(st.st_mode)) archive_entry_set_size(e.get(), st.st_size);
        return e;
    }
    void add_marker(const std::string& path) {
        std::unique_ptr<archive_entry, EntryDeleter> e(archive_entry_new());
        archive_entry_set_pathname(e.get(), path.c_str());
        archive_entry_set_mode(e.get(), S_IFREG | 0644);
        archive_entry_set_mtime(e.get(), opts_.source_date_epoch, 0);
        archive_entry_set_size(e.get(), 0);
        header(e.get(), path);
    }
    void header(archive_entry* e, const std::string& path) {
        if (archive_write_header(a_, e) < ARCHIVE_OK) throw Error("tar entry " + path + ": " + archive_error_string(a_));
        ++entries_;
    }
    void copy_data(int fd, const std::string& path, uint64_t size) {
        uint64_t done = 0;
        while (done < size) {
            ssize_t n = ::read(fd, buf_.data(), std::min<uint64_t>(buf_.size(), size - done));
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) throw_errno("read " + path);
            if (n == 0) break;  // shrank while packing: libarchive pads the entry
            if (archive_write_data(a_, buf_.data(), static_cast<size_t>(n)) < 0)
                throw Error("tar entry " + path + ": " + archive_error_string(a_));
            done += static_cast<uint64_t>(n);
        }
    }

    struct archive* a_;
    const PackOptions& opts_;
    std::vector<char> buf_;
    std::map<std::pair<dev_t, ino_t>, std::string> links_;
    uint64_t entries_ = 0;
};

}  // namespace

Compression parse_compression(const std::string& text) {
    if (text == "gzip") return Compression::gzip;
    if (text == "zstd") return Compression::zstd;
    throw Error("invalid --compression \"" + text + "\": use gzip or zstd");
}

std::string_view layer_media_type(Compression c) {
    return c == Compression::zstd ? media::kOciLayerZstd : media::kOciLayerGzip;
}

namespace {

// Runs `fill` over a tar stream written to `sink` (`what` names it in errors); returns the
// entry count.
template <typename Fill>
uint64_t write_tar_with(const std::string& what, Sink& sink, const PackOptions& opts, Fill fill) {
    std::unique_ptr<struct archive, ArchiveDeleter> a(archive_write_new());
    // Restricted pax: plain ustar headers unless a name, size or xattr needs more.
    archive_write_set_format_pax_restricted(a.get());
    archive_write_add_filter_none(a.get());
    archive_write_set_bytes_in_last_block(a.get(), 1);
    if (archive_write_open2(a.get(), &sink, nullptr, write_callback, nullptr, nullptr) != ARCHIVE_OK)
        throw Error(std::string("tar writer: ") + archive_error_string(a.get()));
    Packer packer(a.get(), opts);
    try {
        fill(packer);
    } catch (...) {
        if (!sink.error.empty()) throw Error("pack " + what + ": " + sink.error);
        throw;
    }
    if (archive_write_close(a.get()) != ARCHIVE_OK)
        throw Error("pack " + what + ": " + (sink.error.empty() ? archive_error_string(a.get()) : sink.error));
    return packer.entries();
}

// Walks `dir` into a tar stream written to `sink`; returns the entry count.
uint64_t write_tar(const std::filesystem::path& dir, Sink& sink, const PackOptions& opts) {
    fs::UniqueFd root(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!root) throw_errno("open " + dir.string());
    return write_tar_with(dir.string(), sink, opts, [&](Packer& p) { p.walk(root.get(), ""); });
}

}  // namespace

void pack_tree(const std::filesystem::path& dir, int out_fd, const PackOptions& opts) {
    Sink sink;
    sink.fd = out_fd;
    write_tar(dir, sink, opts);
}

void pack_entry(int entry_fd, const std::string& as, int out_fd, const std::string& what) {
    Sink sink;
    sink.fd = out_fd;
    PackOptions opts;
    opts.source_date_epoch = INT64_MAX;  // the files' own times
    write_tar_with(what, sink, opts, [&](Packer& p) {
        if (as.empty()) p.walk(entry_fd, "");
        else p.add(entry_fd, "", as);
    });
}

PackedLayer pack_layer(Store& store, const std::filesystem::path& dir, const PackOptions& opts) {
    BlobWriter blob = store.begin_blob();
    std::unique_ptr<Compressor> compressor;
    if (opts.compression == Compression::zstd) compressor = std::make_unique<ZstdCompressor>(blob);
    else compressor = std::make_unique<GzipCompressor>(blob);
    Sink sink;
    sink.compressor = compressor.get();
    uint64_t entries = write_tar(dir, sink, opts);
    compressor->finish();

    PackedLayer out;
    out.diff_id = sink.diff.digest();
    out.entries = entries;
    out.blob.media_type = std::string(layer_media_type(opts.compression));
    out.blob.size = static_cast<int64_t>(blob.size());
    out.blob.digest = blob.commit_new();
    return out;
}

}  // namespace minirun::image

namespace minirun::image {

PackedLayer import_layer(Store& store, int fd, const std::string& what, uint64_t max_bytes) {
    BlobWriter blob = store.begin_blob();
    detail::LayerStream stream(fd, what, max_bytes);
    for (auto chunk = stream.next(); !chunk.empty(); chunk = stream.next()) blob.write(chunk.data(), chunk.size());
    PackedLayer out;
    out.diff_id = stream.digest();
    out.blob.media_type = std::string(media::kOciLayerTar);
    out.blob.size = static_cast<int64_t>(blob.size());
    out.blob.digest = blob.commit_new();  // the uncompressed tar: its digest is the diff id
    try {
        if (!store.has_layer(out.diff_id)) ensure_unpacked(store, out.blob, out.diff_id, max_bytes);
    } catch (const Error& e) {
        // The blob stays until garbage collection: nothing names it.
        throw Error(what + ": " + e.what(), e.kind(), e.sys_errno());
    }
    return out;
}

}  // namespace minirun::image
