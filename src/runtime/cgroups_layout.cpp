// Layout detection from mountinfo, cgroupsPath normalisation and the unit
// conversions runc/crun use between v1 and v2 values.
#include <algorithm>
#include <array>
#include <set>
#include <sstream>

#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/runtime/cgroups.hpp"
#include "minirun/common/strings.hpp"

namespace minirun::runtime {

namespace {

// Only these mount options are v1 controllers; the rest (rw, relatime, xattr,
// release_agent=…) are options. Named hierarchies ("name=systemd") count too.
constexpr std::array kV1Controllers = {"blkio",   "cpu",    "cpuacct", "cpuset",     "devices", "freezer", "hugetlb",
                                       "memory",  "misc",   "net_cls", "net_prio",   "perf_event", "pids", "rdma",
                                       "debug"};

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size() &&
            std::all_of(s.begin() + i + 1, s.begin() + i + 4, [](char c) { return c >= '0' && c <= '7'; })) {
            out += static_cast<char>(std::stoi(s.substr(i + 1, 3), nullptr, 8));
            i += 3;
        } else {
            out += s[i];
        }
    }
    return out;
}

std::vector<std::string> v1_controllers_of(const std::string& super_opts) {
    std::vector<std::string> out;
    for (auto& opt : split(super_opts, ',')) {
        bool known = std::find(kV1Controllers.begin(), kV1Controllers.end(), opt) != kV1Controllers.end();
        if (known || opt.rfind("name=", 0) == 0) out.push_back(opt);
    }
    std::sort(out.begin(), out.end());
    return out;
}

// Preference for the cgroup2 mount when several exist (containers may bind more).
int v2_rank(const std::string& mount_point) {
    if (mount_point == "/sys/fs/cgroup") return 0;
    if (mount_point == "/sys/fs/cgroup/unified") return 1;
    return 2;
}

bool has_real_controller(const CgroupMount& m) {
    return std::any_of(m.controllers.begin(), m.controllers.end(),
                       [](const std::string& c) { return c.rfind("name=", 0) != 0; });
}

}  // namespace

CgroupMounts parse_cgroup_mounts(std::string_view mountinfo) {
    CgroupMounts out;
    std::set<std::vector<std::string>> seen;
    std::istringstream in{std::string(mountinfo)};
    for (std::string line; std::getline(in, line);) {
        // id parent maj:min root mount_point opts [optional…] - fstype source super_opts
        auto fields = split(line, ' ');
        auto dash = std::find(fields.begin(), fields.end(), "-");
        if (fields.size() < 5 || dash == fields.end() || fields.end() - dash < 4) continue;
        const std::string& fstype = dash[1];
        std::string mount_point = unescape(fields[4]);
        if (fstype == "cgroup2") {
            if (!out.v2 || v2_rank(mount_point) < v2_rank(out.v2->mount_point)) out.v2 = CgroupMount{mount_point, {}};
        } else if (fstype == "cgroup") {
            auto ctrls = v1_controllers_of(dash[3]);
            if (ctrls.empty() || !seen.insert(ctrls).second) continue;  // bind mounts of one hierarchy
            out.v1.push_back(CgroupMount{mount_point, std::move(ctrls)});
        }
    }
    return out;
}

CgroupLayout layout_of(const CgroupMounts& mounts) {
    bool v1 = std::any_of(mounts.v1.begin(), mounts.v1.end(), has_real_controller);
    if (v1 && mounts.v2) return CgroupLayout::hybrid;
    if (v1) return CgroupLayout::v1;
    if (mounts.v2) return CgroupLayout::v2;
    throw Error("cgroup: no cgroup filesystem is mounted (see /proc/self/mountinfo)");
}

CgroupMounts read_cgroup_mounts() { return parse_cgroup_mounts(fs::read_file("/proc/self/mountinfo")); }
CgroupLayout detect_cgroup_layout() { return layout_of(read_cgroup_mounts()); }

const char* to_string(CgroupLayout layout) {
    switch (layout) {
        case CgroupLayout::v1: return "v1";
        case CgroupLayout::v2: return "v2";
        case CgroupLayout::hybrid: return "hybrid";
    }
    return "?";
}

namespace {

// systemd slice "a-b.slice" lives at /a.slice/a-b.slice; "-.slice" is the root.
std::string expand_slice(const std::string& slice) {
    const std::string suffix = ".slice";
    if (slice.size() <= suffix.size() || slice.compare(slice.size() - suffix.size(), suffix.size(), suffix) != 0 ||
        slice.find('/') != std::string::npos)
        throw Error("cgroup: invalid systemd slice \"" + slice + "\"");
    if (slice == "-.slice") return "";
    std::string base = slice.substr(0, slice.size() - suffix.size());
    std::string path, prefix;
    for (auto& part : split(base, '-')) {
        if (part.empty()) throw Error("cgroup: invalid systemd slice \"" + slice + "\"");
        path += "/" + prefix + part + suffix;
        prefix += part + "-";
    }
    return path;
}

std::string systemd_to_path(const std::string& spec) {
    auto parts = split(spec, ':');
    if (parts.size() != 3 || parts[2].empty())
        throw Error("cgroup: systemd cgroupsPath must be \"slice:prefix:name\", got \"" + spec + "\"");
    std::string slice = expand_slice(parts[0].empty() ? "system.slice" : parts[0]);
    const std::string& name = parts[2];
    if (name.size() > 6 && name.compare(name.size() - 6, 6, ".slice") == 0) return expand_slice(name);
    return slice + "/" + (parts[1].empty() ? name : parts[1] + "-" + name) + ".scope";
}

// Collapses "//" and ".", refuses ".." so a path cannot climb out of the hierarchy.
std::string clean_path(const std::string& raw) {
    std::string out;
    for (auto& part : split(raw, '/')) {
        if (part.empty() || part == ".") continue;
        if (part == "..") throw Error("cgroup: cgroupsPath \"" + raw + "\" must not contain \"..\"");
        out += "/" + part;
    }
    if (out.empty()) throw Error("cgroup: cgroupsPath \"" + raw + "\" names the root cgroup");
    return out;
}

}  // namespace

std::string normalize_cgroup_path(const std::string& path, const std::string& id) {
    if (path.empty()) {
        if (id.empty() || id.find('/') != std::string::npos) throw Error("cgroup: invalid container id \"" + id + "\"");
        return "/minirun/" + id;
    }
    // Relative paths are taken from the hierarchy root, as crun does.
    if (path.find(':') != std::string::npos) return clean_path(systemd_to_path(path));
    return clean_path(path);
}

uint64_t cpu_shares_to_weight(uint64_t shares) {
    shares = std::clamp<uint64_t>(shares, 2, 262144);
    return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t blkio_weight_to_io_weight(uint64_t weight) {
    weight = std::clamp<uint64_t>(weight, 10, 1000);
    return 1 + ((weight - 10) * 9999) / 990;
}

std::optional<std::string> v2_swap_max(std::optional<int64_t> swap, std::optional<int64_t> limit) {
    int64_t s = swap.value_or(0), m = limit.value_or(0);
    // Unlimited memory with no swap given means "both unlimited" (v1 compatibility).
    if (m == -1 && s == 0) return "max";
    if (s == 0) return std::nullopt;
    if (s == -1) return "max";
    if (m == 0 || m == -1) throw Error("cgroup: memory.swap needs a memory limit (cannot convert to memory.swap.max)");
    if (s < m) throw Error("cgroup: memory.swap (memory+swap) must be >= memory.limit");
    return std::to_string(s - m);
}

}  // namespace minirun::runtime
