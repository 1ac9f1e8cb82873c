#include "minirun/registry/client.hpp"

#include <cstdlib>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/common/log.hpp"

namespace minirun::registry {

using json = nlohmann::json;

namespace {

std::string host_only(const std::string& registry) {
    if (!registry.empty() && registry[0] == '[') return registry.substr(0, registry.find(']') + 1);
    return registry.substr(0, registry.find(':'));
}

bool is_loopback(const std::string& registry) {
    std::string h = host_only(registry);
    return h == "localhost" || h == "[::1]" || h.rfind("127.", 0) == 0;
}


}  // namespace

std::string registry_error_text(const HttpResponse& r) {
    json j = json::parse(r.body, nullptr, false);
    if (j.is_object() && j.contains("errors") && j["errors"].is_array() && !j["errors"].empty()) {
        const json& e = j["errors"][0];
        std::string code = e.value("code", "");
        std::string msg = e.value("message", "");
        return code.empty() ? msg : code + ": " + msg;
    }
    return {};
}

std::vector<std::string> configured_insecure_registries() {
    std::string path = "/etc/minirun/config.json";
    if (const char* p = std::getenv("MINIRUN_CONFIG"); p && *p) path = p;
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return {};
    json j = json::parse(fs::read_file(path, 1 << 20), nullptr, false);
    if (j.is_discarded() || !j.is_object()) throw Error(path + ": not a valid JSON object");
    std::vector<std::string> out;
    for (auto& r : j.value("insecure-registries", json::array()))
        if (r.is_string()) out.push_back(r.get<std::string>());
    return out;
}

RegistryClient::RegistryClient(std::string registry, std::string repository, std::string actions,
                               RegistryOptions opts)
    : registry_(std::move(registry)),
      repository_(std::move(repository)),
      actions_(std::move(actions)),
      opts_(std::move(opts)) {
    api_host_ = registry_ == "docker.io" ? "registry-1.docker.io" : registry_;
    if (opts_.credentials) {
        creds_ = opts_.credentials;
        creds_loaded_ = true;
    }
}

void RegistryClient::add_pull_scope(const std::string& repo) {
    std::lock_guard lk(mu_);
    extra_scopes_.push_back("repository:" + repo + ":pull");
}

bool RegistryClient::plain_http_allowed() const {
    if (is_loopback(registry_)) return true;
    for (auto& r : opts_.insecure_registries)
        if (r == registry_ || r == host_only(registry_)) return true;
    return false;
}

HttpClient& RegistryClient::thread_client() {
    thread_local HttpClient client;
    return client;
}

std::string RegistryClient::base_url() {
    {
        std::lock_guard lk(mu_);
        if (!scheme_.empty()) return scheme_ + "://" + api_host_;
    }
    std::string scheme = "https";
    if (plain_http_allowed()) {
        // As Docker: try TLS first, fall back to plain http for insecure registries.
        HttpRequest ping;
        ping.url = "https://" + api_host_ + "/v2/";
        ping.timeout_seconds = 10;
        try {
            thread_client().perform(ping);
        } catch (const TransportError& e) {
            if (e.is_dns()) throw Error("cannot resolve registry host " + host_only(api_host_), ErrorKind::Unavailable);
            scheme = "http";
        }
    }
    std::lock_guard lk(mu_);
    scheme_ = scheme;
    return scheme_ + "://" + api_host_;
}

bool RegistryClient::credentials_sent() const {
    std::lock_guard lk(mu_);
    return sent_credentials_;
}

std::string RegistryClient::denied_message(long status) const {
    return "registry " + registry_ + " denied access to repository " + repository_ + " (" +
           (status == 401 ? "401 Unauthorized" : std::to_string(status) + " Forbidden") +
           "; credentials sent: " + (credentials_sent() ? "yes" : "no") + ")";
}

void RegistryClient::backoff(int attempt, const std::string& retry_after) const {
    auto wait = opts_.backoff * (1 << std::min(attempt - 1, 6));
    if (!retry_after.empty()) {
        char* end = nullptr;
        long secs = std::strtol(retry_after.c_str(), &end, 10);
        if (end != retry_after.c_str() && secs >= 0) wait = std::chrono::milliseconds(std::min(secs, 60L) * 1000);
    }
    std::this_thread::sleep_for(wait);
}

std::string RegistryClient::fetch_token(const Challenge& c) {
    std::string realm = c.param("realm");
    if (realm.empty()) throw Error("registry " + registry_ + ": bearer challenge without a realm");
    std::vector<std::string> scopes;
    if (!repository_.empty()) scopes.push_back("repository:" + repository_ + ":" + actions_);
    {
        std::lock_guard lk(mu_);
        scopes.insert(scopes.end(), extra_scopes_.begin(), extra_scopes_.end());
    }
    HttpRequest req;
    std::string query;
    auto add = [&](const std::string& k, const std::string& v) {
        query += (query.empty() ? "" : "&") + k + "=" + url_encode(v);
    };
    if (!c.param("service").empty()) add("service", c.param("service"));
    for (auto& s : scopes) add("scope", s);
    bool with_creds = creds_ && !creds_->empty();
    if (with_creds && !creds_->identity_token.empty()) {
        // OAuth2 refresh-token grant, as Docker does for identity tokens.
        req.method = "POST";
        req.url = realm;
        add("grant_type", "refresh_token");
        add("refresh_token", creds_->identity_token);
        add("client_id", "minirun");
        req.body = query;
        req.headers.push_back("Content-Type: application/x-www-form-urlencoded");
    } else {
        req.url = realm + (realm.find('?') == std::string::npos ? "?" : "&") + query;
        if (with_creds) req.authorization = "Basic " + base64_encode(creds_->username + ":" + creds_->password);
        if (with_creds) {
            req.url += "&account=" + url_encode(creds_->username);
        }
    }
    req.max_body = 1 << 20;
    HttpResponse r;
    for (int attempt = 1;; ++attempt) {
        try {
            r = thread_client().perform(req);
            if (!retryable_http_status(r.status) || attempt >= opts_.max_attempts) break;
        } catch (const TransportError& e) {
            if (e.is_dns() || attempt >= opts_.max_attempts)
                throw Error("token service " + url_host(realm) + " for " + registry_ + ": " + e.what(), ErrorKind::Unavailable);
        }
        backoff(attempt, r.header("retry-after"));
    }
    if (r.status == 401 || r.status == 403)
        throw RegistryError(denied_message(r.status) + ": token service refused" +
                                (with_creds ? " the credentials" : " anonymous access"),
                            r.status);
    if (r.status != 200)
        throw Error("token service " + url_host(realm) + " answered " + std::to_string(r.status) + " for " +
                    registry_ + "/" + repository_);
    json j = json::parse(r.body, nullptr, false);
    std::string token;
    if (j.is_object()) {
        token = j.value("token", "");
        if (token.empty()) token = j.value("access_token", "");
    }
    if (token.empty()) throw Error("token service " + url_host(realm) + " returned no token");
    {
        std::lock_guard lk(mu_);
        if (with_creds) sent_credentials_ = true;
    }
    return token;
}

void RegistryClient::authenticate(const HttpResponse& unauthorized) {
    if (!creds_loaded_) {
        creds_ = lookup_credentials(registry_);
        creds_loaded_ = true;
    }
    auto challenges = parse_www_authenticate(unauthorized.header("www-authenticate"));
    for (auto& c : challenges) {
        if (c.scheme == "bearer") {
            std::string token = fetch_token(c);
            std::lock_guard lk(mu_);
            authorization_ = "Bearer " + token;
            return;
        }
    }
    for (auto& c : challenges) {
        if (c.scheme == "basic") {
            if (!creds_ || creds_->username.empty()) throw RegistryError(denied_message(401), 401);
            std::lock_guard lk(mu_);
            authorization_ = "Basic " + base64_encode(creds_->username + ":" + creds_->password);
            sent_credentials_ = true;
            return;
        }
    }
    throw RegistryError(denied_message(401) + ": no supported authentication challenge", 401);
}

HttpResponse RegistryClient::send(HttpRequest req, bool retry) {
    if (req.url.rfind("http://", 0) != 0 && req.url.rfind("https://", 0) != 0) req.url = base_url() + req.url;
    bool reauthenticated = false;
    for (int attempt = 1;; ++attempt) {
        {
            std::lock_guard lk(mu_);
            // Credentials go only to the registry itself, never to other hosts.
            if (url_host(req.url) == url_host(scheme_ + "://" + api_host_)) req.authorization = authorization_;
        }
        HttpResponse r;
        try {
            r = thread_client().perform(req);
        } catch (const TransportError& e) {
            if (e.is_dns()) throw Error("cannot resolve registry host " + host_only(api_host_), ErrorKind::Unavailable);
            if (!retry || attempt >= opts_.max_attempts) throw Error(e.what(), ErrorKind::Unavailable);
            log::debug(std::string("retrying after: ") + e.what());
            backoff(attempt);
            continue;
        }
        if (r.status == 401 && !reauthenticated) {
            // First contact, or a token that expired mid-operation: get a new one.
            std::string used = req.authorization;
            authenticate(r);
            reauthenticated = true;
            --attempt;
            (void)used;
            continue;
        }
        if (retry && retryable_http_status(r.status) && attempt < opts_.max_attempts) {
            log::debug("retrying after HTTP " + std::to_string(r.status));
            backoff(attempt, r.header("retry-after"));
            continue;
        }
        if (r.status == 401 || r.status == 403) {
            std::string detail = registry_error_text(r);
            throw RegistryError(denied_message(r.status) + (detail.empty() ? "" : ": " + detail), r.status);
        }
        return r;
    }
}

}  // namespace minirun::registry
