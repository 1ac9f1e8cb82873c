// Images as sources and sinks (see image_source.hpp): the store and OCI layouts.
#include "minirun/image/image_source.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <exception>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

#include "blob_stream.hpp"
#include "minirun/common/error.hpp"
#include "minirun/common/sha256.hpp"
#include "minirun/image/image_config.hpp"
#include "minirun/image/oci_layout.hpp"
#include "minirun/image/store.hpp"

namespace minirun::image {

namespace stdfs = std::filesystem;

namespace {

fs::UniqueFd open_blob_at(const stdfs::path& file, std::string_view digest, const std::string& location) {
    fs::UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        int err = errno;
        if (err == ENOENT)
            throw Error("blob " + std::string(digest) + " is missing from " + location, ErrorKind::NotFound, err);
        throw errno_error("open blob " + std::string(digest) + " in " + location, err);
    }
    return fd;
}

// Reads fd to its end in chunks; `what` names it in the error.
void read_chunks(int fd, const std::string& what, const std::function<void(const char*, size_t)>& chunk) {
    char buf[1 << 16];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_errno("read " + what);
        if (n == 0) return;
        chunk(buf, static_cast<size_t>(n));
    }
}

bool layout_has_blob(const OciLayout& layout, std::string_view digest) {
    std::error_code ec;
    return stdfs::is_regular_file(layout.blob_path(digest), ec);
}

class StoreSource final : public ImageSource {
public:
    StoreSource(const Store& store, ImageRecord rec) : store_(store), rec_(std::move(rec)) {}
    std::string location() const override { return "the store"; }
    const Descriptor& manifest() const override { return rec_.manifest; }
    bool has_blob(std::string_view digest) const override { return store_.has_blob(digest); }
    fs::UniqueFd open_blob(std::string_view digest) const override {
        return open_blob_at(store_.blob_path(digest), digest, location());
    }
    std::optional<stdfs::path> blob_file(std::string_view digest) const override { return store_.blob_path(digest); }

private:
    const Store& store_;
    ImageRecord rec_;
};

class LayoutSource final : public ImageSource {
public:
    LayoutSource(stdfs::path dir, Descriptor manifest) : layout_(std::move(dir)), manifest_(std::move(manifest)) {}
    std::string location() const override { return "oci:" + layout_.dir().string(); }
    const Descriptor& manifest() const override { return manifest_; }
    bool has_blob(std::string_view digest) const override { return layout_has_blob(layout_, digest); }
    fs::UniqueFd open_blob(std::string_view digest) const override {
        return open_blob_at(layout_.blob_path(digest), digest, location());
    }
    std::optional<stdfs::path> blob_file(std::string_view digest) const override { return layout_.blob_path(digest); }

private:
    OciLayout layout_;
    Descriptor manifest_;
};

class LayoutSink final : public ImageSink {
public:
    LayoutSink(stdfs::path dir, std::string ref_name) : layout_(std::move(dir)), ref_name_(std::move(ref_name)) {
        layout_.init();
    }
    bool has_blob(std::string_view digest) const override { return layout_has_blob(layout_, digest); }
    BlobOutcome put_blob(const Descriptor& d, const ImageSource& from, BlobTransfer& transfer) override {
        if (has_blob(d.digest)) return BlobOutcome::present;
        stdfs::path to = layout_.blob_path(d.digest);
        // Content-addressed files never change: a hard link is a copy (the store checked
        // the digest when the blob came in).
        if (auto file = from.blob_file(d.digest)) {
            std::error_code ec;
            stdfs::create_hard_link(*file, to, ec);
            if (!ec) return BlobOutcome::copied;
        }
        BlobWriter out(to.parent_path());
        detail::WriterStream stream(out, transfer);
        from.stream_blob(d, stream);
        out.commit(d.digest, static_cast<uint64_t>(d.size));
        return BlobOutcome::copied;
    }
    void set_manifest(const Descriptor& manifest, const std::string& bytes) override {
        if (!has_blob(manifest.digest)) {
            BlobWriter out(layout_.blob_path(manifest.digest).parent_path());
            out.write(bytes.data(), bytes.size());
            out.commit(manifest.digest, bytes.size());
        }
        // The entry names the image here only: the source's own names stay behind.
        Descriptor entry;
        entry.media_type = manifest.media_type;
        entry.digest = manifest.digest;
        entry.size = manifest.size;
        layout_.set_ref(ref_name_, entry);
    }

private:
    OciLayout layout_;
    std::string ref_name_;
};

