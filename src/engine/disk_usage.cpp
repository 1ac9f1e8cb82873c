#include "minirun/engine/disk_usage.hpp"

#include <sys/stat.h>

#include <map>
#include <set>

#include "minirun/common/error.hpp"
#include "minirun/engine/volumes.hpp"
#include "minirun/image/stored_image.hpp"

namespace minirun::engine {

namespace stdfs = std::filesystem;

namespace {

// Bytes of the regular files under `dir` (blocks actually used, as du counts them).
uint64_t tree_usage(const stdfs::path& dir) {
    uint64_t total = 0;
    std::error_code ec;
    for (auto it = stdfs::recursive_directory_iterator(dir, stdfs::directory_options::skip_permission_denied, ec);
         !ec && it != stdfs::recursive_directory_iterator(); it.increment(ec)) {
        struct stat st {};
        if (::lstat(it->path().c_str(), &st) == 0 && S_ISREG(st.st_mode)) total += static_cast<uint64_t>(st.st_size);
    }
    return total;
}

}  // namespace

std::vector<DiskUsageRow> disk_usage(const image::Store& store, const stdfs::path& storage_root,
                                     const std::vector<ContainerRecord>& containers) {
    std::set<std::string> used_images;
    for (auto& c : containers) used_images.insert(c.image_id);

    DiskUsageRow images{"Images"};
    std::map<std::string, int64_t> layer_size;       // blob digest → size, each once
    std::set<std::string> active_layers;
    for (auto& rec : store.list_images()) {
        try {
            auto img = image::load_stored_image(store, rec);
            ++images.total;
            bool active = used_images.count(img.id()) > 0;
            if (active) ++images.active;
            for (auto& l : img.manifest.layers) {
                layer_size[l.digest] = l.size;
                if (active) active_layers.insert(l.digest);
            }
        } catch (const Error&) {
            // damaged images are `system check`'s business, not a size
        }
    }
    for (auto& [digest, size] : layer_size) {
        images.size += static_cast<uint64_t>(size);
        if (!active_layers.count(digest)) images.reclaimable += static_cast<uint64_t>(size);
    }

    DiskUsageRow ctrs{"Containers"};
    ContainerStore cs(storage_root);
    for (auto& c : containers) {
        ++ctrs.total;
        bool running = c.status == "running" || c.status == "restarting";
        if (running) ++ctrs.active;
        uint64_t bytes = tree_usage(cs.dir(c.id) / "upper");
        ctrs.size += bytes;
        if (!running) ctrs.reclaimable += bytes;
    }

    DiskUsageRow vols{"Local Volumes"};
    for (auto& v : VolumeStore(storage_root).list()) {
        ++vols.total;
        uint64_t bytes = tree_usage(v.mountpoint);
        vols.size += bytes;
        if (!volume_users(v.name, containers).empty()) ++vols.active;
        else vols.reclaimable += bytes;
    }

    DiskUsageRow cache{"Build Cache"};
    std::error_code ec;
    for (auto& e : stdfs::directory_iterator(image::build_cache_dir(storage_root), ec)) {
        (void)e;
        ++cache.total;
    }
    cache.size = tree_usage(storage_root / "cache");
    cache.reclaimable = cache.size;
    return {images, ctrs, vols, cache};
}

}  // namespace minirun::engine
