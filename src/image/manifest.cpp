#include "minirun/image/manifest.hpp"

#include <sys/utsname.h>

#include <nlohmann/json.hpp>

#include "minirun/common/error.hpp"
#include "minirun/image/reference.hpp"

namespace minirun::image {

using json = nlohmann::json;

namespace {

[[noreturn]] void malformed(const std::string& what) { throw Error("malformed manifest: " + what); }

json parse_json(std::string_view text, const char* what) {
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded()) throw Error(std::string("malformed ") + what + ": not valid JSON");
    if (!j.is_object()) throw Error(std::string("malformed ") + what + ": not a JSON object");
    return j;
}

std::string get_string(const json& j, const char* key, bool required, const char* ctx) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) {
        if (required) malformed(std::string(ctx) + ": missing \"" + key + "\"");
        return {};
    }
    if (!it->is_string()) malformed(std::string(ctx) + ": \"" + key + "\" is not a string");
    return it->get<std::string>();
}

std::map<std::string, std::string> get_annotations(const json& j) {
    std::map<std::string, std::string> out;
    auto it = j.find("annotations");
    if (it == j.end() || !it->is_object()) return out;
    for (auto& [k, v] : it->items())
        if (v.is_string()) out[k] = v.get<std::string>();
    return out;
}

Descriptor parse_descriptor(const json& j, const char* ctx) {
    if (!j.is_object()) malformed(std::string(ctx) + ": descriptor is not an object");
    Descriptor d;
    d.media_type = get_string(j, "mediaType", false, ctx);
    d.digest = get_string(j, "digest", true, ctx);
    if (!is_valid_digest(d.digest)) malformed(std::string(ctx) + ": invalid digest \"" + d.digest + "\"");
    auto size = j.find("size");
    if (size == j.end() || !size->is_number_integer() || size->get<int64_t>() < 0)
        malformed(std::string(ctx) + ": missing or invalid size for " + d.digest);
    d.size = size->get<int64_t>();
    if (auto p = j.find("platform"); p != j.end() && p->is_object()) {
        Platform pl;
        pl.os = get_string(*p, "os", false, ctx);
        pl.architecture = get_string(*p, "architecture", false, ctx);
        pl.variant = get_string(*p, "variant", false, ctx);
        d.platform = pl;
    }
    d.annotations = get_annotations(j);
    return d;
}

std::string normalize_arch(std::string arch) {
    if (arch == "x86_64") return "amd64";
    if (arch == "aarch64") return "arm64";
    if (arch.rfind("armv", 0) == 0) return "arm";
    if (arch == "i686" || arch == "i386") return "386";
    return arch;
}

json descriptor_json(const Descriptor& d) {
    json j{{"mediaType", d.media_type}, {"digest", d.digest}, {"size", d.size}};
    if (!d.annotations.empty()) j["annotations"] = d.annotations;
    if (d.platform) {
        json p{{"os", d.platform->os}, {"architecture", d.platform->architecture}};
        if (!d.platform->variant.empty()) p["variant"] = d.platform->variant;
        j["platform"] = p;
    }
    return j;
}

}  // namespace

std::string manifest_json(const Manifest& m) {
    json layers = json::array();
    for (auto& l : m.layers) layers.push_back(descriptor_json(l));
    json j{{"schemaVersion", 2}, {"mediaType", m.media_type}, {"config", descriptor_json(m.config)}, {"layers", layers}};
    if (!m.annotations.empty()) j["annotations"] = m.annotations;
    return j.dump();
}

std::string index_json(const Index& idx, int indent) {
    json list = json::array();
    for (auto& d : idx.manifests) list.push_back(descriptor_json(d));
    json j{{"schemaVersion", 2}, {"mediaType", idx.media_type}, {"manifests", list}};
    return j.dump(indent);
}

Platform Platform::host() {
    utsname u{};
    ::uname(&u);
    Platform p{"linux", normalize_arch(u.machine), ""};
    std::string machine = u.machine;
    if (p.architecture == "arm" && machine.size() > 4) p.variant = "v" + machine.substr(4, 1);
    if (p.architecture == "arm64") p.variant = "v8";
    return p;
}