// A blob's progress slot and the copy's cancel flag, as one BlobTransfer.
class SlotTransfer final : public BlobTransfer {
public:
    SlotTransfer(TransferObserver* observer, size_t slot, const std::atomic<bool>& cancel)
        : observer_(observer), slot_(slot), cancel_(cancel) {}
    void bytes(uint64_t held) override {
        if (observer_) observer_->set_bytes(slot_, held);
    }
    bool cancelled() const override { return cancel_; }

private:
    TransferObserver* observer_;
    size_t slot_;
    const std::atomic<bool>& cancel_;
};

const char* outcome_text(BlobOutcome o) {
    switch (o) {
        case BlobOutcome::present: return "already exists";
        case BlobOutcome::mounted: return "mounted";
        case BlobOutcome::reused: return "unpacked";
        case BlobOutcome::copied: return "done";
    }
    return "done";
}

void count(CopyResult::Counts& c, BlobOutcome o) {
    switch (o) {
        case BlobOutcome::present: ++c.present; break;
        case BlobOutcome::mounted: ++c.mounted; break;
        case BlobOutcome::reused: ++c.reused; break;
        case BlobOutcome::copied: ++c.copied; break;
    }
}

}  // namespace

std::string ImageSource::read_blob(std::string_view digest, uint64_t max_size) const {
    fs::UniqueFd fd = open_blob(digest);
    std::string out;
    read_chunks(fd.get(), "blob " + std::string(digest) + " from " + location(), [&](const char* data, size_t n) {
        if (out.size() + n > max_size)
            throw Error("blob " + std::string(digest) + " in " + location() + " is larger than " +
                        std::to_string(max_size) + " bytes");
        out.append(data, n);
    });
    return out;
}

void ImageSource::stream_blob(const Descriptor& d, BlobStream& out) const {
    fs::UniqueFd fd = open_blob(d.digest);
    if (out.received() > 0 && ::lseek(fd.get(), static_cast<off_t>(out.received()), SEEK_SET) < 0)
        throw_errno("seek blob " + d.digest + " in " + location());
    read_chunks(fd.get(), "blob " + d.digest + " from " + location(),
                [&](const char* data, size_t n) { out.write(data, n); });
}

SourceImage read_source_image(const ImageSource& source, bool check_blobs) {
    const Descriptor& md = source.manifest();
    if (check_blobs && !source.has_blob(md.digest))
        throw Error("manifest blob " + md.digest + " is missing from " + source.location(), ErrorKind::NotFound);
    SourceImage img;
    img.manifest_bytes = source.read_blob(md.digest, kMaxManifestBytes);
    img.media_type = md.media_type.empty() ? manifest_media_type(img.manifest_bytes, "") : md.media_type;
    if (classify_manifest(img.media_type) != ManifestKind::image)
        throw Error("pushing an image index is not supported (" + md.digest + ")", ErrorKind::InvalidArgument);
    img.manifest = parse_manifest(img.manifest_bytes);
    if (!check_blobs) return img;
    // Every blob must be there before anything is written anywhere.
    for (auto& l : img.manifest.layers)
        if (!source.has_blob(l.digest))
            throw Error("layer blob " + l.digest + " is missing from " + source.location(), ErrorKind::NotFound);
    if (!source.has_blob(img.manifest.config.digest))
        throw Error("config blob " + img.manifest.config.digest + " is missing from " + source.location(),
                    ErrorKind::NotFound);
    return img;
}

