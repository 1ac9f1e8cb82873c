#include "minirun/image/image_archive.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/common/sha256.hpp"
#include "minirun/image/image_config.hpp"
#include "minirun/image/image_source.hpp"
#include "minirun/image/oci_layout.hpp"
#include "minirun/image/reference.hpp"
#include "minirun/image/store.hpp"
#include "minirun/image/stored_image.hpp"
#include "minirun/image/tar_writer.hpp"
#include "unpack_stream.hpp"

namespace minirun::image {

namespace stdfs = std::filesystem;
using json = nlohmann::json;

namespace {

// containerd's (and Docker 25's) annotation for an image's full name in an OCI layout,
// whose ref.name then holds the tag only.
constexpr std::string_view kContainerdNameAnnotation = "io.containerd.image.name";
// An archive's table of contents is small; its members may not be many.
constexpr uint64_t kMaxArchiveJson = 4ull << 20;
constexpr size_t kMaxMembers = 200000;
constexpr size_t kMaxMemberName = 4096;

std::string quote(std::string_view text) { return "\"" + std::string(text) + "\""; }

std::string digest_hex(std::string_view digest) {
    auto colon = digest.find(':');
    return std::string(colon == std::string_view::npos ? digest : digest.substr(colon + 1));
}

// A directory under the store's tmp/ (swept when its process died), removed on scope exit.
class Staging {
public:
    Staging(const Store& store, const char* what) {
        fs::mkdir_p(store.temp_dir());
        dir_ = store.temp_dir() / (std::string(fs::kTempPrefix) + fs::unique_suffix() + what);
        fs::mkdir_p(dir_, 0700);
    }
    ~Staging() {
        try {
            remove_tree(dir_);
        } catch (...) {
        }
    }
    Staging(const Staging&) = delete;
    Staging& operator=(const Staging&) = delete;
    const stdfs::path& dir() const { return dir_; }

private:
    stdfs::path dir_;
};

// ---------------------------------------------------------------------------------- save

struct SavedImage {
    StoredImage img;
    std::vector<std::string> names;  // full references; empty when saved by id
};

// Groups the requested images by id, as `docker save` writes one entry per image with
// every name it was asked for.
std::vector<SavedImage> resolve_saved(const Store& store, const std::vector<std::string>& texts) {
    std::vector<SavedImage> out;
    for (auto& text : texts) {
        auto rec = store.lookup(text);
        if (!rec) throw Error("image not found: " + text, ErrorKind::NotFound);
        StoredImage img = load_stored_image(store, *rec);
        // A name was asked for when the text names an image; an id prefix adds none.
        std::string name;
        try {
            std::string full = Reference::parse(text).str();
            if (store.find_image(full)) name = full;
        } catch (const Error&) {
        }
        auto same = std::find_if(out.begin(), out.end(), [&](const SavedImage& s) { return s.img.id() == img.id(); });
        if (same == out.end()) same = out.insert(out.end(), SavedImage{std::move(img), {}});
        if (!name.empty() && std::find(same->names.begin(), same->names.end(), name) == same->names.end())
            same->names.push_back(name);
    }
    return out;
}

// The layer's uncompressed tar in `out`, checked against the diff id its config gives it.
void decompress_layer(const Store& store, const Descriptor& layer, const std::string& diff_id,
                      const stdfs::path& out) {
    fs::UniqueFd in(::open(store.blob_path(layer.digest).c_str(), O_RDONLY | O_CLOEXEC));
    if (!in) throw_errno("open layer " + layer.digest);
    fs::UniqueFd to(::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!to) throw_errno("create " + out.string());
    detail::LayerStream stream(in.get(), layer.digest, UINT64_MAX);
    for (auto chunk = stream.next(); !chunk.empty(); chunk = stream.next())
        fs::write_all(to.get(), chunk.data(), chunk.size(), out.string());
    if (stream.digest() != diff_id)
        throw Error("layer " + layer.digest + " does not unpack to its diff id " + diff_id +
                        " (the store is damaged: run minirun system check)",
                    ErrorKind::Internal);
}

void save_docker(const Store& store, const std::vector<SavedImage>& images, TarWriter& tar) {
    Staging staging(store, "-save");
    json manifest = json::array();
    std::set<std::string> written;
    for (auto& s : images) {
        const auto& diff_ids = s.img.config.diff_ids;
        if (diff_ids.size() != s.img.manifest.layers.size())
            throw Error("image " + s.img.id() + ": its config lists " + std::to_string(diff_ids.size()) +
                            " layers, its manifest " + std::to_string(s.img.manifest.layers.size()),
                        ErrorKind::Internal);
        std::string config_file = digest_hex(s.img.id()) + ".json";
        if (written.insert(config_file).second)
            tar.add_bytes(config_file, store.read_blob(s.img.id()));
        json layers = json::array();
        for (size_t i = 0; i < diff_ids.size(); ++i) {
            std::string file = digest_hex(diff_ids[i]) + ".tar";
            layers.push_back(file);
            if (!written.insert(file).second) continue;
            stdfs::path tmp = staging.dir() / file;
            decompress_layer(store, s.img.manifest.layers[i], diff_ids[i], tmp);
            tar.add_file(file, tmp);
            stdfs::remove(tmp);
        }
        json tags = json::array();
        // Full names, as podman writes them: Docker shortens them on load, and podman
        // would otherwise put a short name under localhost/.
        for (auto& n : s.names) tags.push_back(n);
        json entry = {{"Config", config_file}, {"Layers", layers}};
        entry["RepoTags"] = s.names.empty() ? json(nullptr) : tags;  // null when saved by id, as Docker writes
        manifest.push_back(std::move(entry));
    }
    // Last, as Docker writes it: a reader finds every file the table names before it.
    tar.add_bytes("manifest.json", manifest.dump());
}

void save_oci(const Store& store, const std::vector<SavedImage>& images, TarWriter& tar) {
    Staging staging(store, "-save");
    stdfs::path layout_dir = staging.dir() / "layout";
    size_t unnamed = 0;
    for (auto& s : images) {
        auto names = s.names;
        // An image saved by id gets a placeholder name, dropped again below.
        if (names.empty()) names.push_back("\x01unnamed-" + std::to_string(unnamed++));
        for (auto& n : names) {
            auto source = store_source(store, s.img.record.manifest);
            auto sink = layout_sink(layout_dir, n);
            copy_image(*source, *sink);
        }
    }
    // podman writes the full name in ref.name; containerd and Docker read theirs.
    OciLayout layout(layout_dir);
    auto entries = layout.manifests();
    const std::string ref_key(kRefNameAnnotation), name_key(kContainerdNameAnnotation);
    for (auto& d : entries) {
        if (d.annotations[ref_key].starts_with('\x01'))
            d.annotations.clear();
        else
            d.annotations[name_key] = d.annotations[ref_key];
    }
    layout.write_manifests(entries);
    tar.add_tree(layout_dir);
}

// ---------------------------------------------------------------------------------- load

// "a/./b//c" → "a/b/c"; nullopt when it is absolute or climbs out with "..".
std::optional<std::string> clean_member_path(std::string_view name) {
    if (name.starts_with('/')) return std::nullopt;
    std::vector<std::string> parts;
    size_t pos = 0;
    while (pos <= name.size()) {
        size_t slash = name.find('/', pos);
        if (slash == std::string_view::npos) slash = name.size();
        std::string_view part = name.substr(pos, slash - pos);
        pos = slash + 1;
        if (part.empty() || part == ".") continue;
        if (part == "..") {
            if (parts.empty()) return std::nullopt;
            parts.pop_back();
            continue;
        }
        parts.emplace_back(part);
    }
    std::string out;
    for (auto& p : parts) out += (out.empty() ? "" : "/") + p;
    return out;
}

// The archive's members: regular files are written flat into the staging directory under
// numbers (so no member name ever becomes a host path), links are kept as names to follow.
class ArchiveMembers {
public:
    ArchiveMembers(stdfs::path dir, std::string archive) : dir_(std::move(dir)), archive_(std::move(archive)) {}

