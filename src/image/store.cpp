#include "minirun/image/store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <set>

#include <nlohmann/json.hpp>

#include "minirun/common/error.hpp"
#include "minirun/image/image_config.hpp"
#include "minirun/common/log.hpp"
#include "minirun/image/reference.hpp"

namespace minirun::image {

namespace stdfs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string hex_of(std::string_view digest) {
    validate_digest(digest);
    return std::string(digest.substr(7));
}

// A temp name's creator: ".tmp-<pid>-…". Returns 0 when the name is not ours.
pid_t temp_owner(const std::string& name) {
    if (name.rfind(fs::kTempPrefix, 0) != 0) return 0;
    return static_cast<pid_t>(std::strtol(name.c_str() + fs::kTempPrefix.size(), nullptr, 10));
}

bool process_gone(pid_t pid) { return pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH; }

}  // namespace

void remove_tree(const stdfs::path& p) {
    std::error_code ec;
    stdfs::remove_all(p, ec);
    if (!ec) return;
    // Read-only directories inside an unpacked layer block removal even for root only
    // when not root; make them writable and retry.
    for (auto it = stdfs::recursive_directory_iterator(p, stdfs::directory_options::skip_permission_denied, ec);
         !ec && it != stdfs::recursive_directory_iterator(); it.increment(ec)) {
        if (it->is_directory(ec) && !it->is_symlink(ec)) ::chmod(it->path().c_str(), 0700);
    }
    ::chmod(p.c_str(), 0700);
    stdfs::remove_all(p, ec);
    if (ec) throw Error("remove " + p.string() + ": " + ec.message());
}

BlobWriter::BlobWriter(const stdfs::path& blobs_dir) : blobs_dir_(blobs_dir), tmp_(blobs_dir, 0644) {}

void BlobWriter::write(const void* data, size_t size) {
    fs::write_all(tmp_.fd(), data, size, tmp_.path().string());
    hash_.update(data, size);
    size_ += size;
}

void BlobWriter::reset() {
    tmp_.truncate(0);
    hash_ = Sha256();
    size_ = 0;
}

void BlobWriter::commit(const std::string& expected_digest, std::optional<uint64_t> expected_size) {
    if (expected_size && *expected_size != size_)
        throw Error("blob " + expected_digest + ": size mismatch: expected " + std::to_string(*expected_size) +
                    " bytes, got " + std::to_string(size_));
    std::string got = hash_.digest();
    if (got != expected_digest)
        throw Error("blob " + expected_digest + ": digest mismatch: content hashes to " + got);
    tmp_.commit(blobs_dir_ / expected_digest.substr(7));
}

std::string BlobWriter::commit_new() {
    std::string digest = hash_.digest();
    tmp_.commit(blobs_dir_ / digest.substr(7));
    return digest;
}

Store::Store(stdfs::path root) : root_(std::move(root)) {
    fs::mkdir_p(root_ / "layers");
    fs::mkdir_p(root_ / "tmp");
    OciLayout layout(layout_dir());
    // A new store: one process writes the empty index.json, under the store lock.
    std::optional<fs::FileLock> lock;
    if (!stdfs::exists(layout.index_path())) lock.emplace(root_ / "store.lock");
    layout.init();
}

stdfs::path build_cache_dir(const stdfs::path& storage_root) { return storage_root / "cache/build"; }

stdfs::path Store::default_root() {
    if (const char* env = std::getenv("MINIRUN_STORAGE"); env && *env) return env;
    if (::geteuid() == 0) return "/var/lib/minirun";
    if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg) return stdfs::path(xdg) / "minirun";
    if (const char* home = std::getenv("HOME"); home && *home) return stdfs::path(home) / ".local/share/minirun";
    throw Error("cannot choose a storage directory: set --storage or MINIRUN_STORAGE");
}

stdfs::path Store::blob_path(std::string_view digest) const {
    return root_ / "store/blobs/sha256" / hex_of(digest);
}

stdfs::path Store::layer_dir(std::string_view diff_id) const { return root_ / "layers" / hex_of(diff_id); }