CopyResult copy_image(const ImageSource& from, ImageSink& to, const CopyOptions& opts) {
    SourceImage img = read_source_image(from, from.local());
    const Manifest& m = img.manifest;
    const Descriptor& md = from.manifest();
    if (sha256_digest(img.manifest_bytes) != md.digest)
        throw Error("manifest digest mismatch: expected " + md.digest + ", content hashes to " +
                    sha256_digest(img.manifest_bytes));
    std::string config = from.read_blob(m.config.digest, kMaxConfigBytes);
    if (sha256_digest(config) != m.config.digest)
        throw Error("config blob digest mismatch: expected " + m.config.digest + ", content hashes to " +
                    sha256_digest(config));
    // Only a sink that unpacks needs the config to be an image config with a diff id per layer.
    std::optional<ImageConfig> cfg;
    try {
        cfg = parse_image_config(config);
    } catch (const Error&) {
        if (to.needs_diff_ids()) throw;
    }
    if (to.needs_diff_ids() && cfg->diff_ids.size() != m.layers.size())
        throw Error("malformed image: " + std::to_string(m.layers.size()) + " layers but " +
                    std::to_string(cfg->diff_ids.size()) + " diff_ids in the config");

    struct Layer {
        const Descriptor* d;
        std::string diff_id;
        size_t slot = 0;
    };
    std::vector<Layer> layers;
    std::set<std::string> seen;
    for (size_t i = 0; i < m.layers.size(); ++i)
        if (seen.insert(m.layers[i].digest).second)
            layers.push_back({&m.layers[i], to.needs_diff_ids() ? cfg->diff_ids[i] : std::string()});
    TransferObserver* obs = opts.observer;
    for (auto& l : layers) l.slot = obs ? obs->add(l.d->digest, l.d->size) : 0;
    size_t config_slot = obs ? obs->add(m.config.digest, m.config.size) : 0;

    CopyResult result;
    std::mutex mu;
    std::exception_ptr first_error;
    std::atomic<bool> cancel{false};
    std::atomic<size_t> next{0};
    auto worker = [&] {
        for (size_t i; (i = next++) < layers.size();) {
            if (cancel) return;
            const Layer& l = layers[i];
            SlotTransfer transfer(obs, l.slot, cancel);
            try {
                BlobOutcome o = to.put_layer(*l.d, l.diff_id, from, transfer);
                if (obs) obs->finish(l.slot, outcome_text(o));
                std::lock_guard lk(mu);
                count(result.layers, o);
            } catch (...) {
                std::lock_guard lk(mu);
                if (!first_error) first_error = std::current_exception();
                cancel = true;
                if (obs) obs->finish(l.slot, "failed");
            }
        }
    };
    std::vector<std::thread> threads;
    size_t n = std::max<size_t>(1, std::min(opts.parallel, layers.size()));
    for (size_t t = 1; t < n; ++t) threads.emplace_back(worker);
    worker();  // this thread is one of the workers
    for (auto& t : threads) t.join();
    if (first_error) std::rethrow_exception(first_error);

    if (seen.insert(m.config.digest).second) {
        SlotTransfer transfer(obs, config_slot, cancel);
        try {
            result.config = to.put_blob(m.config, from, transfer);
        } catch (...) {
            if (obs) obs->finish(config_slot, "failed");
            throw;
        }
    }
    if (obs) obs->finish(config_slot, outcome_text(result.config));

    Descriptor named = md;
    named.media_type = img.media_type;
    named.size = static_cast<int64_t>(img.manifest_bytes.size());
    if (cfg && !cfg->platform.os.empty()) {
        result.platform = cfg->platform;
        if (!named.platform) named.platform = cfg->platform;
    }
    to.set_manifest(named, img.manifest_bytes);
    result.manifest_digest = md.digest;
    result.config_digest = m.config.digest;
    return result;
}

std::unique_ptr<ImageSource> store_source(const Store& store, std::string_view name_or_id) {
    auto rec = store.lookup(name_or_id);
    if (!rec) throw Error("no image " + std::string(name_or_id) + " in the store", ErrorKind::NotFound);
    return std::make_unique<StoreSource>(store, std::move(*rec));
}

std::unique_ptr<ImageSource> store_source(const Store& store, const Descriptor& manifest) {
    return std::make_unique<StoreSource>(store, ImageRecord{"", manifest});
}

std::unique_ptr<ImageSource> layout_source(const stdfs::path& dir, const std::string& ref_name) {
    OciLayout layout(dir);
    std::vector<Descriptor> entries = layout.manifests();
    const Descriptor* found = nullptr;
    const std::string key(kRefNameAnnotation);
    for (auto& d : entries) {
        auto it = d.annotations.find(key);
        bool match = ref_name.empty() || (it != d.annotations.end() && it->second == ref_name);
        if (!match) continue;
        if (found)
            throw Error("oci:" + dir.string() + " holds several images: name one (oci:DIR:TAG)",
                        ErrorKind::InvalidArgument);
        found = &d;
    }
    if (!found)
        throw Error("oci:" + dir.string() + (ref_name.empty() ? " holds no image" : " has no image " + ref_name),
                    ErrorKind::NotFound);
    return std::make_unique<LayoutSource>(dir, *found);
}

std::unique_ptr<ImageSink> layout_sink(const stdfs::path& dir, const std::string& ref_name) {
    return std::make_unique<LayoutSink>(dir, ref_name);
}

std::optional<std::pair<std::string, std::string>> parse_oci_transport(std::string_view text, std::string_view transport) {
    std::string prefix = std::string(transport) + ":";
    if (text.substr(0, prefix.size()) != prefix) return std::nullopt;
    std::string dest(text.substr(prefix.size())), tag;
    auto tag_colon = dest.rfind(':');
    auto slash = dest.rfind('/');
    if (tag_colon != std::string::npos && (slash == std::string::npos || tag_colon > slash)) {
        tag = dest.substr(tag_colon + 1);
        dest.resize(tag_colon);
        if (tag.empty()) throw Error("invalid \"" + std::string(text) + "\": use " + prefix + "DIR[:TAG]", ErrorKind::InvalidArgument);
    }
    if (dest.empty()) throw Error("invalid \"" + std::string(text) + "\": use " + prefix + "DIR[:TAG]", ErrorKind::InvalidArgument);
    return std::make_pair(dest, tag);
}

}  // namespace minirun::image
