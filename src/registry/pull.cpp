#include "minirun/registry/pull.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <exception>
#include <mutex>
#include <thread>

#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/common/log.hpp"
#include "minirun/common/sha256.hpp"
#include "minirun/image/image_config.hpp"
#include "minirun/image/reference.hpp"
#include "minirun/image/store.hpp"
#include "minirun/image/unpack.hpp"

namespace minirun::registry {

namespace stdfs = std::filesystem;
using image::Descriptor;
using image::Store;

namespace {

// A layer temp dir removed unless committed.
class TempLayerDir {
public:
    explicit TempLayerDir(const Store& s) : path_(s.make_layer_tmp()) {}
    ~TempLayerDir() {
        if (!path_.empty()) {
            try {
                image::remove_tree(path_);
            } catch (...) {
            }
        }
    }
    const stdfs::path& path() const { return path_; }
    void release() { path_.clear(); }

private:
    stdfs::path path_;
};

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

// Everything one layer download needs, shared by the worker threads.
struct LayerContext {
    Store& store;
    RegistryClient& client;
    Progress& progress;
    const PullOptions& opts;
    std::atomic<bool> cancelled{false};
};

// Feeds downloaded bytes to an unpacker thread through a pipe. Best effort: when the
// stream cannot continue (a restart from byte 0, an unpack error) it is dropped and the
// layer is unpacked again from the verified blob file.
class StreamingUnpack {
public:
    StreamingUnpack(const Store& store, const std::string& digest, uint64_t max_bytes) : dir_(store) {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno("pipe");
        read_.reset(fds[0]);
        write_.reset(fds[1]);
        ::fcntl(write_.get(), F_SETPIPE_SZ, 1 << 20);
        image::UnpackOptions o = image::default_unpack_options(digest);
        o.max_uncompressed_bytes = max_bytes;
        thread_ = std::thread([this, o] {
            try {
                result_ = image::unpack_layer(read_.get(), dir_.path(), o);
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
    void abandon() { write_.reset(); failed_ = true; }
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
    const image::UnpackResult& result() const { return result_; }

private:
    TempLayerDir dir_;
    fs::UniqueFd read_, write_;
    std::thread thread_;
    image::UnpackResult result_;
    std::exception_ptr error_;
    bool failed_ = false;
};

void check_diff_id(const image::UnpackResult& res, const Descriptor& layer, const std::string& diff_id) {
    if (res.diff_id != diff_id)
        throw Error("layer " + layer.digest + ": uncompressed content " + res.diff_id +
                    " does not match the config's diff_id " + diff_id);
}

void unpack_from_blob(LayerContext& ctx, const Descriptor& layer, const std::string& diff_id) {
    TempLayerDir dir(ctx.store);
    fs::UniqueFd fd(::open(ctx.store.blob_path(layer.digest).c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw_errno("open " + ctx.store.blob_path(layer.digest).string());
    image::UnpackOptions o = image::default_unpack_options(layer.digest);
    o.max_uncompressed_bytes = ctx.opts.max_layer_bytes;
    check_diff_id(image::unpack_layer(fd.get(), dir.path(), o), layer, diff_id);
    ctx.store.commit_layer(dir.path(), diff_id);
    dir.release();
}

// Downloads the blob with Range resume, unpacking it as it arrives.
void download_layer(LayerContext& ctx, const Descriptor& layer, const std::string& diff_id, size_t slot) {
    image::BlobWriter blob = ctx.store.begin_blob();
    StreamingUnpack stream(ctx.store, layer.digest, ctx.opts.max_layer_bytes);
    const uint64_t expected = static_cast<uint64_t>(layer.size);
    for (int attempt = 1;; ++attempt) {
        uint64_t offset = blob.size();
        HttpRequest req;
        req.url = "/v2/" + ctx.client.repository() + "/blobs/" + layer.digest;
        if (offset > 0) req.headers.push_back("Range: bytes=" + std::to_string(offset) + "-");
        bool oversize = false;
        std::exception_ptr local_error;
        req.on_headers = [&](long s, const std::map<std::string, std::string>&) {
            if (s == 200 && offset > 0) {  // the server ignored Range: start over
                blob.reset();
                stream.abandon();
                ctx.progress.set_bytes(slot, 0);
            }
        };
        req.on_body = [&](const char* data, size_t size) {
            if (ctx.cancelled) return false;
            if (blob.size() + size > expected) {  // more than the manifest promised
                oversize = true;
                return false;
            }
            try {
                blob.write(data, size);
                stream.feed(data, size);
            } catch (...) {
                local_error = std::current_exception();  // ours (ENOSPC, EIO…), not the network's
                return false;
            }
            ctx.progress.advance(slot, size);
            return true;
        };
        std::string failure;
        HttpResponse r;
        try {
            r = ctx.client.send(req, /*retry=*/false);
        } catch (const RegistryError&) {
            throw;  // 401/403: retrying will not help
        } catch (const Error& e) {
            if (ctx.cancelled) throw;
            failure = e.what();  // dropped connection, stall: resume below
        }
        // A local failure (disk full) fails the pull at once: retrying cannot help, and the
        // temp blob and layer directory go with their owners' destructors.
        if (local_error) std::rethrow_exception(local_error);
        if (oversize)
            throw Error("layer " + layer.digest + ": registry sent more than the " + std::to_string(expected) +
                        " bytes the manifest declares");
        if (failure.empty()) {
            if ((r.status == 200 || r.status == 206 || r.status == 416) && blob.size() == expected) break;
            if (r.status == 404) throw Error("layer " + layer.digest + ": not found in the registry");
            failure = "HTTP " + std::to_string(r.status);
            bool transient = r.status == 429 || r.status >= 500 || r.status == 200 || r.status == 206;
            if (!transient) throw Error("layer " + layer.digest + ": registry answered " + failure);
        }
        if (ctx.cancelled) throw Error("cancelled");
        if (attempt >= ctx.client.options().max_attempts)
            throw Error("layer " + layer.digest + ": download failed after " + std::to_string(attempt) +
                        " attempts: " + failure);
        log::debug("layer " + layer.digest + ": " + failure + ", resuming at byte " + std::to_string(blob.size()));
        ctx.client.backoff(attempt, r.header("retry-after"));
    }
    blob.commit(layer.digest, expected);
    if (stream.finish()) {
        check_diff_id(stream.result(), layer, diff_id);
        ctx.store.commit_layer(stream.dir().path(), diff_id);
        stream.dir().release();
    } else {
        unpack_from_blob(ctx, layer, diff_id);
    }
}

}  // namespace

PullResult pull_image(Store& store, const image::Reference& ref, const PullOptions& opts) {
    const std::string name = ref.str();
    // A failed streaming unpack closes its pipe: writes must fail with EPIPE, not kill us.
    ::signal(SIGPIPE, SIG_IGN);
    try {
        Store::PullGuard guard(store);
        store.sweep_leftovers();
        RegistryClient client(ref.registry, ref.repository, "pull", opts.registry);
        PullResult result;

        Fetched top = fetch_manifest(client, ref.manifest_ref(), ref.digest);
        result.digest = top.digest;
        Fetched chosen = top;
        if (image::classify_manifest(top.media_type) == image::ManifestKind::index) {
            image::Index index = image::parse_index(top.body);
            const Descriptor& d = image::select_platform(index, opts.platform);
            chosen = fetch_manifest(client, d.digest, d.digest);
            if (image::classify_manifest(chosen.media_type) != image::ManifestKind::image)
                throw Error("malformed manifest: index entry " + d.digest + " is not an image manifest");
        }
        image::Manifest manifest = image::parse_manifest(chosen.body);
        std::string config = fetch_small(client, "/v2/" + ref.repository + "/blobs/" + manifest.config.digest, "",
                                         image::kMaxConfigBytes);
        if (sha256_digest(config) != manifest.config.digest)
            throw Error("config blob digest mismatch: expected " + manifest.config.digest + ", content hashes to " +
                        sha256_digest(config));
        image::ImageConfig cfg = image::parse_image_config(config);
        if (cfg.diff_ids.size() != manifest.layers.size())
            throw Error("malformed image: " + std::to_string(manifest.layers.size()) + " layers but " +
                        std::to_string(cfg.diff_ids.size()) + " diff_ids in the config");
        if (!cfg.platform.os.empty() && !cfg.platform.satisfies(opts.platform) &&
            top.digest == chosen.digest)
            log::warn(name + " is for " + cfg.platform.str() + ", not " + opts.platform.str());

        Progress progress(opts.progress, "Downloading", "downloaded");
        LayerContext ctx{store, client, progress, opts};
        std::mutex err_mu;
        std::exception_ptr first_error;
        std::atomic<size_t> next{0}, downloaded{0}, present{0};
        std::vector<size_t> slots;
        for (auto& l : manifest.layers) slots.push_back(progress.add(l.digest, l.size));
        auto worker = [&] {
            for (size_t i; (i = next++) < manifest.layers.size();) {
                if (ctx.cancelled) return;
                const Descriptor& layer = manifest.layers[i];
                const std::string& diff_id = cfg.diff_ids[i];
                try {
                    // What is reused is verified: a truncated or damaged blob is fetched again.
                    bool blob_ok = store.blob_intact(layer.digest, layer.size);
                    if (store.has_layer(diff_id) && blob_ok) {
                        progress.finish(slots[i], "already exists");
                        ++present;
                    } else if (blob_ok) {
                        unpack_from_blob(ctx, layer, diff_id);
                        progress.finish(slots[i], "unpacked");
                        ++present;
                    } else {
                        download_layer(ctx, layer, diff_id, slots[i]);
                        progress.finish(slots[i], "done");
                        ++downloaded;
                    }
                } catch (...) {
                    std::lock_guard lk(err_mu);
                    if (!first_error) first_error = std::current_exception();
                    ctx.cancelled = true;
                    progress.finish(slots[i], "failed");
                }
            }
        };
        std::vector<std::thread> threads;
        size_t n = std::max<size_t>(1, std::min(opts.parallel_layers, manifest.layers.size()));
        for (size_t t = 0; t < n; ++t) threads.emplace_back(worker);
        for (auto& t : threads) t.join();
        progress.stop();
        if (first_error) std::rethrow_exception(first_error);

        // Config, then manifest, then the name: an interrupted pull names nothing.
        store.put_blob(config, manifest.config.digest);
        store.put_blob(chosen.body, chosen.digest);
        Descriptor desc;
        desc.media_type = chosen.media_type;
        desc.digest = chosen.digest;
        desc.size = static_cast<int64_t>(chosen.body.size());
        desc.platform = cfg.platform;
        desc.annotations[std::string(image::kRepoDigestAnnotation)] = top.digest;
        store.set_image(name, desc);

        result.name = name;
        result.manifest_digest = chosen.digest;
        result.image_id = manifest.config.digest;
        result.layers_downloaded = downloaded;
        result.layers_present = present;
        return result;
    } catch (const Error& e) {
        throw Error("pull " + name + ": " + e.what());
    }
}

}  // namespace minirun::registry
