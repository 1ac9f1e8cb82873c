#include "listing_rows.hpp"

#include <algorithm>
#include <cstdio>

#include "minirun/common/time.hpp"
#include "minirun/network/ports.hpp"

namespace minirun::cli {

using json = nlohmann::json;

namespace {

std::string scaled(double bytes, double base, const char* const* units, int n, int digits) {
    int u = 0;
    while (bytes >= base && u + 1 < n) bytes /= base, ++u;
    char buf[48];
    std::snprintf(buf, sizeof buf, "%.*g%s", digits, bytes, units[u]);
    return buf;
}

// Docker's Ellipsis: at most `width` characters, the last one "…" when cut.
std::string ellipsis(const std::string& s, size_t width) {
    size_t chars = 0, cut = 0;
    for (size_t i = 0; i < s.size(); ++i) {
        if ((s[i] & 0xC0) == 0x80) continue;
        if (++chars == width) cut = i;
    }
    if (chars <= width) return s;
    return s.substr(0, cut) + "…";
}

std::string quote(const std::string& s) { return json(s).dump(); }  // Go's %q agrees for printable text

std::string join_labels(const std::map<std::string, std::string>& labels) {
    std::string out;
    for (auto& [k, v] : labels) out += (out.empty() ? "" : ",") + k + "=" + v;
    return out;
}

format::Methods label_method() {
    format::Methods m;
    m["Label"] = [](const json& self, const std::vector<json>& args) -> json {
        if (args.size() != 1 || !args[0].is_string()) throw std::invalid_argument("Label takes one label name");
        auto labels = self.find("LabelMap");
        if (labels == self.end()) return "";
        auto it = labels->find(args[0].get<std::string>());
        return it == labels->end() ? json("") : *it;
    };
    return m;
}

// Docker's NETWORKS column: the names, sorted, comma-separated.
std::string join_networks(const engine::ContainerRecord& c) {
    std::string out;
    for (auto& n : engine::network_names(c)) out += (out.empty() ? "" : ",") + n;
    return out;
}

}  // namespace

std::string docker_size(double bytes) {
    static const char* const units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
    return scaled(bytes, 1000.0, units, 6, 3);
}

std::string docker_binary_size(double bytes) {
    static const char* const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    return scaled(bytes, 1024.0, units, 6, 4);
}

format::Listing container_listing() {
    format::Listing l;
    l.default_table = "table {{.ID}}\\t{{.Image}}\\t{{.Command}}\\t{{.RunningFor}}\\t{{.Status}}\\t{{.Ports}}\\t{{.Names}}";
    l.headers = {{"ID", "CONTAINER ID"}, {"Image", "IMAGE"},       {"Command", "COMMAND"},   {"CreatedAt", "CREATED AT"},
                 {"RunningFor", "CREATED"}, {"Ports", "PORTS"},     {"State", "STATE"},       {"Status", "STATUS"},
                 {"Size", "SIZE"},        {"Names", "NAMES"},       {"Labels", "LABELS"},     {"Mounts", "MOUNTS"},
                 {"Networks", "NETWORKS"}, {"LocalVolumes", "LOCAL VOLUMES"}};
    l.methods = label_method();
    return l;
}

json container_row(const engine::PsRow& r, bool truncate) {
    const auto& c = r.rec;
    std::string cmd;
    for (auto& a : c.command) cmd += (cmd.empty() ? "" : " ") + a;
    std::string ports;
    for (auto& p : c.ports) ports += (ports.empty() ? "" : ", ") + network::format_port_mapping(p);
    std::string mounts;
    for (auto& v : c.volumes) mounts += (mounts.empty() ? "" : ",") + v;
    for (auto& m : c.mounts) {
        std::string src = m.substr(0, m.find(':'));
        mounts += (mounts.empty() ? "" : ",") + (truncate ? ellipsis(src, 15) : src);
    }
    return {{"ID", truncate ? c.id.substr(0, 12) : c.id},
            {"Image", c.image},
            {"Command", quote(truncate ? ellipsis(cmd, 20) : cmd)},
            {"CreatedAt", docker_time(c.created)},
            {"RunningFor", human_since(c.created)},
            {"Ports", ports},
            {"State", c.status},
            {"Status", r.status_text},
            {"Size", "0B"},
            {"Names", c.name},
            {"Labels", join_labels(c.labels)},
            {"Mounts", mounts},
            {"Networks", join_networks(c)},
            {"LocalVolumes", std::to_string(c.volumes.size())},
            {"LabelMap", c.labels}};
}

format::Listing image_listing(bool digests) {
    format::Listing l;
    l.default_table = digests ? "table {{.Repository}}\\t{{.Tag}}\\t{{.Digest}}\\t{{.ID}}\\t{{.CreatedSince}}\\t{{.Size}}"
                              : "table {{.Repository}}\\t{{.Tag}}\\t{{.ID}}\\t{{.CreatedSince}}\\t{{.Size}}";
    l.headers = {{"ID", "IMAGE ID"},      {"Repository", "REPOSITORY"}, {"Tag", "TAG"},
                 {"Digest", "DIGEST"},    {"CreatedSince", "CREATED"},  {"CreatedAt", "CREATED AT"},
                 {"Size", "SIZE"},        {"Containers", "CONTAINERS"}, {"SharedSize", "SHARED SIZE"},
                 {"UniqueSize", "UNIQUE SIZE"}, {"VirtualSize", "VIRTUAL SIZE"}};
    l.methods = label_method();
    return l;
}

json image_row(const image::ImageSummary& img, bool truncate) {
    std::string id = img.id;
    if (truncate && id.rfind("sha256:", 0) == 0) id = id.substr(7, 12);
    if (!img.damaged.empty()) id = "<damaged>";
    bool dangling = img.name.empty();
    std::string size = dangling || !img.damaged.empty() ? "" : docker_size(static_cast<double>(img.size));
    return {{"ID", id},
            {"Repository", img.repository},
            {"Tag", img.tag},
            {"Digest", img.digest.empty() ? "<none>" : img.digest},
            {"CreatedSince", human_since(img.created)},
            {"CreatedAt", docker_time(img.created)},
            {"Size", size},
            {"VirtualSize", size},
            {"SharedSize", "N/A"},
            {"UniqueSize", "N/A"},
            {"Containers", "N/A"},
            {"LabelMap", img.labels}};
}

format::Listing network_listing() {
    format::Listing l;
    l.default_table = "table {{.ID}}\\t{{.Name}}\\t{{.Driver}}\\t{{.Scope}}";
    l.headers = {{"ID", "NETWORK ID"}, {"Name", "NAME"},         {"Driver", "DRIVER"},     {"Scope", "SCOPE"},
                 {"IPv6", "IPV6"},     {"Internal", "INTERNAL"}, {"Labels", "LABELS"},     {"CreatedAt", "CREATED AT"},
                 {"Subnet", "SUBNET"}, {"Gateway", "GATEWAY"}};
    l.methods = label_method();
    return l;
}

json network_row(const network::NetworkInfo& n, bool truncate) {
    return {{"ID", truncate ? n.id.substr(0, 12) : n.id},
            {"Name", n.name},
            {"Driver", n.driver},
            {"Scope", "local"},
            {"IPv6", "false"},
            {"Internal", "false"},
            {"Labels", ""},
            {"CreatedAt", docker_time(n.created)},
            {"Subnet", n.subnet},
            {"Gateway", n.gateway},
            {"LabelMap", json::object()}};
}

format::Listing volume_listing() {
    format::Listing l;
    l.default_table = "table {{.Driver}}\\t{{.Name}}";
    l.headers = {{"Name", "VOLUME NAME"}, {"Driver", "DRIVER"}, {"Scope", "SCOPE"}, {"Mountpoint", "MOUNTPOINT"},
                 {"Labels", "LABELS"},    {"Links", "LINKS"},   {"Size", "SIZE"},   {"CreatedAt", "CREATED AT"}};
    l.methods = label_method();
    return l;
}

json volume_row(const engine::VolumeInfo& v) {
    return {{"Name", v.name},         {"Driver", v.driver}, {"Scope", "local"}, {"Mountpoint", v.mountpoint},
            {"Labels", join_labels(v.labels)}, {"Links", "N/A"}, {"Size", "N/A"}, {"CreatedAt", docker_time(v.created)},
            {"LabelMap", v.labels}};
}

format::Listing history_listing() {
    format::Listing l;
    l.default_table = "table {{.ID}}\\t{{.CreatedSince}}\\t{{.CreatedBy}}\\t{{.Size}}\\t{{.Comment}}";
    l.headers = {{"ID", "IMAGE"},          {"CreatedSince", "CREATED"}, {"CreatedAt", "CREATED AT"},
                 {"CreatedBy", "CREATED BY"}, {"Size", "SIZE"},         {"Comment", "COMMENT"}};
    return l;
}

std::vector<json> history_rows(const image::StoredImage& img, bool truncate) {
    std::vector<json> rows;
    const auto& layers = img.manifest.layers;
    size_t layer = 0;
    for (auto& h : img.config.history) {
        int64_t size = 0;
        if (!h.empty_layer && layer < layers.size()) size = layers[layer++].size;
        std::string by = h.created_by;
        rows.push_back({{"ID", "<missing>"},
                        {"CreatedSince", human_since(h.created)},
                        {"CreatedAt", docker_time(h.created)},
                        {"CreatedBy", truncate ? ellipsis(by, 45) : by},
                        {"Size", docker_size(static_cast<double>(size))},
                        {"Comment", h.comment}});
    }
    std::reverse(rows.begin(), rows.end());  // newest first
    if (!rows.empty()) {
        std::string id = img.id();
        rows.front()["ID"] = truncate && id.rfind("sha256:", 0) == 0 ? id.substr(7, 12) : id;
    }
    return rows;
}

format::Listing disk_usage_listing() {
    format::Listing l;
    l.default_table = "table {{.Type}}\\t{{.TotalCount}}\\t{{.Active}}\\t{{.Size}}\\t{{.Reclaimable}}";
    l.headers = {{"Type", "TYPE"}, {"TotalCount", "TOTAL"}, {"Active", "ACTIVE"}, {"Size", "SIZE"},
                 {"Reclaimable", "RECLAIMABLE"}};
    return l;
}

json disk_usage_row(const engine::DiskUsageRow& r) {
    std::string reclaimable = docker_size(static_cast<double>(r.reclaimable));
    if (r.size > 0) {  // Docker's "1.2GB (50%)"
        char pct[16];
        std::snprintf(pct, sizeof pct, " (%d%%)", static_cast<int>(100.0 * static_cast<double>(r.reclaimable) / static_cast<double>(r.size)));
        reclaimable += pct;
    }
    return {{"Type", r.type},
            {"TotalCount", std::to_string(r.total)},
            {"Active", std::to_string(r.active)},
            {"Size", docker_size(static_cast<double>(r.size))},
            {"Reclaimable", reclaimable}};
}

nlohmann::json disk_usage_detail_rows(const engine::DiskUsageDetail& d, const std::vector<image::ImageSummary>& images,
                                      const std::vector<engine::PsRow>& containers,
                                      const std::vector<engine::VolumeInfo>& volumes) {
    auto size = [](uint64_t b) { return docker_size(static_cast<double>(b)); };
    json out = {{"Images", json::array()}, {"Containers", json::array()}, {"Volumes", json::array()}, {"BuildCache", json::array()}};
    std::map<std::string, const engine::ImageUsage*> by_image;
    for (auto& u : d.images) by_image[u.id] = &u;
    for (auto& img : images) {
        json row = image_row(img, true);
        auto it = by_image.find(img.id);
        if (it != by_image.end()) {
            row["SharedSize"] = size(it->second->shared_size);
            row["UniqueSize"] = size(it->second->unique_size);
            row["Containers"] = std::to_string(it->second->containers);
        }
        out["Images"].push_back(row);
    }
    std::map<std::string, uint64_t> by_container;
    for (auto& u : d.containers) by_container[u.id] = u.size;
    for (auto& c : containers) {
        json row = container_row(c, true);
        row["Size"] = size(by_container[c.rec.id]);
        out["Containers"].push_back(row);
    }
    std::map<std::string, const engine::VolumeUsage*> by_volume;
    for (auto& u : d.volumes) by_volume[u.name] = &u;
    for (auto& v : volumes) {
        json row = volume_row(v);
        auto it = by_volume.find(v.name);
        if (it != by_volume.end()) {
            row["Links"] = std::to_string(it->second->links);
            row["Size"] = size(it->second->size);
        }
        out["Volumes"].push_back(row);
    }
    for (auto& b : d.build_cache) {
        out["BuildCache"].push_back({{"ID", b.id.substr(0, 12)},
                                     {"CacheType", "regular"},
                                     {"Size", size(b.size)},
                                     {"CreatedSince", human_since(rfc3339_seconds(b.created))},
                                     {"LastUsedSince", human_since(rfc3339_seconds(b.last_used))},
                                     {"Shared", b.shared ? "true" : "false"}});
    }
    return out;
}

format::Listing disk_usage_section(const std::string& section) {
    format::Listing l;
    if (section == "Images") {
        l = image_listing(false);
        l.default_table = "table {{.Repository}}\\t{{.Tag}}\\t{{.ID}}\\t{{.CreatedSince}}\\t{{.Size}}\\t{{.SharedSize}}\\t{{.UniqueSize}}\\t{{.Containers}}";
    } else if (section == "Containers") {
        l = container_listing();
        l.default_table = "table {{.ID}}\\t{{.Image}}\\t{{.Command}}\\t{{.LocalVolumes}}\\t{{.Size}}\\t{{.RunningFor}}\\t{{.Status}}\\t{{.Names}}";
    } else if (section == "Volumes") {
        l = volume_listing();
        l.default_table = "table {{.Name}}\\t{{.Links}}\\t{{.Size}}";
    } else {
        l.default_table = "table {{.ID}}\\t{{.CacheType}}\\t{{.Size}}\\t{{.CreatedSince}}\\t{{.LastUsedSince}}\\t{{.Shared}}";
        l.headers = {{"ID", "CACHE ID"}, {"CacheType", "CACHE TYPE"}, {"Size", "SIZE"}, {"CreatedSince", "CREATED"},
                     {"LastUsedSince", "LAST USED"}, {"Shared", "SHARED"}};
    }
    return l;
}

format::Listing stats_listing() {
    format::Listing l;
    l.default_table =
        "table {{.ID}}\\t{{.Name}}\\t{{.CPUPerc}}\\t{{.MemUsage}}\\t{{.MemPerc}}\\t{{.NetIO}}\\t{{.BlockIO}}\\t{{.PIDs}}";
    l.headers = {{"ID", "CONTAINER ID"}, {"Container", "CONTAINER"}, {"Name", "NAME"},   {"CPUPerc", "CPU %"},
                 {"MemUsage", "MEM USAGE / LIMIT"}, {"MemPerc", "MEM %"}, {"NetIO", "NET I/O"}, {"BlockIO", "BLOCK I/O"},
                 {"PIDs", "PIDS"}};
    return l;
}

json stats_row(const engine::ContainerStats& s) {
    char cpu[32], mem[32];
    std::snprintf(cpu, sizeof cpu, "%.2f%%", s.cpu_percent);
    std::snprintf(mem, sizeof mem, "%.2f%%", s.memory_percent);
    std::string limit = s.memory_limit > 0 ? docker_binary_size(s.memory_limit) : "unlimited";
    return {{"ID", s.id.substr(0, 12)},
            {"Container", s.name},
            {"Name", s.name},
            {"CPUPerc", cpu},
            {"MemUsage", docker_binary_size(static_cast<double>(s.memory_usage)) + " / " + limit},
            {"MemPerc", mem},
            {"NetIO", "--"},
            {"BlockIO", "--"},
            {"PIDs", s.pids}};
}

}  // namespace minirun::cli