    void read(int fd);

    bool has(const std::string& name) const { return resolve_or_null(name) != nullptr; }
    // The file a member name leads to, links followed; throws naming the member.
    const stdfs::path& file(const std::string& name) const {
        const File* f = resolve_or_null(name);
        if (!f) throw Error(archive_ + ": no file " + name + " in the archive", ErrorKind::InvalidArgument);
        return f->path;
    }
    const std::string& digest(const std::string& name) const {
        file(name);
        return resolve_or_null(name)->digest;
    }
    std::string read_json(const std::string& name) const { return fs::read_file(file(name), kMaxArchiveJson); }
    // Names of the regular files and links under `prefix`.
    std::vector<std::string> under(const std::string& prefix) const {
        std::vector<std::string> out;
        for (auto& [n, _] : files_)
            if (n.starts_with(prefix)) out.push_back(n);
        for (auto& [n, _] : links_)
            if (n.starts_with(prefix)) out.push_back(n);
        return out;
    }

private:
    struct File {
        stdfs::path path;
        std::string digest;
    };
    const File* resolve_or_null(std::string name) const {
        for (int hops = 0; hops < 16; ++hops) {
            if (auto f = files_.find(name); f != files_.end()) return &f->second;
            auto l = links_.find(name);
            if (l == links_.end()) return nullptr;
            name = l->second;
        }
        return nullptr;
    }
    void add_entry(struct archive* a, struct archive_entry* e);

