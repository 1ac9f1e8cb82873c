#include "minirun/registry/auth.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>

#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/common/process.hpp"
#include "minirun/common/strings.hpp"

namespace minirun::registry {

namespace stdfs = std::filesystem;
using json = nlohmann::json;

std::string Challenge::param(const std::string& k) const {
    auto it = params.find(k);
    return it == params.end() ? std::string() : it->second;
}

namespace {

void skip_space(std::string_view s, size_t& i) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
}

std::string read_token(std::string_view s, size_t& i) {
    size_t start = i;
    while (i < s.size() && s[i] != '=' && s[i] != ',' && s[i] != ' ' && s[i] != '\t') ++i;
    return std::string(s.substr(start, i - start));
}

std::string read_quoted(std::string_view s, size_t& i) {
    std::string out;
    ++i;  // opening quote
    while (i < s.size() && s[i] != '"') {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        out += s[i++];
    }
    if (i < s.size()) ++i;  // closing quote
    return out;
}

}  // namespace

std::vector<Challenge> parse_www_authenticate(std::string_view s) {
    std::vector<Challenge> out;
    size_t i = 0;
    while (i < s.size()) {
        skip_space(s, i);
        while (i < s.size() && s[i] == ',') ++i, skip_space(s, i);
        if (i >= s.size()) break;
        std::string word = read_token(s, i);
        skip_space(s, i);
        if (i < s.size() && s[i] == '=' && !out.empty()) {
            // key=value belonging to the current challenge
            ++i;
            skip_space(s, i);
            std::string value = (i < s.size() && s[i] == '"') ? read_quoted(s, i) : read_token(s, i);
            out.back().params[lower(word)] = value;
        } else if (!word.empty()) {
            out.push_back(Challenge{lower(word), {}});
        } else {
            ++i;  // stray character
        }
    }
    return out;
}

std::string config_key(std::string_view registry) {
    if (registry == "docker.io" || registry == "index.docker.io" || registry == "registry-1.docker.io")
        return "https://index.docker.io/v1/";
    return std::string(registry);
}

std::vector<stdfs::path> auth_file_candidates() {
    std::vector<stdfs::path> out;
    if (const char* f = std::getenv("REGISTRY_AUTH_FILE"); f && *f) out.emplace_back(f);
    if (const char* d = std::getenv("DOCKER_CONFIG"); d && *d) out.push_back(stdfs::path(d) / "config.json");
    if (const char* h = std::getenv("HOME"); h && *h) out.push_back(stdfs::path(h) / ".docker/config.json");
    return out;
}

stdfs::path auth_file_for_writing() {
    auto c = auth_file_candidates();
    if (c.empty()) throw Error("cannot locate the credentials file: set HOME, DOCKER_CONFIG or REGISTRY_AUTH_FILE");
    return c.front();
}

namespace {

json load_config(const stdfs::path& p) {
    json j = json::parse(fs::read_file(p, 4ull << 20), nullptr, false);
    if (j.is_discarded() || !j.is_object()) throw Error(p.string() + ": not a valid JSON object");
    return j;
}

// The entry for the registry in `auths`, tolerating scheme and path variants of the key.
const json* find_auth_entry(const json& auths, std::string_view registry) {
    std::string key = config_key(registry);
    if (auto it = auths.find(key); it != auths.end()) return &*it;
    for (auto& [k, v] : auths.items()) {
        std::string host = k;
        if (auto p = host.find("://"); p != std::string::npos) host = host.substr(p + 3);
        host = host.substr(0, host.find('/'));
        if (host == registry || config_key(host) == key) return &v;
    }
    return nullptr;
}

std::optional<Credentials> from_helper(const std::string& helper, std::string_view registry) {
    ProcessResult r = run_process({"docker-credential-" + helper, "get"}, config_key(registry));
    if (r.exit_code != 0) {
        if (r.out.find("credentials not found") != std::string::npos) return std::nullopt;
        throw Error("credential helper docker-credential-" + helper + " failed for " + std::string(registry) + ": " +
                    (r.err.empty() ? r.out : r.err));
    }
    json j = json::parse(r.out, nullptr, false);
    if (j.is_discarded() || !j.is_object())
        throw Error("credential helper docker-credential-" + helper + " returned invalid JSON");
    Credentials c;
    c.username = j.value("Username", "");
    std::string secret = j.value("Secret", "");
    if (c.username == "<token>") c.identity_token = secret;
    else c.password = secret;
    return c;
}

std::optional<Credentials> from_entry(const json& e, const stdfs::path& file) {
    Credentials c;
    if (auto a = e.find("auth"); a != e.end() && a->is_string() && !a->get<std::string>().empty()) {
        std::string decoded = base64_decode(a->get<std::string>());
        auto colon = decoded.find(':');
        if (colon == std::string::npos) throw Error(file.string() + ": invalid \"auth\" value (no colon)");
        c.username = decoded.substr(0, colon);
        c.password = decoded.substr(colon + 1);
    }
    if (auto t = e.find("identitytoken"); t != e.end() && t->is_string()) c.identity_token = t->get<std::string>();
    if (c.empty()) return std::nullopt;
    return c;
}

}  // namespace

