#pragma once
// Removing images without pulling the floor from under containers: `rmi`, `image prune`
// and `system prune` take their garbage-collection roots from the image names, the
// container records (a container's image id and the layers its overlay stacks) and the
// build cache.
#include <filesystem>
#include <string>
#include <vector>

#include "minirun/image/store.hpp"

namespace minirun::engine {

// What containers (running or stopped) still need from the store.
image::GcRoots container_roots(const std::filesystem::path& storage);
// Every root: container records plus the build cache's layers (Docker's `image prune`
// leaves the build cache alone too).
image::GcRoots gc_roots(const image::Store& store);
// `builder prune` / `system prune`: forgets every cached build step; returns how many.
size_t prune_build_cache(const image::Store& store);

struct RmiOutcome {
    std::vector<std::string> untagged;  // names removed from the index
    std::vector<std::string> errors;    // one line per name that failed
    size_t collected = 0;               // blobs and layers garbage-collected
};

// `rmi [-f] NAME...`: each name on its own (one failure does not stop the others). An
// image a container uses is refused ("image is in use by container <id>") unless only one
// of several names goes; with `force` it is untagged and its content kept for the container.
RmiOutcome remove_images(image::Store& store, const std::filesystem::path& storage,
                         const std::vector<std::string>& names, bool force);

// `image prune`: images without a name (none today: the store names every image) or,
// with `all`, every image no container uses; then garbage collection.
RmiOutcome prune_images(image::Store& store, const std::filesystem::path& storage, bool all);

}  // namespace minirun::engine