    stdfs::path dir_;
    std::string archive_;
    std::map<std::string, File> files_;
    std::map<std::string, std::string> links_;  // member → the member it points at
    size_t count_ = 0;
};

struct ReadContext {
    detail::LayerStream* stream;
    std::string error;
};

la_ssize_t read_callback(struct archive*, void* opaque, const void** buffer) {
    auto* ctx = static_cast<ReadContext*>(opaque);
    try {
        std::string_view chunk = ctx->stream->next();
        *buffer = chunk.data();
        return static_cast<la_ssize_t>(chunk.size());
    } catch (const std::exception& e) {
        ctx->error = e.what();
        return -1;
    }
}

void ArchiveMembers::read(int fd) {
    // The stream decoder takes plain, gzip and zstd archives (`docker save | gzip`).
    detail::LayerStream stream(fd, archive_, UINT64_MAX);
    ReadContext ctx{&stream, {}};
    std::unique_ptr<struct archive, int (*)(struct archive*)> a(archive_read_new(), archive_read_free);
    archive_read_support_format_tar(a.get());
    archive_read_support_format_gnutar(a.get());
    auto fail = [&](const std::string& what) {
        std::string why = !ctx.error.empty() ? ctx.error : archive_error_string(a.get()) ? archive_error_string(a.get()) : "";
        return Error(archive_ + ": " + what + (why.empty() ? "" : ": " + why), ErrorKind::InvalidArgument);
    };
    auto not_tar = [&] {
        if (ctx.error.empty() && stream.total() == 0)
            return Error(archive_ + ": empty input, not an image archive", ErrorKind::InvalidArgument);
        return fail("not a tar archive");
    };
    if (archive_read_open(a.get(), &ctx, nullptr, read_callback, nullptr) != ARCHIVE_OK) throw not_tar();
    for (;;) {
        struct archive_entry* e = nullptr;
        int rc = archive_read_next_header(a.get(), &e);
        if (rc == ARCHIVE_EOF) break;
        if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) throw count_ == 0 ? not_tar() : fail("damaged tar archive");
        if (++count_ > kMaxMembers)
            throw Error(archive_ + ": more than " + std::to_string(kMaxMembers) + " members", ErrorKind::InvalidArgument);
        add_entry(a.get(), e);
    }
    if (!ctx.error.empty()) throw fail("read failed");
}

void ArchiveMembers::add_entry(struct archive* a, struct archive_entry* e) {
    const char* raw = archive_entry_pathname(e);
    std::string_view raw_name = raw ? raw : "";
    if (raw_name.size() > kMaxMemberName) throw Error(archive_ + ": a member name is too long", ErrorKind::InvalidArgument);
    auto name = clean_member_path(raw_name);
    if (!name) throw Error(archive_ + ": member " + std::string(raw_name) + " escapes the archive", ErrorKind::InvalidArgument);
    if (const char* hard = archive_entry_hardlink(e)) {
        auto target = clean_member_path(hard);
        if (!target) throw Error(archive_ + ": link " + *name + " escapes the archive", ErrorKind::InvalidArgument);
        links_[*name] = *target;
        return;
    }
    auto type = archive_entry_filetype(e);
    if (type == AE_IFLNK) {
        const char* to = archive_entry_symlink(e);
        std::string_view target = to ? to : "";
        auto slash = name->rfind('/');
        std::string base = slash == std::string::npos ? "" : name->substr(0, slash + 1);
        auto resolved = target.starts_with('/') ? std::nullopt : clean_member_path(base + std::string(target));
        if (!resolved) throw Error(archive_ + ": link " + *name + " escapes the archive", ErrorKind::InvalidArgument);
        links_[*name] = *resolved;
        return;
    }
    if (type != AE_IFREG) return;  // directories are implied; devices and fifos mean nothing here
    File f{dir_ / std::to_string(files_.size()), {}};
    fs::UniqueFd out(::open(f.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!out) throw_errno("create " + f.path.string());
    Sha256 hash;
    const void* buf = nullptr;
    size_t size = 0;
    la_int64_t offset = 0;
    for (;;) {
        int rc = archive_read_data_block(a, &buf, &size, &offset);
        if (rc == ARCHIVE_EOF) break;
        if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
            const char* why = archive_error_string(a);
            throw Error(archive_ + ": member " + *name + ": " + (why ? why : "read failed"), ErrorKind::InvalidArgument);
        }
        // Sparse members come as blocks at offsets; a layer or config is never sparse.
        if (::lseek(out.get(), 0, SEEK_CUR) != offset)
            throw Error(archive_ + ": member " + *name + " is sparse", ErrorKind::InvalidArgument);
        fs::write_all(out.get(), buf, size, f.path.string());
        hash.update(buf, size);
    }
    f.digest = hash.digest();
    files_[*name] = std::move(f);
}

// Puts member `name` into the layout as a blob, returning its descriptor.
Descriptor add_blob(const ArchiveMembers& members, const std::string& name, const OciLayout& layout,
                    std::string media_type) {
    Descriptor d;
    d.media_type = std::move(media_type);
    d.digest = members.digest(name);
    d.size = static_cast<int64_t>(stdfs::file_size(members.file(name)));
    stdfs::path to = layout.blob_path(d.digest);
    std::error_code ec;
    if (!stdfs::exists(to)) stdfs::create_hard_link(members.file(name), to, ec);
    if (ec) throw Error("link " + to.string() + ": " + ec.message());
    return d;
}

std::string layer_media_type(const stdfs::path& file) {
    char magic[4] = {};
    fs::UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd || ::read(fd.get(), magic, sizeof magic) < 2) return std::string(media::kOciLayerTar);
    if (magic[0] == '\x1f' && magic[1] == '\x8b') return std::string(media::kOciLayerGzip);
    if (std::string_view(magic, 4) == "\x28\xb5\x2f\xfd") return std::string(media::kOciLayerZstd);
    return std::string(media::kOciLayerTar);
}

