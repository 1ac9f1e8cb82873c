#include "minirun/registry/http.hpp"

#include <curl/curl.h>

#include <cctype>
#include <cstring>
#include <exception>
#include <mutex>

#include "minirun/common/error.hpp"
#include "minirun/common/log.hpp"
#include "minirun/common/strings.hpp"

namespace minirun::registry {

namespace {

constexpr int kMaxRedirects = 10;

struct Transfer {
    const HttpRequest* req = nullptr;
    HttpResponse* resp = nullptr;
    bool headers_done = false;
    bool aborted = false;
    bool too_large = false;
    size_t body_offset = 0;
    std::exception_ptr callback_error;  // exceptions must not unwind through libcurl
};

size_t on_header(char* data, size_t size, size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    std::string line(data, size * n);
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
    if (line.rfind("HTTP/", 0) == 0) {
        // A new response (after 100-continue or a proxy): start over.
        t->resp->headers.clear();
        auto sp = line.find(' ');
        t->resp->status = sp == std::string::npos ? 0 : std::strtol(line.c_str() + sp + 1, nullptr, 10);
        return size * n;
    }
    auto colon = line.find(':');
    if (colon != std::string::npos) {
        std::string value = line.substr(colon + 1);
        size_t start = value.find_first_not_of(" \t");
        t->resp->headers[lower(line.substr(0, colon))] = start == std::string::npos ? "" : value.substr(start);
    }
    return size * n;
}

bool is_redirect(long status) { return status == 301 || status == 302 || status == 303 || status == 307 || status == 308; }

size_t on_write_impl(char* data, size_t size, size_t n, Transfer* t);

size_t on_write(char* data, size_t size, size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    try {
        return on_write_impl(data, size, n, t);
    } catch (...) {
        t->callback_error = std::current_exception();
        t->aborted = true;
        return 0;
    }
}

size_t on_write_impl(char* data, size_t size, size_t n, Transfer* t) {
    size_t len = size * n;
    if (!t->headers_done) {
        t->headers_done = true;
        if (t->req->on_headers && !is_redirect(t->resp->status)) t->req->on_headers(t->resp->status, t->resp->headers);
    }
    // Redirect bodies and error bodies are kept small and buffered.
    bool stream = t->req->on_body && t->resp->status >= 200 && t->resp->status < 300;
    if (stream) {
        if (!t->req->on_body(data, len)) {
            t->aborted = true;
            return 0;
        }
        return len;
    }
    uint64_t limit = t->req->on_body ? 64 * 1024 : t->req->max_body;
    if (t->resp->body.size() + len > limit) {
        t->too_large = true;
        return 0;
    }
    t->resp->body.append(data, len);
    return len;
}

size_t on_read(char* buf, size_t size, size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    if (t->req->body_reader) {
        try {
            return t->req->body_reader(buf, size * n);
        } catch (...) {
            t->callback_error = std::current_exception();
            return CURL_READFUNC_ABORT;
        }
    }
    const std::string& body = t->req->body;
    size_t len = std::min(size * n, body.size() - t->body_offset);
    std::memcpy(buf, body.data() + t->body_offset, len);
    t->body_offset += len;
    return len;
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
    CURL* curl = nullptr;
    ~Impl() {
        if (curl) curl_easy_cleanup(curl);
    }
};

void HttpClient::global_init() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

HttpClient::HttpClient() : impl_(std::make_unique<Impl>()) {
    global_init();
    impl_->curl = curl_easy_init();
    if (!impl_->curl) throw Error("curl: cannot create a handle");
}

HttpClient::~HttpClient() = default;

HttpResponse HttpClient::perform(const HttpRequest& original) {
    HttpRequest req = original;
    std::string auth = req.authorization;
    std::string origin_host = url_host(req.url);
    for (int hop = 0;; ++hop) {
        CURL* c = impl_->curl;
        curl_easy_reset(c);
        HttpResponse resp;
        Transfer t;
        t.req = &req;
        t.resp = &resp;
        curl_slist* hdrs = nullptr;
        for (auto& h : req.headers) hdrs = curl_slist_append(hdrs, h.c_str());
        if (!auth.empty()) hdrs = curl_slist_append(hdrs, ("Authorization: " + auth).c_str());
        hdrs = curl_slist_append(hdrs, "Expect:");
        curl_easy_setopt(c, CURLOPT_URL, req.url.c_str());
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(c, CURLOPT_USERAGENT, "minirun/0.1");
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 256L * 1024);
        if (req.timeout_seconds > 0) curl_easy_setopt(c, CURLOPT_TIMEOUT, req.timeout_seconds);
        if (req.method == "HEAD") {
            curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        } else if (req.method != "GET") {
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
            bool has_body = req.body_reader || !req.body.empty() || req.method == "PUT" || req.method == "PATCH" ||
                            req.method == "POST";
            if (has_body) {
                curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
                curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
                curl_easy_setopt(c, CURLOPT_READDATA, &t);
                curl_off_t size = req.body_reader ? req.body_size : static_cast<curl_off_t>(req.body.size());
                curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, size);
            }
        }
        log::debug(req.method + " " + req.url);
        CURLcode rc = curl_easy_perform(c);
        curl_slist_free_all(hdrs);
        if (!t.headers_done && rc == CURLE_OK) {
            t.headers_done = true;
            if (req.on_headers && !is_redirect(resp.status)) req.on_headers(resp.status, resp.headers);
        }
        if (t.callback_error) std::rethrow_exception(t.callback_error);
        if (t.too_large) throw Error(req.method + " " + req.url + ": response body too large");
        if (rc != CURLE_OK && !(t.aborted && rc == CURLE_WRITE_ERROR))
            throw TransportError(req.method + " " + req.url + ": " + curl_easy_strerror(rc), rc);
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
    auto scheme = url.find("://");
    size_t start = scheme == std::string::npos ? 0 : scheme + 3;
    auto end = url.find_first_of("/?#", start);
    std::string host = url.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (auto at = host.rfind('@'); at != std::string::npos) host = host.substr(at + 1);
    return lower(host);
}

std::string resolve_url(const std::string& base, const std::string& location) {
    if (location.find("://") != std::string::npos) return location;
    auto scheme_end = base.find("://");
    std::string scheme = base.substr(0, scheme_end);
    size_t host_start = scheme_end + 3;
    size_t path_start = base.find('/', host_start);
    std::string origin = base.substr(0, path_start);
    if (location.rfind("//", 0) == 0) return scheme + ":" + location;
    if (!location.empty() && location[0] == '/') return origin + location;
    // Relative path: replace the last segment of the base path.
    std::string path = path_start == std::string::npos ? "/" : base.substr(path_start);
    path = path.substr(0, path.find_first_of("?#"));
    return origin + path.substr(0, path.rfind('/') + 1) + location;
}

std::string url_encode(const std::string& s) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

bool retryable_http_status(long s) { return s == 408 || s == 429 || s == 500 || s == 502 || s == 503 || s == 504; }

}  // namespace minirun::registry
