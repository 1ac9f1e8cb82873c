#include "minirun/image/oci_layout.hpp"

#include <nlohmann/json.hpp>

#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/image/reference.hpp"

namespace minirun::image {

namespace stdfs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr uint64_t kMaxIndexBytes = 64ull << 20;

}  // namespace

stdfs::path OciLayout::blob_path(std::string_view digest) const {
    validate_digest(digest);
    return dir_ / "blobs/sha256" / std::string(digest.substr(digest.find(':') + 1));
}

void OciLayout::init() const {
    fs::mkdir_p(dir_ / "blobs/sha256");
    std::error_code ec;
    if (!stdfs::exists(dir_ / "oci-layout", ec))
        fs::write_file_atomic(dir_ / "oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
    if (!stdfs::exists(index_path(), ec)) write_manifests({});
}

std::vector<Descriptor> OciLayout::manifests() const {
    std::string text = fs::read_file(index_path(), kMaxIndexBytes);
    try {
        return parse_index(text).manifests;
    } catch (const Error& e) {
        // Parsed once; a second look (no tree built) only on the way out, to say which it was.
        if (!json::accept(text)) throw Error(index_path().string() + " is not valid JSON");
        throw Error(index_path().string() + ": " + e.what());
    }
}

void OciLayout::write_manifests(const std::vector<Descriptor>& manifests) const {
    fs::write_file_atomic(index_path(), index_json(Index{std::string(media::kOciIndex), manifests}, 2) + "\n");
}

void OciLayout::set_ref(const std::string& ref_name, Descriptor manifest) const {
    const std::string key(kRefNameAnnotation);
    std::vector<Descriptor> list = manifests();
    std::erase_if(list, [&](const Descriptor& d) {
        auto it = d.annotations.find(key);
        return it != d.annotations.end() && it->second == ref_name;
    });
    manifest.annotations[key] = ref_name;
    list.push_back(std::move(manifest));
    write_manifests(list);
}

}  // namespace minirun::image
