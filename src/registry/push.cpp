#include "minirun/registry/push.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>

#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/common/log.hpp"
#include "minirun/image/manifest.hpp"
#include "minirun/image/reference.hpp"
#include "minirun/image/image_source.hpp"

namespace minirun::registry {

using image::Descriptor;

namespace {

// Failures that retrying cannot fix (our own file, a refusal): never retried.
class FatalError : public Error {
public:
    using Error::Error;
};

// Another blob's failure stopped this one: not the error to report.
class Cancelled : public FatalError {
public:
    Cancelled() : FatalError("cancelled", ErrorKind::Conflict) {}
};

std::string with_detail(const std::string& msg, const HttpResponse& r) {
    std::string detail = registry_error_text(r);
    return detail.empty() ? msg : msg + ": " + detail;
}

bool name_unknown(const HttpResponse& r) { return registry_error_text(r).rfind("NAME_UNKNOWN", 0) == 0; }

// One line for an unexpected answer; 404 NAME_UNKNOWN says the repository is missing.
[[noreturn]] void throw_status(RegistryClient& client, const std::string& what, const HttpResponse& r) {
    if (r.status == 401 || r.status == 403)
        throw RegistryError(with_detail(client.denied_message(r.status), r), r.status);
    if (r.status == 404 && name_unknown(r))
        throw RegistryError(with_detail("repository " + client.repository() + " not found on " + client.registry(), r),
                            404);
    throw RegistryError(with_detail(what + ": registry " + client.registry() + " answered HTTP " +
                                        std::to_string(r.status),
                                    r),
                        r.status);
}

std::string add_digest(const std::string& url, const std::string& digest) {
    return url + (url.find('?') == std::string::npos ? "?" : "&") + "digest=" + url_encode(digest);
}

// The Location of an upload response, made absolute (it may be relative).
std::string upload_location(RegistryClient& client, const HttpResponse& r, const std::string& what) {
    std::string loc = r.header("location");
    if (loc.empty()) throw FatalError(what + ": registry " + client.registry() + " sent no upload Location");
    return resolve_url(r.url, loc);
}

// "0-N" (Range of an upload) → bytes the registry holds. "0-0" is ambiguous (0 or 1 byte):
// taken as `confirmed` when that is 0.
std::optional<uint64_t> parse_upload_range(const std::string& range, uint64_t confirmed) {
    auto dash = range.find('-');
    if (dash == std::string::npos) return std::nullopt;
    char* end = nullptr;
    std::string last = range.substr(dash + 1);
    unsigned long long n = std::strtoull(last.c_str(), &end, 10);
    if (end == last.c_str()) return std::nullopt;
    if (n == 0 && confirmed == 0) return 0;
    return n + 1;
}

// A byte range of a source's blob as a request body. `on_headers` rewinds it, so a request
// the client re-sends (after re-authenticating) starts again from its first byte.
struct FileRange {
    int fd;
    uint64_t start, len;
    std::shared_ptr<uint64_t> pos = std::make_shared<uint64_t>(0);

