#include "minirun/engine/disk_usage.hpp"

#include <sys/stat.h>

#include <map>
#include <set>

#include "minirun/common/error.hpp"
#include "minirun/engine/volumes.hpp"
#include "minirun/image/build_cache.hpp"
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
    cache.total = image::BuildCache(store).entries().size();
    cache.size = tree_usage(storage_root / "cache");
    cache.reclaimable = cache.size;
    return {images, ctrs, vols, cache};
}

DiskUsageDetail disk_usage_detail(const image::Store& store, const stdfs::path& storage_root,
                                  const std::vector<ContainerRecord>& containers) {
    DiskUsageDetail out;
    // Which images hold each layer: a layer in two or more is shared by each of them.
    std::vector<image::StoredImage> images;
    std::set<std::string> seen_ids;
    std::map<std::string, std::set<std::string>> holders;  // blob digest → image ids
    for (auto& rec : store.list_images()) {
        try {
            auto img = image::load_stored_image(store, rec);
            if (!seen_ids.insert(img.id()).second) continue;  // one image under several names
            for (auto& l : img.manifest.layers) holders[l.digest].insert(img.id());
            images.push_back(std::move(img));
        } catch (const Error&) {
        }
    }
    for (auto& img : images) {
        ImageUsage u;
        u.id = img.id();
        for (auto& l : img.manifest.layers)
            (holders[l.digest].size() > 1 ? u.shared_size : u.unique_size) += static_cast<uint64_t>(l.size);
        for (auto& c : containers) u.containers += c.image_id == u.id ? 1 : 0;
        out.images.push_back(u);
    }
    ContainerStore cs(storage_root);
    for (auto& c : containers) out.containers.push_back({c.id, tree_usage(cs.dir(c.id) / "upper")});
    for (auto& v : VolumeStore(storage_root).list())
        out.volumes.push_back({v.name, volume_users(v.name, containers).size(), tree_usage(v.mountpoint)});
    for (auto& e : image::BuildCache(store).entries()) {
        BuildCacheUsage u;
        u.id = e.key;
        u.created = e.created;
        u.last_used = e.last_used;
        if (e.step && *e.step) {
            u.size = static_cast<uint64_t>((*e.step)->blob.size);
            u.shared = holders.count((*e.step)->blob.digest) > 0;
        }
        out.build_cache.push_back(u);
    }
    out.build_cache_size = tree_usage(storage_root / "cache");
    return out;
}

}  // namespace minirun::engine