// One image found in the archive: the staging layout's ref name for it and its names.
struct Found {
    std::string ref;
    std::vector<std::string> names;
};

std::string full_name(const std::string& text, const std::string& archive) {
    try {
        return Reference::parse(text).str();
    } catch (const Error& e) {
        throw Error(archive + ": image name " + quote(text) + ": " + e.what(), ErrorKind::InvalidArgument);
    }
}

// manifest.json (docker save, podman's docker-archive, Docker 25) into an OCI layout.
std::vector<Found> stage_docker(const ArchiveMembers& members, const OciLayout& layout, const std::string& archive) {
    json table = json::parse(members.read_json("manifest.json"), nullptr, false);
    if (!table.is_array()) throw Error(archive + ": manifest.json is not a list of images", ErrorKind::InvalidArgument);
    std::vector<Found> found;
    std::vector<Descriptor> entries;
    for (auto& item : table) {
        if (!item.is_object() || !item.value("Config", json()).is_string() || !item.value("Layers", json()).is_array())
            throw Error(archive + ": manifest.json: an entry lacks Config or Layers", ErrorKind::InvalidArgument);
        std::string config_name = item["Config"];
        ImageConfig config = parse_image_config(members.read_json(config_name));
        Manifest m;
        m.media_type = std::string(media::kOciManifest);
        m.config = add_blob(members, config_name, layout, std::string(media::kOciConfig));
        for (auto& layer : item["Layers"]) {
            if (!layer.is_string()) throw Error(archive + ": manifest.json: a layer name is not a string", ErrorKind::InvalidArgument);
            std::string layer_name = layer;
            m.layers.push_back(add_blob(members, layer_name, layout, layer_media_type(members.file(layer_name))));
        }
        if (m.layers.size() != config.diff_ids.size())
            throw Error(archive + ": " + config_name + " lists " + std::to_string(config.diff_ids.size()) +
                            " layers, manifest.json " + std::to_string(m.layers.size()),
                        ErrorKind::InvalidArgument);
        std::string bytes = manifest_json(m);
        Descriptor d{std::string(media::kOciManifest), sha256_digest(bytes), static_cast<int64_t>(bytes.size()), {}, {}};
        fs::write_file_atomic(layout.blob_path(d.digest), bytes, 0644, false);
        Found f{"load-" + std::to_string(found.size()), {}};
        if (auto tags = item.value("RepoTags", json()); tags.is_array())
            for (auto& t : tags)
                if (t.is_string()) f.names.push_back(full_name(t, archive));
        d.annotations[std::string(kRefNameAnnotation)] = f.ref;
        entries.push_back(d);
        found.push_back(std::move(f));
    }
    layout.write_manifests(entries);
    return found;
}

