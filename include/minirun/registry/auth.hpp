#pragma once
// Registry authentication pieces: WWW-Authenticate challenges and credentials from
// Docker's config.json (auths, credsStore, credHelpers) and Podman's REGISTRY_AUTH_FILE.
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace minirun::registry {

struct Challenge {
    std::string scheme;                         // lower case: "bearer", "basic"
    std::map<std::string, std::string> params;  // lower-case keys: realm, service, scope, error
    std::string param(const std::string& k) const;
};

// Parses one WWW-Authenticate header value (possibly several challenges).
std::vector<Challenge> parse_www_authenticate(std::string_view header);

struct Credentials {
    std::string username;
    std::string password;
    std::string identity_token;  // OAuth refresh token ("<token>" user in config.json)
    bool empty() const { return username.empty() && password.empty() && identity_token.empty(); }
};

// The key config.json uses for a registry: docker.io → https://index.docker.io/v1/.
std::string config_key(std::string_view registry);

// Where credentials are read from, in order: $REGISTRY_AUTH_FILE, $DOCKER_CONFIG/config.json,
// ~/.docker/config.json (the first that exists). Writing goes to $REGISTRY_AUTH_FILE when set,
// else to the Docker path.
std::vector<std::filesystem::path> auth_file_candidates();
std::filesystem::path auth_file_for_writing();

// Looks the registry up in the auth files, running docker-credential-<helper> when the file
// names one. Returns nullopt when nothing is configured.
std::optional<Credentials> lookup_credentials(std::string_view registry);
// Saves (login) or removes (logout) credentials; the file is written atomically, mode 0600.
// Returns the file or helper used, for the message.
std::string store_credentials(std::string_view registry, const Credentials& creds);
bool erase_credentials(std::string_view registry);

std::string base64_encode(std::string_view in);
std::string base64_decode(std::string_view in);  // throws Error on invalid input

}  // namespace minirun::registry
