// minirun-curl.so: the HTTP transport on libcurl, loaded by registry/http.cpp with the
// first request (see registry/http_transport.hpp for why it is a plugin). One request per
// call, no redirects followed here (http.cpp decides, so credentials never reach another
// host); URLs through libcurl's CURLU, headers through curl_easy_header.
#include <curl/curl.h>

#include <algorithm>
#include <cstring>
#include <mutex>

#include "minirun/common/strings.hpp"
#include "minirun/registry/http_transport.hpp"

namespace minirun::registry::transport {

namespace {

struct Transfer {
    CURL* curl = nullptr;
    const HttpRequest* req = nullptr;
    HttpResponse* resp = nullptr;
    Outcome* outcome = nullptr;
    bool headers_done = false;
    size_t body_offset = 0;
};

bool is_redirect(long status) { return status == 301 || status == 302 || status == 303 || status == 307 || status == 308; }

// The newest response's status and headers (after a 100-continue or a proxy's answer,
// libcurl's "request -1" is the last one).
void read_headers(Transfer& t) {
    long status = 0;
    curl_easy_getinfo(t.curl, CURLINFO_RESPONSE_CODE, &status);
    t.resp->status = status;
    t.resp->headers.clear();
    for (curl_header* h = nullptr; (h = curl_easy_nextheader(t.curl, CURLH_HEADER, -1, h)) != nullptr;)
        t.resp->headers[lower(h->name)] = h->value;
}

void headers_arrived(Transfer& t) {
    if (t.headers_done) return;
    t.headers_done = true;
    read_headers(t);
    if (t.req->on_headers && !is_redirect(t.resp->status)) t.req->on_headers(t.resp->status, t.resp->headers);
}

size_t write_body(const char* data, size_t len, Transfer& t) {
    headers_arrived(t);
    // Redirect bodies and error bodies are kept small and buffered.
    bool stream = t.req->on_body && t.resp->status >= 200 && t.resp->status < 300;
    if (stream) {
        if (!t.req->on_body(data, len)) {
            t.outcome->aborted = true;
            return 0;
        }
        return len;
    }
    uint64_t limit = t.req->on_body ? 64 * 1024 : t.req->max_body;
    if (t.resp->body.size() + len > limit) {
        t.outcome->too_large = true;
        return 0;
    }
    t.resp->body.append(data, len);
    return len;
}

size_t on_write(char* data, size_t size, size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    try {
        return write_body(data, size * n, *t);
    } catch (...) {  // exceptions must not unwind through libcurl
        t->outcome->callback_error = std::current_exception();
        t->outcome->aborted = true;
        return 0;
    }
}

size_t on_read(char* buf, size_t size, size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    if (t->req->body_reader) {
        try {
            return t->req->body_reader(buf, size * n);
        } catch (...) {
            t->outcome->callback_error = std::current_exception();
            return CURL_READFUNC_ABORT;
        }
    }
    const std::string& body = t->req->body;
    size_t len = std::min(size * n, body.size() - t->body_offset);
    std::memcpy(buf, body.data() + t->body_offset, len);
    t->body_offset += len;
    return len;
}

void* create() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    return curl_easy_init();
}

void destroy(void* handle) { curl_easy_cleanup(static_cast<CURL*>(handle)); }

void set_options(CURL* c, const HttpRequest& req, curl_slist* headers, Transfer& t) {
    curl_easy_setopt(c, CURLOPT_URL, req.url.c_str());
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "minirun/0.1");
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
}

Outcome perform(void* handle, const HttpRequest& req, const std::string& authorization, HttpResponse& resp) {
    auto* c = static_cast<CURL*>(handle);
    curl_easy_reset(c);
    Outcome outcome;
    Transfer t{c, &req, &resp, &outcome};
    curl_slist* headers = nullptr;
    for (auto& h : req.headers) headers = curl_slist_append(headers, h.c_str());
    if (!authorization.empty()) headers = curl_slist_append(headers, ("Authorization: " + authorization).c_str());
    headers = curl_slist_append(headers, "Expect:");
    set_options(c, req, headers, t);
    CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(headers);
    if (rc == CURLE_OK) {
        try {
            headers_arrived(t);  // a response without a body
        } catch (...) {
            outcome.callback_error = std::current_exception();
        }
    } else if (!t.headers_done) {
        read_headers(t);  // what arrived before the failure, for the error report
    }
    if (rc != CURLE_OK && !(outcome.aborted && rc == CURLE_WRITE_ERROR)) {
        outcome.curl_code = rc;
        outcome.curl_error = curl_easy_strerror(rc);
    }
    return outcome;
}

// A CURLU handle, freed with its scope.
struct Url {
    CURLU* u = curl_url();
    ~Url() { curl_url_cleanup(u); }
    bool set(const std::string& text, unsigned flags = 0) { return u && curl_url_set(u, CURLUPART_URL, text.c_str(), flags) == CURLUE_OK; }
    bool get(CURLUPart part, std::string& out) const {
        char* s = nullptr;
        if (curl_url_get(u, part, &s, 0) != CURLUE_OK) return false;
        out = s;
        curl_free(s);
        return true;
    }
};

bool resolve_url(const std::string& base, const std::string& location, std::string& out) {
    Url url;
    // A second URL set on a handle holding one is resolved against it (RFC 3986 5.2).
    return url.set(base) && url.set(location) && url.get(CURLUPART_URL, out);
}

bool url_authority(const std::string& text, std::string& out) {
    Url url;
    std::string port;
    if (!url.set(text, CURLU_DEFAULT_SCHEME) || !url.get(CURLUPART_HOST, out)) return false;
    if (url.get(CURLUPART_PORT, port)) out += ":" + port;  // only a port the URL names
    out = lower(out);
    return true;
}

std::string url_encode(const std::string& text) {
    char* s = curl_easy_escape(nullptr, text.data(), static_cast<int>(text.size()));
    if (!s) return {};
    std::string out = s;
    curl_free(s);
    return out;
}

const Api kApi{kApiVersion, create, destroy, perform, resolve_url, url_authority, url_encode};

}  // namespace

}  // namespace minirun::registry::transport

extern "C" __attribute__((visibility("default"))) const minirun::registry::transport::Api* minirun_curl_transport() {
    return &minirun::registry::transport::kApi;
}
