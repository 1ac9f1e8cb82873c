// Images as sources and sinks (see image_source.hpp): the store and OCI layouts.
#include "minirun/image/image_source.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <set>

#include "minirun/common/error.hpp"
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
    void put_blob(const Descriptor& d, const ImageSource& from) override {
        stdfs::path to = layout_.blob_path(d.digest);
        // Content-addressed files never change: a hard link is a copy (the store checked
        // the digest when the blob came in).
        if (auto file = from.blob_file(d.digest)) {
            std::error_code ec;
            stdfs::create_hard_link(*file, to, ec);
            if (!ec) return;
        }
        BlobWriter out(to.parent_path());
        fs::UniqueFd in = from.open_blob(d.digest);
        read_chunks(in.get(), "blob " + d.digest + " from " + from.location(),
                    [&](const char* data, size_t n) { out.write(data, n); });
        out.commit(d.digest, static_cast<uint64_t>(d.size));
    }
    void set_manifest(const Descriptor& manifest) override {
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

SourceImage read_source_image(const ImageSource& source) {
    const Descriptor& md = source.manifest();
    if (!source.has_blob(md.digest))
        throw Error("manifest blob " + md.digest + " is missing from " + source.location(), ErrorKind::NotFound);
    SourceImage img;
    img.manifest_bytes = source.read_blob(md.digest, kMaxManifestBytes);
    img.media_type = md.media_type.empty() ? manifest_media_type(img.manifest_bytes, "") : md.media_type;
    if (classify_manifest(img.media_type) != ManifestKind::image)
        throw Error("pushing an image index is not supported (" + md.digest + ")", ErrorKind::InvalidArgument);
    img.manifest = parse_manifest(img.manifest_bytes);
    // Every blob must be there before anything is written anywhere.
    for (auto& l : img.manifest.layers)
        if (!source.has_blob(l.digest))
            throw Error("layer blob " + l.digest + " is missing from " + source.location(), ErrorKind::NotFound);
    if (!source.has_blob(img.manifest.config.digest))
        throw Error("config blob " + img.manifest.config.digest + " is missing from " + source.location(),
                    ErrorKind::NotFound);
    return img;
}

void copy_image(const ImageSource& from, ImageSink& to) {
    SourceImage img = read_source_image(from);
    std::set<std::string> done;
    auto copy = [&](const Descriptor& d) {
        if (!done.insert(d.digest).second || to.has_blob(d.digest)) return;
        to.put_blob(d, from);
    };
    for (auto& l : img.manifest.layers) copy(l);
    copy(img.manifest.config);
    copy(from.manifest());  // last: a reader never finds a manifest whose blobs are missing
    to.set_manifest(from.manifest());
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