// An OCI layout tarred (podman's oci-archive, `imgbuild --output oci-archive:`).
std::vector<Found> stage_oci(const ArchiveMembers& members, const OciLayout& layout, const std::string& archive) {
    for (auto& name : members.under("blobs/sha256/")) {
        std::string hex = name.substr(std::string_view("blobs/sha256/").size());
        bool valid = hex.size() == 64 && hex.find_first_not_of("0123456789abcdef") == std::string::npos;
        if (!valid) continue;  // not a blob; copy_image reads only what the manifests name
        add_blob(members, name, layout, "");
    }
    Index index = parse_index(members.read_json("index.json"));
    std::vector<Found> found;
    for (auto& d : index.manifests) {
        Found f{"load-" + std::to_string(found.size()), {}};
        std::string name;
        if (auto it = d.annotations.find(std::string(kContainerdNameAnnotation)); it != d.annotations.end())
            name = it->second;
        else if (auto r = d.annotations.find(std::string(kRefNameAnnotation)); r != d.annotations.end())
            // podman's full name; a bare tag ("latest", as skopeo writes) names nothing.
            if (r->second.find_first_of(":/") != std::string::npos) name = r->second;
        if (!name.empty()) f.names.push_back(full_name(name, archive));
        d.annotations = {{std::string(kRefNameAnnotation), f.ref}};
        found.push_back(std::move(f));
    }
    layout.write_manifests(index.manifests);
    return found;
}

}  // namespace

ArchiveFormat parse_archive_format(const std::string& text) {
    if (text == "docker-archive" || text == "docker") return ArchiveFormat::docker;
    if (text == "oci-archive" || text == "oci") return ArchiveFormat::oci;
    throw Error("invalid --format " + quote(text) + ": use docker-archive or oci-archive", ErrorKind::InvalidArgument);
}

void save_images(const Store& store, const std::vector<std::string>& images, ArchiveFormat format, int out_fd,
                 const std::string& out_name) {
    if (images.empty()) throw Error("save: name at least one image", ErrorKind::InvalidArgument);
    std::vector<SavedImage> saved = resolve_saved(store, images);
    for (auto& s : saved) require_layers(store, s.img);
    TarWriter tar(out_fd, out_name);
    if (format == ArchiveFormat::docker)
        save_docker(store, saved, tar);
    else
        save_oci(store, saved, tar);
    tar.finish();
}

std::vector<LoadedImage> load_images(Store& store, int in_fd, const std::string& in_name, uint64_t max_layer_bytes) {
    Staging staging(store, "-load");
    fs::mkdir_p(staging.dir() / "members", 0700);
    ArchiveMembers members(staging.dir() / "members", in_name);
    members.read(in_fd);
    OciLayout layout(staging.dir() / "layout");
    layout.init();
    std::vector<Found> found;
    if (members.has("manifest.json"))
        found = stage_docker(members, layout, in_name);
    else if (members.has("index.json"))
        found = stage_oci(members, layout, in_name);
    else
        throw Error(in_name + ": neither a docker-archive (manifest.json) nor an oci-archive (index.json)",
                    ErrorKind::InvalidArgument);
    if (found.empty()) throw Error(in_name + ": the archive holds no image", ErrorKind::InvalidArgument);
    std::vector<LoadedImage> loaded;
    for (auto& f : found) {
        auto source = layout_source(layout.dir(), f.ref);
        if (f.names.empty()) f.names.push_back("");
        for (auto& name : f.names) {
            auto sink = store_sink(store, name, max_layer_bytes);
            CopyResult r;
            try {
                r = copy_image(*source, *sink);
            } catch (const Error& e) {
                throw Error(in_name + ": " + (name.empty() ? "image" : name) + ": " + e.what(), e.kind());
            }
            loaded.push_back({name, r.config_digest});
        }
    }
    return loaded;
}

}  // namespace minirun::image
