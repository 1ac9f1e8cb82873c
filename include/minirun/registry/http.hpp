#pragma once
// A small HTTP client on libcurl: one request at a time per client, bodies either
// buffered (bounded) or streamed to a callback. Redirects are followed here, not by
// curl, so the Authorization header is dropped when the host changes.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "minirun/common/error.hpp"

namespace minirun::registry {

struct HttpRequest {
    std::string method = "GET";
    std::string url;
    std::vector<std::string> headers;  // "Name: value"
    std::string authorization;         // full header value; dropped on cross-host redirects
    std::string body;                  // sent as-is (PUT/POST/PATCH); ignored when body_reader is set
    // Streams a request body of body_size bytes: fills buf, returns bytes written (0 = end).
    std::function<size_t(char* buf, size_t max)> body_reader;
    int64_t body_size = -1;
    // Streams the response body; returning false aborts the transfer.
    std::function<bool(const char* data, size_t size)> on_body;
    // Called once the status line and headers arrived, before body bytes.
    std::function<void(long status, const std::map<std::string, std::string>& headers)> on_headers;
    uint64_t max_body = 8ull << 20;  // limit for buffered bodies
    bool follow_redirects = true;
    long timeout_seconds = 0;  // 0: none (a low-speed limit still catches stalls)
};

struct HttpResponse {
    long status = 0;
    std::map<std::string, std::string> headers;  // lower-cased names; last value wins
    std::string body;                            // empty when streamed
    std::string url;                             // final URL after redirects
    std::string header(const std::string& lower_name) const;
};

// Transport failures (no HTTP status): DNS, connect, TLS, reset connections. An Error of
// kind Unavailable; the client catches it first to decide on retries.
class TransportError : public Error {
public:
    TransportError(const std::string& msg, int curl_code) : Error(msg, ErrorKind::Unavailable), curl_code(curl_code) {}
    int curl_code;
    bool is_dns() const;
    bool is_tls() const;
};

class HttpClient {
public:
    HttpClient();
    ~HttpClient();
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    HttpResponse perform(const HttpRequest& req);

    static void global_init();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Resolves `location` (absolute, or relative to `base`) into an absolute URL.
std::string resolve_url(const std::string& base, const std::string& location);
// "http://host:port/path" → "host:port"
std::string url_host(const std::string& url);
std::string url_encode(const std::string& s);
// Statuses worth another try (timeout, rate limit, a proxy or registry briefly down).
bool retryable_http_status(long status);

}  // namespace minirun::registry
