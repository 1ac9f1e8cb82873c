#pragma once
// What `run` takes from an image: its config (Entrypoint, Cmd, Env, WorkingDir, User,
// ExposedPorts, Volumes, StopSignal, Labels) and its layers, from the store.
#include <map>
#include <optional>

#include "minirun/engine/container_store.hpp"
#include <string>
#include <vector>

namespace minirun::image {
class Store;
struct ImageRecord;
}  // namespace minirun::image

namespace minirun::engine {

struct ImageConfig {
    std::vector<std::string> entrypoint, cmd, env;
    std::string working_dir, user, stop_signal;
    std::vector<std::string> exposed_ports;  // "80/tcp"
    std::vector<std::string> volumes;        // "/data"
    std::map<std::string, std::string> labels;
    std::vector<std::string> diff_ids;       // bottom first
    std::optional<HealthConfig> health;      // the image's HEALTHCHECK
    std::string id;                          // config digest
};

ImageConfig load_image_config(const image::Store& store, const image::ImageRecord& rec);
// Parses the "config" part of an image config JSON document (exposed for tests).
ImageConfig parse_image_config_json(const std::string& text);

// Resolves "user[:group]" (names or numbers) against the rootfs's /etc/passwd and
// /etc/group: uid, gid (the user's primary group unless given) and supplementary groups.
struct ResolvedUser {
    unsigned uid = 0, gid = 0;
    std::vector<unsigned> additional_gids;
    std::string home = "/";
};
// Whether `env` (KEY=VALUE items) sets `key`.
bool has_env(const std::vector<std::string>& env, const std::string& key);

// Ids are 32-bit; (uid_t)-1 means "unchanged" to the kernel, so it is no user.
inline constexpr unsigned long long kMaxId = 4294967294ull;
// Refuses ids outside 0..kMaxId and malformed user[:group] before anything is created.
void check_user_spec(const std::string& spec);
// Empty `spec` is root, resolved from the image's /etc/passwd like any other user.
ResolvedUser resolve_user(const std::string& rootfs, const std::string& spec);

}  // namespace minirun::engine
