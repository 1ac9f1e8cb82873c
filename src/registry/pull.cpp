#include "minirun/registry/pull.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <exception>
#include <map>
#include <mutex>
#include <optional>

#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/common/log.hpp"
#include "minirun/common/sha256.hpp"
#include "minirun/image/image_source.hpp"
#include "minirun/image/reference.hpp"
#include "minirun/image/store.hpp"

namespace minirun::registry {

namespace stdfs = std::filesystem;
using image::Descriptor;
using image::Store;

namespace {

std::string fetch_small(RegistryClient& client, const std::string& path, const std::string& accept, uint64_t limit,
                        HttpResponse* out = nullptr) {
    HttpRequest req;
    req.url = path;
    if (!accept.empty()) req.headers.push_back("Accept: " + accept);
    req.max_body = limit;
    HttpResponse r = client.send(req);
    if (r.status == 404) {
        std::string detail = registry_error_text(r);
        throw RegistryError("not found: " + (detail.empty() ? "repository, tag or blob does not exist" : detail), 404);
    }
    if (r.status != 200) {
        std::string detail = registry_error_text(r);
        throw RegistryError("registry " + client.registry() + " answered HTTP " + std::to_string(r.status) +
                                (detail.empty() ? "" : ": " + detail),
                            r.status);
    }
    if (out) *out = r;
    return std::move(r.body);
}

struct Fetched {
    std::string body;
    std::string media_type;
    std::string digest;
};

Fetched fetch_manifest(RegistryClient& client, const std::string& ref, const std::string& expected_digest) {
    HttpResponse r;
    std::string body = fetch_small(client, "/v2/" + client.repository() + "/manifests/" + ref,
                                   std::string(image::media::kAcceptManifests), image::kMaxManifestBytes, &r);
    Fetched f{body, image::manifest_media_type(body, r.header("content-type")), sha256_digest(body)};
    if (!expected_digest.empty() && f.digest != expected_digest)
        throw Error("manifest digest mismatch: expected " + expected_digest + ", received content hashes to " + f.digest);
    std::string served = r.header("docker-content-digest");
    if (!served.empty() && served.rfind("sha256:", 0) == 0 && served != f.digest)
        throw Error("manifest digest mismatch: registry says " + served + ", content hashes to " + f.digest);
    return f;
}

// A registry's image: the manifest the reference resolves to (through an index, for the
// wanted platform), blobs streamed with Range resume and retries.
class RegistrySource final : public image::ImageSource {
public:
    RegistrySource(const image::Reference& ref, const image::Platform& platform, const RegistryOptions& opts)
        : ref_(ref), client_(ref.registry, ref.repository, "pull", opts) {
        Fetched top = fetch_manifest(client_, ref.manifest_ref(), ref.digest);
        Fetched chosen = top;
        if (image::classify_manifest(top.media_type) == image::ManifestKind::index) {
            image::Index index = image::parse_index(top.body);
            const Descriptor& d = image::select_platform(index, platform);
            chosen = fetch_manifest(client_, d.digest, d.digest);
            if (image::classify_manifest(chosen.media_type) != image::ManifestKind::image)
                throw Error("malformed manifest: index entry " + d.digest + " is not an image manifest");
        }
        manifest_.media_type = chosen.media_type;
        manifest_.digest = chosen.digest;
        manifest_.size = static_cast<int64_t>(chosen.body.size());
        manifest_.annotations[std::string(image::kRepoDigestAnnotation)] = top.digest;
        small_[chosen.digest] = std::move(chosen.body);
    }

    std::string location() const override { return "registry " + ref_.str(); }
    const Descriptor& manifest() const override { return manifest_; }
    // The digest the reference named at the registry (an index for a multi-platform image).
    const std::string& served_digest() const {
        return manifest_.annotations.at(std::string(image::kRepoDigestAnnotation));
    }
    bool local() const override { return false; }

