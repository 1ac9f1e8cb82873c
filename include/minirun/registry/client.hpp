#pragma once
// A session with one repository on one registry: picks the scheme, authenticates
// (anonymous, basic, bearer tokens from the WWW-Authenticate challenge) and retries.
// Safe to use from several threads; each thread gets its own connection.
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "minirun/common/error.hpp"
#include "minirun/registry/auth.hpp"
#include "minirun/registry/http.hpp"

namespace minirun::registry {

struct RegistryOptions {
    // Registries allowed over plain http besides localhost, 127.0.0.0/8 and [::1].
    std::vector<std::string> insecure_registries;
    // Explicit credentials (login); otherwise looked up in the auth files.
    std::optional<Credentials> credentials;
    int max_attempts = 5;
    std::chrono::milliseconds backoff{250};
};

// An HTTP-level failure with a status code, for callers that branch on it.
class RegistryError : public Error {
public:
    RegistryError(const std::string& msg, long status) : Error(msg), status(status) {}
    long status;
};

// The registry's own error text ("MANIFEST_UNKNOWN: manifest unknown") from an error body.
std::string registry_error_text(const HttpResponse& r);

// Loads insecure registries from $MINIRUN_CONFIG or /etc/minirun/config.json
// ({"insecure-registries": [...]}, as Docker's daemon.json).
std::vector<std::string> configured_insecure_registries();

class RegistryClient {
public:
    // registry: as in a reference ("docker.io", "localhost:5000"); actions: "pull" or "pull,push".
    RegistryClient(std::string registry, std::string repository, std::string actions, RegistryOptions opts = {});

    const std::string& registry() const { return registry_; }
    const std::string& repository() const { return repository_; }
    // Also request `repository:<repo>:pull` in tokens (cross-repository mounts).
    void add_pull_scope(const std::string& repo);

    // Sends a request to `path` (starting with /v2/) or an absolute URL, authenticating
    // on 401 and retrying transport errors, 5xx and 429 when `retry` is set.
    HttpResponse send(HttpRequest req, bool retry = true);
    // The base URL "https://host" (scheme decided on first use).
    std::string base_url();
    bool credentials_sent() const;
    // One line for a 401/403: which registry, which repository, whether credentials were sent.
    std::string denied_message(long status) const;

    // Waits before attempt `attempt` (1-based), honouring Retry-After when given.
    void backoff(int attempt, const std::string& retry_after = {}) const;
    const RegistryOptions& options() const { return opts_; }

private:
    bool plain_http_allowed() const;
    void authenticate(const HttpResponse& unauthorized);
    std::string fetch_token(const Challenge& c);
    HttpClient& thread_client();

    std::string registry_, api_host_, repository_, actions_;
    std::vector<std::string> extra_scopes_;
    RegistryOptions opts_;
    std::optional<Credentials> creds_;
    bool creds_loaded_ = false;

    mutable std::mutex mu_;
    std::string scheme_;
    std::string authorization_;  // current Authorization header value
    bool sent_credentials_ = false;
};

}  // namespace minirun::registry
