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

}  // namespace minirun::engine