    void attach(HttpRequest& req, image::BlobTransfer& transfer) const {
        auto p = pos;
        int f = fd;
        uint64_t s = start, l = len;
        *p = 0;
        req.body_size = static_cast<int64_t>(len);
        req.body_reader = [p, f, s, l, &transfer](char* buf, size_t max) -> size_t {
            size_t want = static_cast<size_t>(std::min<uint64_t>(max, l - *p));
            if (want == 0) return 0;
            ssize_t n;
            do n = ::pread(f, buf, want, static_cast<off_t>(s + *p));
            while (n < 0 && errno == EINTR);
            if (n < 0) throw FatalError(errno_message("reading blob", errno));
            if (n == 0) throw FatalError("blob is shorter than its descriptor says");
            *p += static_cast<uint64_t>(n);
            transfer.bytes(s + *p);
            return static_cast<size_t>(n);
        };
        req.on_headers = [p](long, const std::map<std::string, std::string>&) { *p = 0; };
    }
};

struct Context {
    RegistryClient& client;
    const PushOptions& opts;
    std::atomic<bool> authorized{false};  // some request of this push succeeded
};

// The client re-authenticates once per request. A token can still go stale between that
// and the retried request (short-lived tokens, a slow chunk): once this push has been
// authorized, a 401 is retried a few more times with a fresh token.
HttpResponse send(Context& ctx, const HttpRequest& req, bool retry = true) {
    for (int attempt = 1;; ++attempt) {
        try {
            HttpResponse r = ctx.client.send(req, retry);
            if (r.status >= 200 && r.status < 300) ctx.authorized = true;
            return r;
        } catch (const RegistryError& e) {
            if (e.status != 401 || !ctx.authorized || attempt >= 3) throw;
            log::debug(std::string("token went stale, retrying: ") + e.what());
        }
    }
}

std::string blob_url(const Context& ctx, const std::string& digest) {
    return "/v2/" + ctx.client.repository() + "/blobs/" + digest;
}

bool blob_exists(Context& ctx, const std::string& digest) {
    HttpRequest req;
    req.method = "HEAD";
    req.url = blob_url(ctx, digest);
    HttpResponse r = send(ctx, req);
    if (r.status == 200) return true;
    if (r.status == 404) return false;
    throw_status(ctx.client, "HEAD blob " + digest, r);
}

HttpResponse post_upload(Context& ctx, const std::string& query) {
    HttpRequest req;
    req.method = "POST";
    req.url = "/v2/" + ctx.client.repository() + "/blobs/uploads/" + query;
    return send(ctx, req);
}

std::string start_upload(Context& ctx, const std::string& digest) {
    HttpResponse r = post_upload(ctx, "");
    if (r.status != 202) throw_status(ctx.client, "starting the upload of " + digest, r);
    return upload_location(ctx.client, r, "starting the upload of " + digest);
}

// Final PUT ?digest= with the blob's bytes from `start` on (none after PATCH chunks).
// True on 201; false when worth retrying with a new upload session.
bool finish_upload(Context& ctx, const std::string& location, const Descriptor& d, int fd, uint64_t start,
                   image::BlobTransfer& transfer, int attempt) {
    HttpRequest req;
    req.method = "PUT";
    req.url = add_digest(location, d.digest);
    req.headers.push_back("Content-Type: application/octet-stream");
    FileRange range{fd, start, static_cast<uint64_t>(d.size) - start};
    if (range.len > 0) range.attach(req, transfer);
    HttpResponse r;
    try {
        r = send(ctx, req, false);
    } catch (const RegistryError&) {
        throw;
    } catch (const FatalError&) {
        throw;
    } catch (const Error& e) {
        if (attempt >= ctx.client.options().max_attempts) throw;
        log::debug(std::string("upload of ") + d.digest + " failed: " + e.what());
        ctx.client.backoff(attempt);
        return false;
    }
    if (r.status == 201 || r.status == 204) {
        std::string served = r.header("docker-content-digest");
        if (!served.empty() && served != d.digest)
            throw FatalError("registry stored blob " + d.digest + " as " + served);
        return true;
    }
    if (retryable_http_status(r.status) && attempt < ctx.client.options().max_attempts) {
        ctx.client.backoff(attempt, r.header("retry-after"));
        return false;
    }
    // A PUT whose answer got lost and was sent again: the blob may be there already.
    if (r.status == 404 && !name_unknown(r) && blob_exists(ctx, d.digest)) return true;
    throw_status(ctx.client, "uploading " + d.digest, r);
}

// Asks the registry how much of an upload it holds: GET <location> → 204, Range: 0-N.
// Returns nullopt when the session is gone (start over).
std::optional<uint64_t> upload_status(Context& ctx, std::string& location, uint64_t confirmed) {
    HttpRequest req;
    req.url = location;
    HttpResponse r = send(ctx, req);
    if (r.status == 404) return std::nullopt;
    if (r.status != 204 && r.status != 200) throw_status(ctx.client, "querying an upload", r);
    if (!r.header("location").empty()) location = resolve_url(r.url, r.header("location"));
    return parse_upload_range(r.header("range"), confirmed);
}

// PATCH chunks from `location`; returns false when the session was lost (start over).
bool upload_chunks(Context& ctx, std::string& location, const Descriptor& d, int fd,
                   image::BlobTransfer& transfer, int& attempt) {
    const uint64_t size = static_cast<uint64_t>(d.size);
    const uint64_t chunk = ctx.opts.chunk_size ? ctx.opts.chunk_size : size;
    uint64_t offset = 0;
    while (offset < size) {
        if (transfer.cancelled()) throw Cancelled();
        uint64_t len = std::min(chunk, size - offset);
        HttpRequest req;
        req.method = "PATCH";
        req.url = location;
        req.headers.push_back("Content-Type: application/octet-stream");
        req.headers.push_back("Content-Range: " + std::to_string(offset) + "-" + std::to_string(offset + len - 1));
        FileRange range{fd, offset, len};
        range.attach(req, transfer);
        std::string failure, retry_after;
        try {
            HttpResponse r = send(ctx, req, false);
            if (r.status == 202 || r.status == 204) {
                if (!r.header("location").empty()) location = resolve_url(r.url, r.header("location"));
                auto held = parse_upload_range(r.header("range"), offset + len);
                offset = held.value_or(offset + len);
                transfer.bytes(offset);
                continue;
            }
            if (r.status == 404 && !name_unknown(r)) return false;  // session expired
            if (!retryable_http_status(r.status) && r.status != 416) throw_status(ctx.client, "uploading " + d.digest, r);
            failure = "HTTP " + std::to_string(r.status);
            retry_after = r.header("retry-after");
        } catch (const RegistryError&) {
            throw;
        } catch (const FatalError&) {
            throw;
        } catch (const Error& e) {
            failure = e.what();
        }
        // A dropped connection or a transient error: resume from what the registry holds.
        if (++attempt > ctx.client.options().max_attempts)
            throw Error("uploading " + d.digest + " at offset " + std::to_string(offset) + ": " + failure);
        log::debug("upload of " + d.digest + " interrupted at " + std::to_string(offset) + " (" + failure +
                   "), resuming");
        ctx.client.backoff(attempt - 1, retry_after);
        auto held = upload_status(ctx, location, offset);
        if (!held) return false;
        if (*held > size) throw FatalError("registry holds more bytes of " + d.digest + " than the blob has");
        offset = *held;
        transfer.bytes(offset);
    }
    return true;
}

// Best effort: an abandoned upload session is garbage the registry purges eventually anyway.
void cancel_upload(Context& ctx, const std::string& location) {
    HttpRequest req;
    req.method = "DELETE";
    req.url = location;
    try {
        send(ctx, req, false);
    } catch (const Error& e) {
        log::debug(std::string("cancelling an upload: ") + e.what());
    }
}

image::BlobOutcome push_blob(Context& ctx, const Descriptor& d, const image::ImageSource& source,
                             image::BlobTransfer& transfer) {
    using image::BlobOutcome;
    if (blob_exists(ctx, d.digest)) return BlobOutcome::present;

    std::string location;
    for (auto& from : ctx.opts.mount_from) {
        if (from == ctx.client.repository()) continue;
        HttpResponse r = post_upload(ctx, "?mount=" + url_encode(d.digest) + "&from=" + url_encode(from));
        if (r.status == 201) return BlobOutcome::mounted;
        if (r.status != 202) throw_status(ctx.client, "mounting " + d.digest + " from " + from, r);
        // Not mountable (absent there, or not allowed): the registry started a plain upload,
        // kept for the fallback; one left over from an earlier source is cancelled.
        if (!location.empty()) cancel_upload(ctx, location);
        location = upload_location(ctx.client, r, "mounting " + d.digest);
    }
    if (!location.empty()) log::debug("no mount source has " + d.digest + ", uploading");

    fs::UniqueFd fd;
    try {
        fd = source.open_blob(d.digest);
    } catch (const Error& e) {
        throw FatalError(e.what(), e.kind(), e.sys_errno());
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0 || static_cast<int64_t>(st.st_size) != d.size)
        throw FatalError("blob " + d.digest + " in " + source.location() + " has the wrong size");

    const bool chunked = static_cast<uint64_t>(d.size) >= ctx.opts.patch_threshold;
    for (int attempt = 1;; ++attempt) {
        if (transfer.cancelled()) throw Cancelled();
        // A final PUT whose answer was lost may have completed the blob.
        if (attempt > 1 && location.empty() && blob_exists(ctx, d.digest)) return BlobOutcome::copied;
        if (location.empty()) location = start_upload(ctx, d.digest);
        transfer.bytes(0);
        if (chunked) {
            if (!upload_chunks(ctx, location, d, fd.get(), transfer, attempt)) {
                if (attempt >= ctx.client.options().max_attempts)
                    throw Error("uploading " + d.digest + ": the registry lost the upload session");
                location.clear();
                continue;
            }
            if (finish_upload(ctx, location, d, fd.get(), static_cast<uint64_t>(d.size), transfer, attempt))
                return BlobOutcome::copied;
        } else {
            if (finish_upload(ctx, location, d, fd.get(), 0, transfer, attempt)) return BlobOutcome::copied;
        }
        location.clear();  // a failed monolithic upload is not resumable: start a new session
    }
}

void put_manifest(Context& ctx, const image::Reference& dest, const std::string& body,
                  const std::string& media_type, const std::string& digest) {
    HttpRequest req;
    req.method = "PUT";
    req.url = "/v2/" + dest.repository + "/manifests/" + dest.tag;
    req.headers.push_back("Content-Type: " + media_type);
    req.body = body;
    RegistryClient& client = ctx.client;
    HttpResponse r = send(ctx, req);
    if (r.status == 401 || r.status == 403 || (r.status == 404 && name_unknown(r))) throw_status(client, "", r);
    if (r.status != 201 && r.status != 200) {
        std::string detail = registry_error_text(r);
        throw RegistryError("registry " + client.registry() + " refused the manifest (HTTP " +
                                std::to_string(r.status) + ")" + (detail.empty() ? "" : ": " + detail),
                            r.status);
    }
    std::string served = r.header("docker-content-digest");
    if (!served.empty() && served != digest)
        throw Error("registry stored the manifest as " + served + ", expected " + digest);
}

// A registry repository as an ImageSink: per blob a HEAD, a cross-repository mount, or an
// upload; the manifest PUT under the tag names the image.
class RegistrySink final : public image::ImageSink {
public:
    RegistrySink(const image::Reference& dest, const PushOptions& opts)
        : dest_(dest), opts_(opts), client_(dest.registry, dest.repository, "pull,push", opts.registry),
          ctx_{client_, opts_} {
        for (auto& from : opts.mount_from)
            if (from != dest.repository) client_.add_pull_scope(from);
    }
    bool has_blob(std::string_view digest) const override { return blob_exists(ctx_, std::string(digest)); }
    image::BlobOutcome put_blob(const Descriptor& d, const image::ImageSource& from,
                                image::BlobTransfer& transfer) override {
        return push_blob(ctx_, d, from, transfer);
    }
    void set_manifest(const Descriptor& manifest, const std::string& bytes) override {
        put_manifest(ctx_, dest_, bytes, manifest.media_type, manifest.digest);
    }

private:
    image::Reference dest_;
    PushOptions opts_;
    RegistryClient client_;
    mutable Context ctx_;
};

}  // namespace

std::unique_ptr<image::ImageSink> registry_sink(const image::Reference& dest, const PushOptions& opts) {
    if (dest.tag.empty()) throw Error("a tag is required", ErrorKind::InvalidArgument);
    return std::make_unique<RegistrySink>(dest, opts);
}

PushResult push_image(const image::ImageSource& source, const image::Reference& dest, const PushOptions& opts) {
    const std::string name = dest.str();
    try {
        auto sink = registry_sink(dest, opts);
        image::CopyResult copied;
        try {
            copied = copy_with_progress(source, *sink, opts.progress, "Uploading", "uploaded", opts.parallel_blobs);
        } catch (const Cancelled&) {
            throw Error("push cancelled");
        }
        PushResult result;
        result.name = name;
        result.digest = copied.manifest_digest;
        // Layers and the config: a blob is skipped, mounted or uploaded.
        result.skipped = copied.layers.present + (copied.config == image::BlobOutcome::present);
        result.mounted = copied.layers.mounted + (copied.config == image::BlobOutcome::mounted);
        result.uploaded = copied.layers.copied + copied.layers.reused + (copied.config == image::BlobOutcome::copied ||
                                                                         copied.config == image::BlobOutcome::reused);
        return result;
    } catch (const Error& e) {
        throw Error("push " + name + ": " + e.what());
    }
}

}  // namespace minirun::registry
