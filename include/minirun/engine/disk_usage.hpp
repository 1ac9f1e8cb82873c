#pragma once
// `system df`: what images, containers, volumes and the build cache take on disk, and
// what of it nothing running needs (Docker's TYPE/TOTAL/ACTIVE/SIZE/RECLAIMABLE).
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "minirun/engine/container_store.hpp"
#include "minirun/image/store.hpp"

namespace minirun::engine {

struct DiskUsageRow {
    std::string type;  // Images, Containers, Local Volumes, Build Cache
    uint64_t total = 0, active = 0;
    uint64_t size = 0, reclaimable = 0;  // bytes
};

// Images count each stored layer blob once (shared layers are not counted twice); an
// image is active while a container (of any state) uses it, and its layers that no active
// image shares are reclaimable. Containers are their writable layers (upper dirs), the
// stopped ones' reclaimable. Volumes are their _data trees, the unused ones' reclaimable.
std::vector<DiskUsageRow> disk_usage(const image::Store& store, const std::filesystem::path& storage_root,
                                     const std::vector<ContainerRecord>& containers);

// `system df -v`: the same, item by item.
struct ImageUsage {
    std::string id;
    uint64_t shared_size = 0;  // layers another image also has
    uint64_t unique_size = 0;  // layers only this image has
    size_t containers = 0;     // containers (any state) made from it
};
struct ContainerUsage {
    std::string id;
    uint64_t size = 0;  // its writable layer
};
struct VolumeUsage {
    std::string name;
    size_t links = 0;  // containers that mount it
    uint64_t size = 0;
};
struct BuildCacheUsage {
    std::string id;            // the step's cache key
    uint64_t size = 0;         // the layer it produced (0: a step that changed no file)
    int64_t created = 0, last_used = 0;  // unix seconds
    bool shared = false;       // an image has its layer too
};
struct DiskUsageDetail {
    std::vector<ImageUsage> images;
    std::vector<ContainerUsage> containers;
    std::vector<VolumeUsage> volumes;
    std::vector<BuildCacheUsage> build_cache;
    uint64_t build_cache_size = 0;  // the summary's Build Cache size
};
DiskUsageDetail disk_usage_detail(const image::Store& store, const std::filesystem::path& storage_root,
                                  const std::vector<ContainerRecord>& containers);

}  // namespace minirun::engine