Platform Platform::parse(std::string_view text) {
    std::vector<std::string> parts;
    size_t start = 0;
    for (;;) {
        size_t slash = text.find('/', start);
        parts.emplace_back(text.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
        if (slash == std::string_view::npos) break;
        start = slash + 1;
    }
    if (parts.size() < 2 || parts.size() > 3)
        throw Error("invalid platform \"" + std::string(text) + "\": expected os/arch[/variant]");
    for (auto& p : parts) {
        if (p.empty()) throw Error("invalid platform \"" + std::string(text) + "\": empty component");
        for (char& c : p) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return Platform{parts[0], normalize_arch(parts[1]), parts.size() == 3 ? parts[2] : ""};
}

std::string Platform::str() const { return os + "/" + architecture + (variant.empty() ? "" : "/" + variant); }

bool Platform::satisfies(const Platform& want) const {
    if (os != want.os || architecture != want.architecture) return false;
    if (want.variant.empty() || variant == want.variant) return true;
    // arm64 images usually omit "v8".
    return want.architecture == "arm64" && want.variant == "v8" && variant.empty();
}

ManifestKind classify_manifest(std::string_view mt) {
    if (mt == media::kOciManifest || mt == media::kDockerManifest) return ManifestKind::image;
    if (mt == media::kOciIndex || mt == media::kDockerList) return ManifestKind::index;
    if (mt.find("distribution.manifest.v1") != std::string_view::npos)
        throw Error("unsupported manifest media type " + std::string(mt) + " (Docker schema 1 is deprecated)");
    throw Error("unsupported manifest media type \"" + std::string(mt) + "\"");
}

std::string manifest_media_type(std::string_view body, std::string_view content_type) {
    std::string ct(content_type.substr(0, content_type.find(';')));
    while (!ct.empty() && ct.back() == ' ') ct.pop_back();
    if (!ct.empty() && ct != "application/json" && ct != "text/plain" && ct != "application/octet-stream") return ct;
    json j = json::parse(body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) malformed("not a JSON object");
    if (auto mt = j.find("mediaType"); mt != j.end() && mt->is_string()) return mt->get<std::string>();
    // OCI allows omitting mediaType: guess from the shape.
    if (j.contains("manifests")) return std::string(media::kOciIndex);
    if (j.contains("config") && j.contains("layers")) return std::string(media::kOciManifest);
    if (j.contains("fsLayers")) return "application/vnd.docker.distribution.manifest.v1+json";
    malformed("cannot tell its media type");
}

bool is_layer_media_type(std::string_view mt) {
    return mt == media::kOciLayerTar || mt == media::kOciLayerGzip || mt == media::kOciLayerZstd ||
           mt == media::kDockerLayerGzip || mt == media::kDockerForeignLayer ||
           mt == "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
}

Manifest parse_manifest(std::string_view text) {
    json j = parse_json(text, "manifest");
    Manifest m;
    if (auto v = j.find("schemaVersion"); v == j.end() || !v->is_number_integer() || v->get<int>() != 2)
        malformed("schemaVersion is not 2");
    m.media_type = get_string(j, "mediaType", false, "manifest");
    auto cfg = j.find("config");
    if (cfg == j.end()) malformed("missing \"config\"");
    m.config = parse_descriptor(*cfg, "config");
    auto layers = j.find("layers");
    if (layers == j.end() || !layers->is_array()) malformed("missing \"layers\" array");
    if (layers->size() > 1000) malformed("too many layers (" + std::to_string(layers->size()) + ")");
    for (auto& l : *layers) {
        Descriptor d = parse_descriptor(l, "layer");
        if (!is_layer_media_type(d.media_type))
            throw Error("unsupported layer media type \"" + d.media_type + "\" for " + d.digest);
        m.layers.push_back(std::move(d));
    }
    m.annotations = get_annotations(j);
    return m;
}

Index parse_index(std::string_view text) {
    json j = parse_json(text, "index");
    Index idx;
    idx.media_type = get_string(j, "mediaType", false, "index");
    auto ms = j.find("manifests");
    if (ms == j.end() || !ms->is_array()) malformed("index has no \"manifests\" array");
    for (auto& m : *ms) idx.manifests.push_back(parse_descriptor(m, "index entry"));
    return idx;
}

const Descriptor& select_platform(const Index& index, const Platform& want) {
    std::string available;
    for (auto& d : index.manifests) {
        auto ref_type = d.annotations.find("vnd.docker.reference.type");
        if (ref_type != d.annotations.end() && ref_type->second == "attestation-manifest") continue;
        if (!d.platform || d.platform->os == "unknown") continue;
        if (d.platform->satisfies(want)) return d;
        available += (available.empty() ? "" : ", ") + d.platform->str();
    }
    throw Error("no image for platform " + want.str() + " (available: " + (available.empty() ? "none" : available) +
                ")");
}

}  // namespace minirun::image