bool Store::has_blob(std::string_view digest) const {
    struct stat st {};
    return ::stat(blob_path(digest).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool Store::blob_intact(std::string_view digest, int64_t size, bool remove_damaged) const {
    fs::UniqueFd fd(::open(blob_path(digest).c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return false;
    struct stat st {};
    bool ok = ::fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode) && (size < 0 || st.st_size == size);
    if (ok) {
        Sha256 h;
        std::vector<char> buf(1 << 20);
        for (ssize_t n; (n = ::read(fd.get(), buf.data(), buf.size())) != 0;) {
            if (n < 0) {
                if (errno == EINTR) continue;
                ok = false;
                break;
            }
            h.update(buf.data(), static_cast<size_t>(n));
        }
        ok = ok && h.digest() == digest;
    }
    if (!ok && remove_damaged) {
        log::warn("blob " + std::string(digest) + " in the store is damaged; fetching it again");
        ::unlink(blob_path(digest).c_str());
    }
    return ok;
}

bool Store::has_layer(std::string_view diff_id) const {
    struct stat st {};
    return ::stat(layer_dir(diff_id).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string Store::read_blob(std::string_view digest, uint64_t max_size) const {
    std::string data = fs::read_file(blob_path(digest), max_size);
    if (sha256_digest(data) != digest)
        throw Error("store: blob " + std::string(digest) + " is corrupt (content does not match its digest)");
    return data;
}

std::string Store::put_blob(std::string_view data, std::string_view expected_digest) {
    std::string digest = sha256_digest(data);
    if (!expected_digest.empty() && digest != expected_digest)
        throw Error("blob " + std::string(expected_digest) + ": digest mismatch: content hashes to " + digest);
    if (has_blob(digest) && blob_intact(digest, static_cast<int64_t>(data.size()))) return digest;
    BlobWriter w = begin_blob();
    w.write(data.data(), data.size());
    w.commit(digest, data.size());
    return digest;
}

stdfs::path Store::make_layer_tmp() const {
    stdfs::path p = root_ / "layers" / (std::string(fs::kTempPrefix) + fs::unique_suffix());
    if (::mkdir(p.c_str(), 0755) != 0) throw_errno("create " + p.string());
    return p;
}

void Store::commit_layer(const stdfs::path& unpacked_tmp, std::string_view diff_id) {
    stdfs::path final_dir = layer_dir(diff_id);
    if (::rename(unpacked_tmp.c_str(), final_dir.c_str()) != 0) {
        int err = errno;
        if (err == EEXIST || err == ENOTEMPTY) {
            remove_tree(unpacked_tmp);  // a concurrent pull finished the same layer first
            return;
        }
        throw_errno("rename " + unpacked_tmp.string() + " to " + final_dir.string(), err);
    }
    fs::fsync_dir(root_ / "layers");
}

std::vector<ImageRecord> Store::read_index() const {
    std::vector<ImageRecord> out;
    for (auto& d : OciLayout(layout_dir()).manifests()) {
        ImageRecord r;
        r.manifest = d;
        auto name = d.annotations.find(std::string(kRefNameAnnotation));
        if (name != d.annotations.end()) r.name = name->second;
        out.push_back(std::move(r));
    }
    return out;
}

void Store::write_index(const std::vector<ImageRecord>& images) {
    std::vector<Descriptor> manifests;
    for (auto& r : images) manifests.push_back(r.manifest);
    OciLayout(layout_dir()).write_manifests(manifests);
}

std::vector<ImageRecord> Store::list_images() const {
    auto all = read_index();
    std::erase_if(all, [](const ImageRecord& r) { return r.name.empty(); });
    return all;
}

std::optional<ImageRecord> Store::find_image(std::string_view name) const {
    for (auto& r : read_index())
        if (r.name == name) return r;
    return std::nullopt;
}

std::optional<ImageRecord> Store::lookup(std::string_view text) const {
    // A reference first (alpine → docker.io/library/alpine:latest) …
    // (only a text that is no reference is let through: a corrupt index.json must fail
    // here, never look like a missing image that a pull would then fetch from elsewhere)
    std::optional<std::string> as_ref;
    try {
        as_ref = Reference::parse(text).str();
    } catch (const Error&) {
    }
    if (as_ref)
        if (auto r = find_image(*as_ref)) return r;
    // … then a unique prefix of a manifest digest or image id (config digest).
    std::string prefix(text);
    if (prefix.rfind("sha256:", 0) == 0) prefix = prefix.substr(7);
    if (prefix.size() < 4 || prefix.find_first_not_of("0123456789abcdef") != std::string::npos) return std::nullopt;
    // One image id may have several manifests (the same config stored with compressed and
    // with uncompressed layers): the prefix is ambiguous only across image ids.
    std::optional<ImageRecord> found;
    std::string found_id;
    for (auto& r : read_index()) {
        std::string id;
        try {
            id = parse_manifest(read_blob(r.manifest.digest, kMaxManifestBytes)).config.digest;
        } catch (const Error&) {
        }
        bool match = r.manifest.digest.compare(7, prefix.size(), prefix) == 0 ||
                     (id.size() > 7 && id.compare(7, prefix.size(), prefix) == 0);
        if (!match) continue;
        if (found && found_id != id)
            throw Error("image id prefix \"" + std::string(text) + "\" is ambiguous");
        if (!found) {
            found = r;
            found_id = id;
        }
    }
    return found;
}

void Store::set_image(const std::string& name, const Descriptor& manifest) {
    fs::FileLock lock(root_ / "store.lock");
    auto images = read_index();
    // A name given to an unnamed image replaces its unnamed entry.
    std::erase_if(images, [&](const ImageRecord& r) {
        return r.name == name || (r.name.empty() && r.manifest.digest == manifest.digest);
    });
    ImageRecord rec{name, manifest};
    rec.manifest.annotations[std::string(kRefNameAnnotation)] = name;
    images.push_back(rec);
    write_index(images);
}

bool Store::remove_entries(const std::function<bool(const ImageRecord&)>& doomed) {
    fs::FileLock lock(root_ / "store.lock");
    auto images = read_index();
    size_t before = images.size();
    std::erase_if(images, doomed);
    if (images.size() == before) return false;
    write_index(images);
    return true;
}

bool Store::remove_image(std::string_view name) {
    return remove_entries([&](const ImageRecord& r) { return r.name == name; });
}

void Store::add_unnamed(const Descriptor& manifest) {
    fs::FileLock lock(root_ / "store.lock");
    auto images = read_index();
    for (auto& r : images)
        if (r.manifest.digest == manifest.digest) return;  // named or unnamed already: kept
    ImageRecord rec{"", manifest};
    rec.manifest.annotations.erase(std::string(kRefNameAnnotation));
    images.push_back(rec);
    write_index(images);
}

bool Store::remove_unnamed(std::string_view digest) {
    return remove_entries([&](const ImageRecord& r) { return r.name.empty() && r.manifest.digest == digest; });
}

std::vector<ImageRecord> Store::list_unnamed() const {
    auto all = read_index();
    std::erase_if(all, [](const ImageRecord& r) { return !r.name.empty(); });
    return all;
}

Store::PullGuard::PullGuard(const Store& s) {
    fd_.reset(::open((s.root_ / "gc.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!fd_) throw_errno("open " + (s.root_ / "gc.lock").string());
    while (::flock(fd_.get(), LOCK_SH) != 0)
        if (errno != EINTR) throw_errno("lock " + (s.root_ / "gc.lock").string());
}

Store::PullGuard::~PullGuard() = default;

std::string Store::image_id(const ImageRecord& rec) const {
    try {
        return parse_manifest(read_blob(rec.manifest.digest, kMaxManifestBytes)).config.digest;
    } catch (const Error&) {
        return {};
    }
}

size_t Store::garbage_collect(const GcRoots& extra) {
    fs::UniqueFd gc(::open((root_ / "gc.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!gc || ::flock(gc.get(), LOCK_EX) != 0) throw_errno("lock " + (root_ / "gc.lock").string());
    fs::FileLock lock(root_ / "store.lock");

    std::set<std::string> keep_blobs = extra.blobs, keep_layers = extra.layers;
    for (auto& r : read_index()) {
        keep_blobs.insert(r.manifest.digest.substr(7));
        try {
            Manifest m = parse_manifest(read_blob(r.manifest.digest, kMaxManifestBytes));
            keep_blobs.insert(m.config.digest.substr(7));
            for (auto& l : m.layers) keep_blobs.insert(l.digest.substr(7));
            for (auto& id : parse_image_config(read_blob(m.config.digest)).diff_ids) keep_layers.insert(id.substr(7));
        } catch (const Error& e) {
            log::warn("garbage collection: skipping " + r.name + ": " + e.what());
        }
    }
    size_t removed = 0;
    for (auto& e : stdfs::directory_iterator(root_ / "store/blobs/sha256")) {
        std::string n = e.path().filename();
        if (temp_owner(n) || keep_blobs.count(n)) continue;
        stdfs::remove(e.path());
        ++removed;
    }
    for (auto& e : stdfs::directory_iterator(root_ / "layers")) {
        std::string n = e.path().filename();
        if (temp_owner(n) || keep_layers.count(n)) continue;
        remove_tree(e.path());
        ++removed;
    }
    return removed;
}

void Store::sweep_leftovers() const {
    for (auto dir : {root_ / "store/blobs/sha256", root_ / "layers", root_ / "tmp", layout_dir()}) {
        std::error_code ec;
        for (auto& e : stdfs::directory_iterator(dir, ec)) {
            pid_t owner = temp_owner(e.path().filename());
            if (!owner || !process_gone(owner)) continue;
            log::debug("removing leftover " + e.path().string());
            try {
                remove_tree(e.path());
            } catch (const Error& err) {
                log::warn(err.what());
            }
        }
    }
}

}  // namespace minirun::image
