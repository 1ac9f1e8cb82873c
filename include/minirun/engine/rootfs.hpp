#pragma once
// A container's root filesystem: an overlay of the shared, read-only unpacked layers
// with a per-container upper dir; a private copy only where overlay is unavailable.
#include <string>
#include <vector>

namespace minirun::engine {

// Mounts <container_dir>/rootfs from the unpacked layers under `layers_dir`
// (<storage>/layers). diff_ids are bottom layer first.
void mount_rootfs(const std::string& layers_dir, const std::vector<std::string>& diff_ids, const std::string& container_dir);
// The overlay under both: `diff_ids` (bottom first) and then `extra_lower` (absolute
// directories, below them) as lower dirs; read-only when `upper` is empty (the kernel then
// wants two lower dirs at least). Up to ~60 layers fit one page of mount(2) options; more
// (up to overlay's 500) are given one by one through fsconfig, which needs Linux 6.8.
struct OverlayDirs {
    std::string upper, work, target;
    std::vector<std::string> extra_lower;
};
void mount_layers(const std::string& layers_dir, const std::vector<std::string>& diff_ids, const OverlayDirs& dirs);
void unmount_rootfs(const std::string& container_dir);
bool rootfs_mounted(const std::string& container_dir);
// Mounted, or a complete private copy (where overlay was refused): nothing to do at start.
bool rootfs_ready(const std::string& container_dir);
// Seeds a new named volume from the image's content at `path` (Docker's behaviour).
void seed_volume(const std::string& rootfs, const std::string& path, const std::string& volume_dir);

}  // namespace minirun::engine
