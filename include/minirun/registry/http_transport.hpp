#pragma once
// The registry module's seam to libcurl. libcurl and its ~30 libraries (TLS, Kerberos,
// LDAP, IDN, …) cost every start of a program that links them several milliseconds, and
// most minirun commands (run, ps, logs, exec) never make a request. So the code that
// calls libcurl is built as a plugin of its own (src/curl/, minirun-curl.so, linked with
// libcurl like any program), and http.cpp loads it with the first request or URL helper:
// libcurl's whole API is used directly there (CURLU for URLs, curl_easy_header for
// headers), with no hand-kept list of forwarded libcurl symbols.
//
// The plugin is found beside the running program, then in ../lib/minirun/ (the package's
// layout); MINIRUN_CURL_PLUGIN names it explicitly (tests, benchmarks). Both sides are
// built from this tree by the same compiler, so the boundary passes C++ types.
#include <exception>
#include <string>

#include "minirun/registry/http.hpp"

namespace minirun::registry::transport {

// How one request ended (without following redirects). curl_code 0: a response arrived.
struct Outcome {
    int curl_code = 0;
    std::string curl_error;              // curl_easy_strerror, when curl_code != 0
    bool aborted = false;                // on_body returned false, or a callback threw
    bool too_large = false;              // a buffered body passed its limit
    std::exception_ptr callback_error;   // what a callback threw (never unwound through libcurl)
};

struct Api {
    unsigned version;
    void* (*create)();  // a connection-reusing handle; nullptr when libcurl cannot make one
    void (*destroy)(void* handle);
    // One request; resp gets the status, the headers (lower-cased names, last value wins)
    // and a buffered body. req.on_headers runs once the headers are in, unless redirected.
    Outcome (*perform)(void* handle, const HttpRequest& req, const std::string& authorization, HttpResponse& resp);
    // RFC 3986 reference resolution; false when either is not a URL.
    bool (*resolve_url)(const std::string& base, const std::string& location, std::string& out);
    // "host[:port]" lower-cased, without user info; false when not a URL.
    bool (*url_authority)(const std::string& url, std::string& out);
    std::string (*url_encode)(const std::string& text);
};

constexpr unsigned kApiVersion = 1;
constexpr const char* kEntryPoint = "minirun_curl_transport";
using EntryPoint = const Api* (*)();

}  // namespace minirun::registry::transport
