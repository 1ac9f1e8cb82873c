// HttpClient: redirects, credentials and errors here; each request itself goes through
// the libcurl plugin (http_transport.hpp), loaded with the first one.
#include "minirun/registry/http.hpp"

#include <curl/curl.h>  // CURLE_* codes only: nothing here calls libcurl
#include <dlfcn.h>

#include <cstdlib>
#include <mutex>

#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/common/log.hpp"
#include "minirun/common/strings.hpp"
#include "minirun/registry/http_transport.hpp"

namespace minirun::registry {

namespace {

constexpr int kMaxRedirects = 10;

bool is_redirect(long status) { return status == 301 || status == 302 || status == 303 || status == 307 || status == 308; }

std::vector<std::string> plugin_candidates() {
    if (const char* named = std::getenv("MINIRUN_CURL_PLUGIN"); named && *named) return {named};
    auto dir = fs::self_exe_dir();
    return {(dir / "minirun-curl.so").string(), (dir / "../lib/minirun/minirun-curl.so").string()};
}

const transport::Api& curl_transport() {
    static const transport::Api* api = nullptr;
    static std::once_flag once;
    std::call_once(once, [] {
        std::string tried, why;
        for (auto& path : plugin_candidates()) {
            void* lib = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
            if (!lib) {
                const char* e = ::dlerror();
                why = e ? e : "cannot load it";
                tried += (tried.empty() ? "" : ", ") + path;
                continue;
            }
            auto entry = reinterpret_cast<transport::EntryPoint>(::dlsym(lib, transport::kEntryPoint));
            const transport::Api* found = entry ? entry() : nullptr;
            if (!found || found->version != transport::kApiVersion)
                throw Error(path + " is not this version's HTTP plugin (reinstall minirun)");
            api = found;
            return;
        }
        throw Error("cannot load the HTTP plugin minirun-curl.so (tried " + tried + "): " + why +
                    " (install libcurl4, or reinstall minirun)");
    });
    return *api;
}

}  // namespace

std::string HttpResponse::header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
}

bool TransportError::is_dns() const {
    return curl_code == CURLE_COULDNT_RESOLVE_HOST || curl_code == CURLE_COULDNT_RESOLVE_PROXY;
}

bool TransportError::is_tls() const {
    return curl_code == CURLE_SSL_CONNECT_ERROR || curl_code == CURLE_PEER_FAILED_VERIFICATION ||
           curl_code == CURLE_SSL_CERTPROBLEM || curl_code == CURLE_SSL_CIPHER || curl_code == CURLE_SSL_CACERT_BADFILE;
}

struct HttpClient::Impl {
    const transport::Api* api = nullptr;
    void* handle = nullptr;
    ~Impl() {
        if (handle) api->destroy(handle);
    }
};

void HttpClient::global_init() { curl_transport(); }

HttpClient::HttpClient() : impl_(std::make_unique<Impl>()) {
    impl_->api = &curl_transport();
    impl_->handle = impl_->api->create();
    if (!impl_->handle) throw Error("curl: cannot create a handle");
}

HttpClient::~HttpClient() = default;

HttpResponse HttpClient::perform(const HttpRequest& original) {
    HttpRequest req = original;
    std::string auth = req.authorization;
    std::string origin_host = url_host(req.url);
    for (int hop = 0;; ++hop) {
        HttpResponse resp;
        log::debug(req.method + " " + req.url);
        transport::Outcome t = impl_->api->perform(impl_->handle, req, auth, resp);
        if (t.callback_error) std::rethrow_exception(t.callback_error);
        if (t.too_large) throw Error(req.method + " " + req.url + ": response body too large");
        if (t.curl_code != 0) throw TransportError(req.method + " " + req.url + ": " + t.curl_error, t.curl_code);
        if (t.aborted) throw Error(req.method + " " + req.url + ": transfer aborted");
        resp.url = req.url;
        log::debug("  -> " + std::to_string(resp.status));
        if (!req.follow_redirects || !is_redirect(resp.status) || resp.header("location").empty()) return resp;
        if (hop >= kMaxRedirects) throw Error(req.method + " " + original.url + ": too many redirects");
        req.url = resolve_url(req.url, resp.header("location"));
        // Never carry our credentials to another host (blob storage, CDNs).
        if (url_host(req.url) != origin_host) auth.clear();
        if (resp.status == 303) req.method = "GET";
    }
}

std::string url_host(const std::string& url) {
    std::string out;
    // Not a URL libcurl accepts: the text itself names no host we could match.
    return curl_transport().url_authority(url, out) ? out : lower(url);
}

std::string resolve_url(const std::string& base, const std::string& location) {
    std::string out;
    if (!curl_transport().resolve_url(base, location, out))
        throw Error("invalid redirect location \"" + location + "\" from " + base, ErrorKind::Unavailable);
    return out;
}

std::string url_encode(const std::string& s) { return curl_transport().url_encode(s); }

bool retryable_http_status(long s) { return s == 408 || s == 429 || s == 500 || s == 502 || s == 503 || s == 504; }

}  // namespace minirun::registry
