#include "minirun/image/build_cache.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "minirun/common/fs.hpp"
#include "minirun/common/sha256.hpp"
#include "minirun/image/reference.hpp"

namespace minirun::image {

namespace stdfs = std::filesystem;
using json = nlohmann::json;

std::string step_key(const StepKeyInputs& in) {
    return sha256_digest(in.parent_chain + "\n" + in.instruction + "\ncompression=" + in.compression +
                         "\nepoch=" + std::to_string(in.source_date_epoch));
}

stdfs::path BuildCache::entry(const std::string& key) const {
    // "sha256:<hex>" → <hex>.json
    return dir_ / (key.substr(key.find(':') + 1) + ".json");
}

namespace {

// An entry's text, read without touching its access time (O_NOATIME where the kernel
// allows it): the access time is the entry's LAST USED, set by hits only.
std::string read_quietly(const stdfs::path& p) {
    fs::UniqueFd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NOATIME));
    if (!fd && errno == EPERM) fd.reset(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return {};
    std::string text;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd.get(), buf, sizeof buf)) > 0 && text.size() < (1u << 20)) text.append(buf, static_cast<size_t>(n));
    return text;
}

// An entry's step; nullopt for an unreadable one.
std::optional<CachedStep> read_entry(const stdfs::path& p) {
    json j = json::parse(read_quietly(p), nullptr, false);
    if (!j.is_object()) return std::nullopt;
    if (j.value("empty", false)) return CachedStep{};
    LayerRef l;
    l.blob.media_type = j.value("mediaType", "");
    l.blob.digest = j.value("digest", "");
    l.blob.size = j.value("size", int64_t{0});
    l.diff_id = j.value("diffID", "");
    if (!is_valid_digest(l.blob.digest) || !is_valid_digest(l.diff_id)) return std::nullopt;
    return CachedStep{l};
}

// A hit sets the entry's access time: `system df -v`'s LAST USED (the file's mtime stays
// its creation).
void touch_used(const stdfs::path& p) {
    struct timespec ts[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};
    ::utimensat(AT_FDCWD, p.c_str(), ts, 0);
}

}  // namespace

std::optional<CachedStep> BuildCache::find(const std::string& key) const {
    stdfs::path p = entry(key);
    std::error_code ec;
    if (!stdfs::exists(p, ec)) return std::nullopt;
    auto step = read_entry(p);
    if (!step) return std::nullopt;
    // A cached layer someone garbage-collected since is a miss.
    if (*step && (!store_.has_blob((*step)->blob.digest) || !store_.has_layer((*step)->diff_id))) return std::nullopt;
    touch_used(p);
    return step;
}

std::vector<BuildCacheEntry> BuildCache::entries() const {
    std::vector<BuildCacheEntry> out;
    std::error_code ec;
    for (auto& e : stdfs::directory_iterator(dir_, ec)) {
        if (e.path().extension() != ".json") continue;  // stat-* memos are not steps
        BuildCacheEntry entry;
        entry.key = e.path().stem().string();
        struct stat st {};
        if (::stat(e.path().c_str(), &st) == 0) {
            entry.created = st.st_mtime;
            entry.last_used = std::max<int64_t>(st.st_atime, st.st_mtime);
        }
        entry.step = read_entry(e.path());
        out.push_back(std::move(entry));
    }
    std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.key < b.key; });
    return out;
}

void BuildCache::remember(const std::string& key, const CachedStep& step) const {
    json j{{"empty", !step}};
    if (step) {
        j["mediaType"] = step->blob.media_type;
        j["digest"] = step->blob.digest;
        j["size"] = step->blob.size;
        j["diffID"] = step->diff_id;
    }
    fs::mkdir_p(dir_);
    fs::write_file_atomic(entry(key), j.dump(), 0644, false);
}

void BuildCache::add_roots(GcRoots& roots) const {
    auto hex_of = [](const std::string& digest) { return digest.substr(digest.find(':') + 1); };
    std::error_code ec;
    for (auto& e : stdfs::directory_iterator(dir_, ec)) {
        if (e.path().extension() != ".json") continue;  // stat-* memos name no layer
        json j = json::parse(read_quietly(e.path()), nullptr, false);
        if (!j.is_object() || j.value("digest", std::string()).empty()) continue;
        roots.blobs.insert(hex_of(j.value("digest", std::string())));
        roots.layers.insert(hex_of(j.value("diffID", std::string())));
    }
}

size_t BuildCache::prune() const {
    std::error_code ec;
    size_t n = 0;
    for (auto& e : stdfs::directory_iterator(dir_, ec))
        if (e.path().extension() == ".json" && stdfs::remove(e.path(), ec)) ++n;
    // The stat memos only speed up hashing the context; they go too.
    for (auto& e : stdfs::directory_iterator(dir_, ec)) stdfs::remove(e.path(), ec);
    return n;
}

std::optional<std::string> BuildCache::content_digest_for(const std::string& stat_digest_hex) const {
    stdfs::path memo = dir_ / ("stat-" + stat_digest_hex);
    std::error_code ec;
    if (!stdfs::exists(memo, ec)) return std::nullopt;
    std::string d = fs::read_file(memo, 128);
    if (!is_valid_digest(d)) return std::nullopt;
    return d;
}

void BuildCache::remember_content_digest(const std::string& stat_digest_hex, const std::string& content_digest) const {
    fs::mkdir_p(dir_);
    fs::write_file_atomic(dir_ / ("stat-" + stat_digest_hex), content_digest, 0644, false);
}

}  // namespace minirun::image