std::optional<Credentials> lookup_credentials(std::string_view registry) {
    for (auto& file : auth_file_candidates()) {
        if (!stdfs::exists(file)) continue;
        json cfg = load_config(file);
        if (auto h = cfg.find("credHelpers"); h != cfg.end() && h->is_object()) {
            std::string key = config_key(registry);
            for (auto& [k, v] : h->items())
                if ((k == registry || k == key) && v.is_string()) return from_helper(v.get<std::string>(), registry);
        }
        if (auto a = cfg.find("auths"); a != cfg.end() && a->is_object()) {
            if (const json* e = find_auth_entry(*a, registry)) {
                if (auto c = from_entry(*e, file)) return c;
            }
        }
        if (auto s = cfg.find("credsStore"); s != cfg.end() && s->is_string() && !s->get<std::string>().empty())
            return from_helper(s->get<std::string>(), registry);
        return std::nullopt;  // the first existing file decides, as Docker does
    }
    return std::nullopt;
}

std::string store_credentials(std::string_view registry, const Credentials& creds) {
    stdfs::path file = auth_file_for_writing();
    json cfg = stdfs::exists(file) ? load_config(file) : json::object();
    std::string key = config_key(registry);
    std::string helper;
    if (auto h = cfg.find("credHelpers"); h != cfg.end() && h->is_object() && h->contains(key))
        helper = (*h)[key].get<std::string>();
    else if (auto s = cfg.find("credsStore"); s != cfg.end() && s->is_string())
        helper = s->get<std::string>();
    if (!helper.empty()) {
        json payload{{"ServerURL", key}, {"Username", creds.username}, {"Secret", creds.password}};
        ProcessResult r = run_process({"docker-credential-" + helper, "store"}, payload.dump());
        if (r.exit_code != 0) throw Error("credential helper docker-credential-" + helper + " store failed: " + r.err);
        return "docker-credential-" + helper;
    }
    cfg["auths"][key] = json{{"auth", base64_encode(creds.username + ":" + creds.password)}};
    fs::mkdir_p(file.parent_path());
    fs::write_file_atomic(file, cfg.dump(1, '\t') + "\n", 0600);
    ::chmod(file.c_str(), 0600);
    return file.string();
}

bool erase_credentials(std::string_view registry) {
    bool erased = false;
    std::string key = config_key(registry);
    for (auto& file : auth_file_candidates()) {
        if (!stdfs::exists(file)) continue;
        json cfg = load_config(file);
        if (auto a = cfg.find("auths"); a != cfg.end() && a->is_object() && a->erase(key)) {
            fs::write_file_atomic(file, cfg.dump(1, '\t') + "\n", 0600);
            erased = true;
        }
        std::string helper;
        if (auto h = cfg.find("credHelpers"); h != cfg.end() && h->is_object() && h->contains(key))
            helper = (*h)[key].get<std::string>();
        else if (auto s = cfg.find("credsStore"); s != cfg.end() && s->is_string())
            helper = s->get<std::string>();
        if (!helper.empty() && run_process({"docker-credential-" + helper, "erase"}, key).exit_code == 0) erased = true;
    }
    return erased;
}

// OpenSSL's base64 (EVP_EncodeBlock / EVP_DecodeBlock), which the registry links anyway.
std::string base64_encode(std::string_view in) {
    std::string out(4 * ((in.size() + 2) / 3), '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(in.data()),
                            static_cast<int>(in.size()));
    out.resize(static_cast<size_t>(n));
    return out;
}

std::string base64_decode(std::string_view in) {
    // config.json files in the wild wrap lines, use the URL-safe alphabet or drop the
    // padding: normalise to what EVP_DecodeBlock takes, then trim the padding's bytes.
    std::string text;
    for (char ch : in) {
        if (ch == '\n' || ch == '\r' || ch == '=') continue;
        text += ch == '-' ? '+' : ch == '_' ? '/' : ch;
    }
    if (text.size() % 4 == 1) throw Error("invalid base64 data");
    size_t pad = (4 - text.size() % 4) % 4;
    text.append(pad, '=');
    std::string out(text.size() / 4 * 3, '\0');
    int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(text.data()),
                            static_cast<int>(text.size()));
    if (n < 0) throw Error("invalid base64 data");
    out.resize(static_cast<size_t>(n) - pad);
    return out;
}

}  // namespace minirun::registry
