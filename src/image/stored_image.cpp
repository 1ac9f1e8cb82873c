// Images in the store as one object, and the image commands' data (images, inspect).
#include "minirun/image/stored_image.hpp"

#include <nlohmann/json.hpp>

#include "minirun/common/error.hpp"
#include "minirun/image/reference.hpp"

namespace minirun::image {

using json = nlohmann::json;

int64_t StoredImage::size() const {
    int64_t total = 0;
    for (auto& l : manifest.layers) total += l.size;
    return total;
}

StoredImage load_stored_image(const Store& store, const ImageRecord& rec) {
    StoredImage img{rec, parse_manifest(store.read_blob(rec.manifest.digest, kMaxManifestBytes)), {}};
    img.config = parse_image_config(store.read_blob(img.manifest.config.digest));
    return img;
}

void require_layers(const Store& store, const StoredImage& img) {
    for (auto& d : img.config.diff_ids)
        if (!store.has_layer(d))
            throw Error("image " + img.record.name + ": layer " + d + " is not unpacked; pull it again");
}

namespace {

// "docker.io/library/alpine:3.20" → {"alpine", "3.20"} as docker images shows it.
std::pair<std::string, std::string> repo_and_tag(const std::string& name) {
    auto ref = Reference::parse(name);
    std::string fam = ref.familiar();
    std::string repo = fam.substr(0, fam.find_first_of("@"));
    if (!ref.tag.empty()) repo = repo.substr(0, repo.size() - ref.tag.size() - 1);
    return {repo, ref.tag.empty() ? "<none>" : ref.tag};
}

}  // namespace

std::vector<ImageSummary> list_image_summaries(const Store& store) {
    std::vector<ImageSummary> out;
    for (auto& rec : store.list_images()) {
        ImageSummary s;
        std::tie(s.repository, s.tag) = repo_and_tag(rec.name);
        s.name = rec.name;
        s.digest = rec.manifest.digest;
        try {
            StoredImage img = load_stored_image(store, rec);
            s.id = img.id();
            s.created = img.config.created;
            s.size = img.size();
            s.labels = img.config.config.labels;
        } catch (const Error& e) {
            s.damaged = e.what();  // one damaged image is marked, the others still list
        }
        out.push_back(s);
    }
    for (auto& rec : store.list_unnamed()) {
        ImageSummary s{"<none>", "<none>", "", store.image_id(rec), rec.manifest.digest, "", "", 0, {}};
        if (s.id.empty()) s.damaged = "its manifest or config cannot be read";
        out.push_back(s);
    }
    return out;
}

std::string inspect_images_json(const Store& store, const std::vector<std::string>& names) {
    json out = json::array();
    for (auto& n : names) {
        auto rec = store.lookup(n);
        if (!rec) throw Error("image not found: " + n, ErrorKind::NotFound);
        StoredImage img = load_stored_image(store, *rec);
        json tags = json::array(), digests = json::array();
        for (auto& other : store.list_images()) {
            if (other.manifest.digest != img.record.manifest.digest) continue;
            tags.push_back(other.name);
            auto ref = Reference::parse(other.name);
            auto rd = other.manifest.annotations.find(std::string(kRepoDigestAnnotation));
            digests.push_back(ref.name() + "@" + (rd != other.manifest.annotations.end() ? rd->second : other.manifest.digest));
        }
        json layers = json::array();
        for (auto& l : img.manifest.layers) layers.push_back({{"Digest", l.digest}, {"Size", l.size}, {"MediaType", l.media_type}});
        const ImageConfig& c = img.config;
        // Every list and map present, empty when unset: `{{.Config.Entrypoint}}` prints [] and
        // `{{range .Config.Labels}}` works, as on Docker's typed structs.
        json config = json::parse(container_config_json(c.config));
        for (const char* list : {"Entrypoint", "Cmd", "Env"})
            if (!config.contains(list) || config[list].is_null()) config[list] = json::array();
        for (const char* map : {"Labels", "ExposedPorts", "Volumes"})
            if (!config.contains(map) || config[map].is_null()) config[map] = json::object();
        for (const char* text : {"User", "WorkingDir", "StopSignal"})
            if (!config.contains(text)) config[text] = "";
        out.push_back({{"Id", img.id()},
                       {"Digest", img.record.manifest.digest},
                       {"RepoTags", tags},
                       {"RepoDigests", digests},
                       {"Created", c.created},
                       {"Author", c.author},
                       {"Architecture", c.platform.architecture},
                       {"Os", c.platform.os},
                       {"Config", config},
                       {"RootFS", {{"Type", "layers"}, {"Layers", c.diff_ids}}},  // Docker's names
                       {"Layers", layers},
                       {"ManifestMediaType", img.record.manifest.media_type},
                       {"Size", img.size()}});
    }
    return out.dump(4);
}

}  // namespace minirun::image
