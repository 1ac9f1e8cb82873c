#include "minirun/engine/volumes.hpp"

#include <sys/stat.h>

#include <nlohmann/json.hpp>
#include <random>

#include "minirun/common/error.hpp"
#include "minirun/common/events.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/common/names.hpp"
#include "minirun/common/time.hpp"

namespace minirun::engine {

namespace stdfs = std::filesystem;
using json = nlohmann::json;

namespace {

void check_name(const std::string& name) {
    // The name is a directory under the store: the one name rule keeps it there.
    if (!is_valid_object_name(name, 255))
        throw Error("invalid volume name \"" + name + "\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
                    ErrorKind::InvalidArgument);
}

std::string random_name() {
    std::random_device rd;
    static const char hex[] = "0123456789abcdef";
    std::string out;
    for (int i = 0; i < 64; ++i) out += hex[rd() % 16];
    return out;
}

uint64_t tree_bytes(const stdfs::path& dir) {
    uint64_t total = 0;
    std::error_code ec;
    for (auto it = stdfs::recursive_directory_iterator(dir, stdfs::directory_options::skip_permission_denied, ec);
         it != stdfs::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) break;
        struct stat st {};
        if (::lstat(it->path().c_str(), &st) == 0 && S_ISREG(st.st_mode)) total += static_cast<uint64_t>(st.st_size);
    }
    return total;
}

}  // namespace

VolumeStore::VolumeStore(stdfs::path storage_root) : root_(std::move(storage_root) / "volumes") {}

VolumeInfo VolumeStore::create(std::string name, const std::map<std::string, std::string>& labels,
                               const std::map<std::string, std::string>& options, bool anonymous) {
    if (name.empty()) name = random_name();
    check_name(name);
    if (auto existing = find(name)) return *existing;
    for (auto& [k, v] : options)
        if (k != "type" && k != "device" && k != "o")
            throw Error("volume " + name + ": unknown option \"" + k + "\" (the local driver takes type, device, o)",
                        ErrorKind::InvalidArgument);
    if (!options.empty())
        throw Error("volume " + name + ": driver options (mounting a device or NFS) are not supported yet",
                    ErrorKind::InvalidArgument);
    VolumeInfo v;
    v.name = name;
    v.mountpoint = (root_ / name / "_data").string();
    v.created = rfc3339_seconds(std::time(nullptr));
    v.labels = labels;
    v.options = options;
    v.anonymous = anonymous;
    fs::mkdir_p(v.mountpoint);
    json meta{{"Name", v.name}, {"Driver", v.driver},   {"CreatedAt", v.created},
              {"Labels", v.labels}, {"Options", v.options}, {"Anonymous", v.anonymous}};
    fs::write_file_atomic(root_ / name / "volume.json", meta.dump(2) + "\n", 0600);
    events::record(root_.parent_path(), {"volume", "create", name, {{"driver", "local"}}, 0});
    return v;
}

std::pair<std::string, bool> VolumeStore::ensure(const std::string& name, bool anonymous) {
    check_name(name);
    bool fresh = !stdfs::exists(root_ / name / "_data");
    if (fresh) create(name, {}, {}, anonymous);
    return {(root_ / name / "_data").string(), fresh};
}

std::optional<VolumeInfo> VolumeStore::find(const std::string& name) const {
    if (!is_valid_object_name(name, 255) || !stdfs::is_directory(root_ / name / "_data")) return std::nullopt;
    VolumeInfo v;
    v.name = name;
    v.mountpoint = (root_ / name / "_data").string();
    // Volumes made before volume.json existed have only _data: they list all the same.
    stdfs::path meta_path = root_ / name / "volume.json";
    json meta = stdfs::exists(meta_path) ? json::parse(fs::read_file(meta_path, 1 << 20), nullptr, false) : json();
    if (meta.is_object()) {
        v.created = meta.value("CreatedAt", "");
        v.labels = meta.value("Labels", std::map<std::string, std::string>{});
        v.options = meta.value("Options", std::map<std::string, std::string>{});
        v.anonymous = meta.value("Anonymous", false);
    }
    if (v.created.empty()) {  // made before volumes had metadata: the directory's time
        struct stat st {};
        if (::stat(v.mountpoint.c_str(), &st) == 0) v.created = rfc3339_seconds(st.st_mtime);
    }
    return v;
}

VolumeInfo VolumeStore::get(const std::string& name) const {
    auto v = find(name);
    if (!v) throw Error("no such volume: " + name, ErrorKind::NotFound);
    return *v;
}

std::vector<VolumeInfo> VolumeStore::list() const {
    std::vector<VolumeInfo> out;
    std::error_code ec;
    for (auto& e : stdfs::directory_iterator(root_, ec))
        if (auto v = find(e.path().filename().string())) out.push_back(*v);
    std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.name < b.name; });
    return out;
}

std::vector<std::string> volume_users(const std::string& volume, const std::vector<ContainerRecord>& containers) {
    std::vector<std::string> ids;
    for (auto& c : containers)
        if (std::find(c.volumes.begin(), c.volumes.end(), volume) != c.volumes.end()) ids.push_back(c.id);
    return ids;
}

void VolumeStore::remove(const std::string& name, const std::vector<ContainerRecord>& containers, bool force) {
    get(name);
    auto users = volume_users(name, containers);
    if (!users.empty() && !force) {
        std::string list;
        for (auto& u : users) list += (list.empty() ? "" : ", ") + u.substr(0, 12);
        throw Error("remove " + name + ": volume is in use - [" + list + "]", ErrorKind::Conflict);
    }
    // Renamed out of sight first, so a half-removed volume is never listed or mounted.
    stdfs::path doomed = root_ / (".removing-" + name + "-" + fs::unique_suffix());
    stdfs::rename(root_ / name, doomed);
    stdfs::remove_all(doomed);
    events::record(root_.parent_path(), {"volume", "destroy", name, {{"driver", "local"}}, 0});
}

std::vector<std::string> VolumeStore::prune(const std::vector<ContainerRecord>& containers, bool all,
                                            uint64_t& bytes_freed) {
    std::vector<std::string> removed;
    bytes_freed = 0;
    for (auto& v : list()) {
        if (!volume_users(v.name, containers).empty()) continue;
        if (!all && !v.anonymous) continue;
        uint64_t bytes = tree_bytes(v.mountpoint);
        remove(v.name, containers);
        bytes_freed += bytes;
        removed.push_back(v.name);
    }
    return removed;
}

}  // namespace minirun::engine