    bool has_blob(std::string_view digest) const override {
        if (cached(digest)) return true;
        HttpRequest req;
        req.method = "HEAD";
        req.url = blob_url(digest);
        HttpResponse r = client_.send(req);
        if (r.status == 200) return true;
        if (r.status == 404) return false;
        throw RegistryError("registry " + client_.registry() + " answered HTTP " + std::to_string(r.status) +
                                " for blob " + std::string(digest),
                            r.status);
    }

    // Manifests and configs: fetched once, verified, and kept for the stream that stores them.
    std::string read_blob(std::string_view digest, uint64_t max_size) const override {
        if (auto hit = cached(digest)) return *hit;
        std::string body = fetch_small(client_, blob_url(digest), "", max_size);
        if (sha256_digest(body) != digest)
            throw Error("blob digest mismatch: expected " + std::string(digest) + ", content hashes to " +
                        sha256_digest(body));
        std::lock_guard lk(mu_);
        return small_.emplace(std::string(digest), std::move(body)).first->second;
    }

    // Downloads to an unlinked temp file (a sink that needs a file: a registry upload).
    fs::UniqueFd open_blob(std::string_view digest) const override {
        const char* tmp = std::getenv("TMPDIR");
        std::string dir = tmp && *tmp ? tmp : "/var/tmp";
        fs::UniqueFd fd(::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
        if (!fd) throw_errno("temp file in " + dir);
        struct FileStream final : image::BlobStream {
            int fd;
            uint64_t n = 0;
            uint64_t received() const override { return n; }
            void write(const char* data, size_t size) override {
                fs::write_all(fd, data, size, "temp file");
                n += size;
            }
            void restart() override {
                if (::ftruncate(fd, 0) != 0 || ::lseek(fd, 0, SEEK_SET) < 0) throw_errno("truncate temp file");
                n = 0;
            }
        } out;
        out.fd = fd.get();
        Descriptor d;
        d.digest = std::string(digest);
        d.size = -1;
        stream_blob(d, out);
        if (::lseek(fd.get(), 0, SEEK_SET) < 0) throw_errno("seek temp file");
        return fd;
    }
    std::optional<stdfs::path> blob_file(std::string_view) const override { return std::nullopt; }

    void stream_blob(const Descriptor& d, image::BlobStream& out) const override {
        if (auto hit = cached(d.digest)) {
            out.write(hit->data(), hit->size());
            return;
        }
        download(d, out);
    }

private:
    std::string blob_url(std::string_view digest) const {
        return "/v2/" + ref_.repository + "/blobs/" + std::string(digest);
    }
    std::optional<std::string> cached(std::string_view digest) const {
        std::lock_guard lk(mu_);
        auto it = small_.find(std::string(digest));
        if (it == small_.end()) return std::nullopt;
        return it->second;
    }

    // GET with Range resume: a dropped connection or a transient answer continues from the
    // bytes `out` holds; a local failure (out.write throws: disk full, cancelled) ends it.
    void download(const Descriptor& layer, image::BlobStream& out) const {
        const bool sized = layer.size >= 0;
        const uint64_t expected = static_cast<uint64_t>(layer.size);
        for (int attempt = 1;; ++attempt) {
            uint64_t offset = out.received();
            HttpRequest req;
            req.url = blob_url(layer.digest);
            if (offset > 0) req.headers.push_back("Range: bytes=" + std::to_string(offset) + "-");
            bool oversize = false;
            std::exception_ptr local_error;
            req.on_headers = [&](long s, const std::map<std::string, std::string>&) {
                if (s == 200 && offset > 0) out.restart();  // the server ignored Range: start over
            };
            req.on_body = [&](const char* data, size_t size) {
                if (sized && out.received() + size > expected) {  // more than the manifest promised
                    oversize = true;
                    return false;
                }
                try {
                    out.write(data, size);
                } catch (...) {
                    local_error = std::current_exception();  // ours (ENOSPC, cancelled…), not the network's
                    return false;
                }
                return true;
            };
            std::string failure;
            HttpResponse r;
            try {
                r = client_.send(req, /*retry=*/false);
            } catch (const RegistryError&) {
                throw;  // 401/403: retrying will not help
            } catch (const Error& e) {
                failure = e.what();  // dropped connection, stall: resume below
            }
            // A local failure fails the blob at once: retrying cannot help.
            if (local_error) std::rethrow_exception(local_error);
            if (oversize)
                throw Error("layer " + layer.digest + ": registry sent more than the " + std::to_string(expected) +
                            " bytes the manifest declares");
            if (failure.empty()) {
                bool complete = sized ? out.received() == expected : r.status == 200 || r.status == 206;
                if ((r.status == 200 || r.status == 206 || r.status == 416) && complete) return;
                if (r.status == 404) throw Error("layer " + layer.digest + ": not found in the registry");
                failure = "HTTP " + std::to_string(r.status);
                bool transient = r.status == 429 || r.status >= 500 || r.status == 200 || r.status == 206;
                if (!transient) throw Error("layer " + layer.digest + ": registry answered " + failure);
            }
            if (attempt >= client_.options().max_attempts)
                throw Error("layer " + layer.digest + ": download failed after " + std::to_string(attempt) +
                            " attempts: " + failure);
            log::debug("layer " + layer.digest + ": " + failure + ", resuming at byte " +
                       std::to_string(out.received()));
            client_.backoff(attempt, r.header("retry-after"));
        }
    }

    image::Reference ref_;
    mutable RegistryClient client_;
    Descriptor manifest_;
    mutable std::mutex mu_;
    mutable std::map<std::string, std::string> small_;  // digest → manifest or config bytes
};

PullResult pull_result(const std::string& name, const std::string& digest, const image::CopyResult& copied) {
    PullResult result;
    result.name = name;
    result.digest = digest;
    result.manifest_digest = copied.manifest_digest;
    result.image_id = copied.config_digest;
    result.layers_downloaded = copied.layers.copied;
    result.layers_present = copied.layers.present + copied.layers.reused;
    return result;
}

}  // namespace

std::unique_ptr<image::ImageSource> registry_source(const image::Reference& ref, const image::Platform& platform,
                                                    const RegistryOptions& opts) {
    return std::make_unique<RegistrySource>(ref, platform, opts);
}

PullResult pull_image(Store& store, const image::Reference& ref, const PullOptions& opts) {
    const std::string name = ref.str();
    try {
        RegistrySource source(ref, opts.platform, opts.registry);
        auto sink = image::store_sink(store, name, opts.max_layer_bytes);
        image::CopyResult copied =
            copy_with_progress(source, *sink, opts.progress, "Downloading", "downloaded", opts.parallel_layers);
        if (copied.platform && !copied.platform->satisfies(opts.platform) &&
            source.served_digest() == source.manifest().digest)
            log::warn(name + " is for " + copied.platform->str() + ", not " + opts.platform.str());
        return pull_result(name, source.served_digest(), copied);
    } catch (const Error& e) {
        throw Error("pull " + name + ": " + e.what());
    }
}

std::string layout_image_name(const stdfs::path& dir, const std::string& tag) {
    std::string path = stdfs::absolute(dir).lexically_normal().string();
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    std::string text = "localhost" + path + ":" + (tag.empty() ? "latest" : tag);
    try {
        return image::Reference::parse(text).str();
    } catch (const Error& e) {
        throw Error("oci:" + dir.string() + ": cannot name the image after its path (" + e.what() +
                        "); use a lower-case path",
                    ErrorKind::InvalidArgument);
    }
}

PullResult pull_layout(Store& store, const stdfs::path& dir, const std::string& tag, const PullOptions& opts) {
    const std::string name = layout_image_name(dir, tag);
    try {
        auto source = image::layout_source(dir, tag);
        auto sink = image::store_sink(store, name, opts.max_layer_bytes);
        image::CopyResult copied =
            copy_with_progress(*source, *sink, opts.progress, "Copying", "copied", opts.parallel_layers);
        return pull_result(name, copied.manifest_digest, copied);
    } catch (const Error& e) {
        throw Error("pull oci:" + dir.string() + (tag.empty() ? "" : ":" + tag) + ": " + e.what(), e.kind(),
                    e.sys_errno());
    }
}

}  // namespace minirun::registry
