// rmi / image prune with container records as garbage-collection roots.
#include "minirun/engine/image_removal.hpp"

#include <algorithm>
#include <map>

#include "minirun/common/error.hpp"
#include "minirun/common/events.hpp"
#include "minirun/common/log.hpp"
#include "minirun/engine/container_store.hpp"
#include "minirun/image/build_cache.hpp"
#include "minirun/image/reference.hpp"

namespace minirun::engine {

namespace stdfs = std::filesystem;

namespace {

std::string hex_of(const std::string& digest) { return digest.rfind("sha256:", 0) == 0 ? digest.substr(7) : digest; }

// Every blob and layer present: what an unreadable container record forces us to keep,
// since we cannot tell which of them its overlay stacks.
void keep_everything(const stdfs::path& storage, image::GcRoots& roots) {
    std::error_code ec;
    for (auto& e : stdfs::directory_iterator(storage / "store/blobs/sha256", ec)) roots.blobs.insert(e.path().filename());
    for (auto& e : stdfs::directory_iterator(storage / "layers", ec)) roots.layers.insert(e.path().filename());
}

// Image id → the containers (ids) made from it.
std::map<std::string, std::vector<std::string>> users_by_image(const stdfs::path& storage) {
    std::map<std::string, std::vector<std::string>> users;
    for (auto& rec : ContainerStore(storage).list()) users[rec.image_id].push_back(rec.id);
    return users;
}

}  // namespace

size_t prune_build_cache(const image::Store& store) { return image::BuildCache(store).prune(); }

image::GcRoots gc_roots(const image::Store& store) {
    image::GcRoots roots = container_roots(store.root());
    // The build cache's layers and blobs stay until `builder prune` (Docker's image prune
    // leaves its build cache alone too).
    image::BuildCache(store).add_roots(roots);
    return roots;
}

image::GcRoots container_roots(const stdfs::path& storage) {
    image::GcRoots roots;
    ContainerStore containers(storage);
    std::error_code ec;
    for (auto& e : stdfs::directory_iterator(storage / "containers", ec)) {
        if (!e.is_directory()) continue;
        try {
            ContainerRecord rec = containers.load(e.path().filename());
            if (!rec.image_id.empty()) roots.blobs.insert(hex_of(rec.image_id));
            for (auto& l : rec.layers) roots.layers.insert(hex_of(l));
        } catch (const Error& err) {
            log::warn(std::string(err.what()) + "; keeping every layer until it is repaired or removed");
            keep_everything(storage, roots);
            return roots;
        }
    }
    return roots;
}

RmiOutcome remove_images(image::Store& store, const stdfs::path& storage, const std::vector<std::string>& names,
                         bool force) {
    RmiOutcome out;
    auto users = users_by_image(storage);
    for (auto& n : names) {
        try {
            auto rec = store.lookup(n);
            if (!rec) throw Error("No such image: " + n);
            if (rec->name.empty()) {  // an unnamed image, given by id
                std::string id = store.image_id(*rec);
                auto used = users.find(id);
                if (used != users.end())
                    throw Error("rmi " + n + ": image is in use by container " + used->second.front().substr(0, 12));
                if (store.remove_unnamed(rec->manifest.digest)) out.untagged.push_back(id.empty() ? rec->manifest.digest : id);
                continue;
            }
            bool by_name = false;
            try {
                by_name = image::Reference::parse(n).str() == rec->name;
            } catch (const Error&) {
            }
            std::vector<std::string> names_of_image;
            for (auto& o : store.list_images())
                if (o.manifest.digest == rec->manifest.digest) names_of_image.push_back(o.name);
            std::vector<std::string> victims = by_name ? std::vector<std::string>{rec->name} : names_of_image;
            if (!by_name && victims.size() > 1 && !force)
                throw Error("rmi " + n + ": image is referenced by " + std::to_string(victims.size()) +
                            " names; remove them by name or use --force");
            // Removing one of several names leaves the image; removing the last one of an
            // image a container uses would orphan the container (Docker refuses it too).
            bool last_name = victims.size() == names_of_image.size();
            auto used = users.find(store.image_id(*rec));
            if (last_name && used != users.end() && !force)
                throw Error("rmi " + n + ": image is in use by container " + used->second.front().substr(0, 12) +
                            " (remove the container first, or use -f to untag and keep what it uses)");
            for (auto& v : victims)
                if (store.remove_image(v)) out.untagged.push_back(v);
        } catch (const Error& e) {
            out.errors.push_back(e.what());
        }
    }
    // Roots read again right before collecting, not reused from the check above: a
    // container created meanwhile must keep its layers.
    if (!out.untagged.empty()) out.collected = store.garbage_collect(gc_roots(store));
    for (auto& n : out.untagged) events::record(storage, {"image", "untag", n, {{"name", n}}, 0});
    return out;
}

RmiOutcome prune_images(image::Store& store, const stdfs::path& storage, bool all) {
    RmiOutcome out;
    auto users = users_by_image(storage);
    for (auto& rec : store.list_unnamed()) {  // dangling: built without -t
        std::string id = store.image_id(rec);
        if (!id.empty() && !users.count(id) && store.remove_unnamed(rec.manifest.digest)) out.untagged.push_back(id);
    }
    if (all) {
        for (auto& rec : store.list_images()) {
            std::string id = store.image_id(rec);
            if (id.empty() || users.count(id)) continue;  // unreadable: left for `system check`
            if (store.remove_image(rec.name)) out.untagged.push_back(rec.name);
        }
    }
    out.collected = store.garbage_collect(gc_roots(store));
    for (auto& n : out.untagged) events::record(storage, {"image", "untag", n, {{"name", n}}, 0});
    return out;
}

}  // namespace minirun::engine
