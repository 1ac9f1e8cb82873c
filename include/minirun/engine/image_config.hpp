#pragma once
// What `run` makes of an image's config (image/image_config.hpp holds the config itself):
// its health check and its user, resolved against the rootfs.
#include <map>
#include <optional>

#include <string>
#include <vector>

#include "minirun/engine/container_store.hpp"
#include "minirun/image/image_config.hpp"

namespace minirun::engine {

// The image's HEALTHCHECK as the supervisor runs it: Docker's defaults for the fields the
// image leaves at zero; nullopt when it has none.
std::optional<HealthConfig> health_from_image(const std::optional<image::Healthcheck>& h);

// Resolves "user[:group]" (names or numbers) against the rootfs's /etc/passwd and
// /etc/group: uid, gid (the user's primary group unless given) and supplementary groups.
// A group name or id as the image's /etc/group knows it (--group-add); throws for an
// unknown name.
unsigned resolve_group(const std::string& rootfs, const std::string& group);

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
