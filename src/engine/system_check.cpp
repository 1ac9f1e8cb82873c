// The store's fsck: digests, index entries, layers and container records.
#include "minirun/engine/system_check.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "minirun/common/error.hpp"
#include "minirun/engine/container_store.hpp"
#include "minirun/engine/layer_verify.hpp"
#include "minirun/image/image_config.hpp"
#include "minirun/image/manifest.hpp"
#include "minirun/image/store.hpp"

namespace minirun::engine {

namespace stdfs = std::filesystem;

bool CheckReport::clean() const {
    return std::all_of(findings.begin(), findings.end(), [](const CheckFinding& f) { return f.repaired; });
}

namespace {

bool is_hex64(const std::string& s) { return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string::npos; }

}  // namespace

CheckReport check_system(const stdfs::path& storage, bool repair) {
    CheckReport rep;
    image::Store store(storage);
    auto add = [&](std::string where, std::string problem, std::string action, bool repaired) {
        rep.findings.push_back({std::move(where), std::move(problem), std::move(action), repaired});
    };

    // Blobs: each must hash to its name (blob_intact removes a damaged one: only with --repair
    // do we let it, so a plain check changes nothing).
    std::set<std::string> damaged;
    std::error_code ec;
    for (auto& e : stdfs::directory_iterator(storage / "store/blobs/sha256", ec)) {
        std::string hex = e.path().filename();
        if (hex.rfind(".tmp-", 0) == 0) continue;
        ++rep.blobs;
        if (!is_hex64(hex)) {
            add("blob file " + e.path().string(), "not named by a sha256 digest", repair ? "removed" : "remove it", repair);
            if (repair) stdfs::remove_all(e.path(), ec);
            continue;
        }
        std::string digest = "sha256:" + hex;
        if (!store.blob_intact(digest, -1, /*remove_damaged=*/false)) {
            damaged.insert(digest);
            add("blob " + digest, "content does not hash to its name (truncated or damaged)",
                repair ? "removed; pull the image again to fetch it" : "run `minirun system check --repair`, then pull again",
                repair);
            if (repair) stdfs::remove(e.path(), ec);
        }
    }

    // Index entries: manifest, config, layer blobs, unpacked layers.
    std::vector<std::string> drop;
    std::map<std::string, std::string> blob_of_layer;  // diff id hex → blob digest
    for (auto& rec : store.list_unnamed()) {
        try {
            image::Manifest m = image::parse_manifest(store.read_blob(rec.manifest.digest, image::kMaxManifestBytes));
            auto cfg = image::parse_image_config(store.read_blob(m.config.digest));
            for (size_t i = 0; i < m.layers.size() && i < cfg.diff_ids.size(); ++i)
                blob_of_layer.emplace(cfg.diff_ids[i].substr(7), m.layers[i].digest);
        } catch (const Error&) {
        }
    }
    for (auto& rec : store.list_images()) {
        ++rep.images;
        std::string where = "image " + rec.name;
        if (!store.has_blob(rec.manifest.digest) || damaged.count(rec.manifest.digest)) {
            drop.push_back(rec.name);
            add(where, "manifest " + rec.manifest.digest + " is missing or damaged",
                repair ? "name removed; pull " + rec.name + " again" : "pull " + rec.name + " again", repair);
            continue;
        }
        try {
            image::Manifest m = image::parse_manifest(store.read_blob(rec.manifest.digest, image::kMaxManifestBytes));
            if (!store.has_blob(m.config.digest) || damaged.count(m.config.digest)) {
                add(where, "config " + m.config.digest + " is missing or damaged", "pull " + rec.name + " again", false);
                continue;
            }
            auto cfg = image::parse_image_config(store.read_blob(m.config.digest));
            for (size_t i = 0; i < m.layers.size(); ++i) {
                const auto& l = m.layers[i];
                if (!store.has_blob(l.digest) || damaged.count(l.digest))
                    add(where, "layer blob " + l.digest + " is missing or damaged (push needs it)",
                        "pull " + rec.name + " again", false);
                if (i < cfg.diff_ids.size() && !store.has_layer(cfg.diff_ids[i]))
                    add(where, "layer " + cfg.diff_ids[i] + " is not unpacked", "pull " + rec.name + " again", false);
                if (i < cfg.diff_ids.size() && cfg.diff_ids[i].size() == 71)
                    blob_of_layer.emplace(cfg.diff_ids[i].substr(7), l.digest);
            }
        } catch (const Error& e) {
            add(where, e.what(), "pull " + rec.name + " again", false);
        }
    }
    if (repair)
        for (auto& n : drop) store.remove_image(n);

    // Unpacked layers: named by a diff id; half-made ones (temp names) belong to sweep.
    // Each one whose blob is here is extracted again and compared (the blob's stream is
    // the diff id); a layer a running container stacks is reported, never swapped.
    ContainerStore containers(storage);
    std::set<std::string> running_layers;
    for (auto& r : containers.list())
        if (r.status == "running" || r.status == "restarting")
            for (auto& l : r.layers) running_layers.insert(l.rfind("sha256:", 0) == 0 ? l.substr(7) : l);
    for (auto& e : stdfs::directory_iterator(storage / "layers", ec)) {
        std::string n = e.path().filename();
        if (n.rfind(".tmp-", 0) == 0) continue;
        ++rep.layers;
        if (!is_hex64(n) || !e.is_directory()) {
            add("layer " + e.path().string(), "not a layer directory named by a diff id", repair ? "removed" : "remove it",
                repair);
            if (repair) stdfs::remove_all(e.path(), ec);
            continue;
        }
        auto blob = blob_of_layer.find(n);
        if (blob == blob_of_layer.end() || !store.has_blob(blob->second) || damaged.count(blob->second)) continue;
        ++rep.layers_verified;
        bool in_use = running_layers.count(n) > 0;
        LayerCheck lc = verify_layer(store, "sha256:" + n, blob->second, repair && !in_use);
        if (lc.problem.empty()) continue;
        add("layer sha256:" + n, lc.problem,
            lc.replaced ? "extracted again from its blob"
            : in_use    ? "stop the containers using it, then run `minirun system check --repair`"
                        : "run `minirun system check --repair`",
            lc.replaced);
    }

    // Container records: readable, and their layers present.
    for (auto& e : stdfs::directory_iterator(storage / "containers", ec)) {
        if (!e.is_directory()) continue;
        ++rep.containers;
        std::string id = e.path().filename();
        if (!stdfs::exists(e.path() / "container.json")) {
            add("container " + id, "no container.json", "remove " + e.path().string() + " by hand", false);
            continue;
        }
        try {
            ContainerRecord r = containers.load(id);
            for (auto& l : r.layers)
                if (!store.has_layer(l))
                    add("container " + r.name, "layer " + l + " of its rootfs is gone",
                        "minirun rm " + r.name + ", then run it again", false);
        } catch (const Error& err) {
            add("container " + id, err.what(), "minirun rm -f " + id.substr(0, 12), false);
        }
    }
    return rep;
}

}  // namespace minirun::engine
