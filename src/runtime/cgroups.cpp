// Cgroup lifetime: locating the per-hierarchy dirs, creating them (cpuset inheritance
// on v1, controller delegation on v2), joining processes, listing and removal.
#include "minirun/runtime/cgroups.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <functional>
#include <set>
#include <sstream>
#include <thread>

#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/common/log.hpp"

namespace minirun::runtime {

namespace stdfs = std::filesystem;

namespace {

std::vector<std::string> words(const std::string& text) {
    std::istringstream in(text);
    std::vector<std::string> out;
    for (std::string w; in >> w;) out.push_back(w);
    return out;
}

// Calls fn(parent, dir) for each level of `path` below `mount`, top-down.
void for_each_level(const std::string& mount, const std::string& path,
                    const std::function<void(const std::string&, const std::string&)>& fn) {
    std::string parent = mount;
    for (size_t pos = 1; pos <= path.size(); ++pos) {
        if (pos != path.size() && path[pos] != '/') continue;
        std::string dir = mount + path.substr(0, pos);
        fn(parent, dir);
        parent = dir;
    }
}

// mkdir that tolerates an existing dir; records the ones it made for rollback.
void make_dir(const std::string& dir, std::vector<std::string>& made) {
    if (::mkdir(dir.c_str(), 0755) == 0) {
        made.push_back(dir);
    } else if (errno != EEXIST) {
        throw_errno("cgroup: mkdir " + dir);
    }
}

// A v1 cpuset cgroup starts with empty cpus/mems and refuses processes until set.
void inherit_cpuset(const std::string& parent, const std::string& dir) {
    for (const char* file : {"cpuset.cpus", "cpuset.mems"}) {
        if (!cgroupfs::trim(cgroupfs::read(dir, file).value_or("")).empty()) continue;
        std::string value = cgroupfs::trim(cgroupfs::read(parent, file).value_or(""));
        if (!value.empty()) cgroupfs::write(dir, file, value);
    }
}

// v2 only lets a cgroup use controllers its parent delegates in subtree_control.
// Each is enabled on its own so one refusal (e.g. cpu with RT tasks) spares the rest.
void delegate_controllers(const std::string& parent) {
    auto available = words(cgroupfs::read(parent, "cgroup.controllers").value_or(""));
    auto enabled = words(cgroupfs::read(parent, "cgroup.subtree_control").value_or(""));
    for (auto& c : available) {
        if (std::find(enabled.begin(), enabled.end(), c) != enabled.end()) continue;
        try {
            cgroupfs::write(parent, "cgroup.subtree_control", "+" + c);
        } catch (const Error& e) {
            log::debug(e.what());
        }
    }
}

void collect_pids(const std::string& dir, std::set<pid_t>& out) {
    std::istringstream in(cgroupfs::read(dir, "cgroup.procs").value_or(""));
    for (long pid; in >> pid;) out.insert(static_cast<pid_t>(pid));
    std::error_code ec;
    for (auto& e : stdfs::directory_iterator(dir, ec)) {
        if (e.is_directory(ec) && !e.is_symlink(ec)) collect_pids(e.path().string(), out);
    }
}

// rmdir with a short backoff: EBUSY lasts until exiting tasks have left the cgroup.
void rmdir_retry(const std::string& dir, std::chrono::steady_clock::time_point deadline) {
    auto delay = std::chrono::milliseconds(1);
    while (::rmdir(dir.c_str()) != 0) {
        if (errno == ENOENT) return;
        if (errno != EBUSY || std::chrono::steady_clock::now() >= deadline) {
            std::set<pid_t> left;
            collect_pids(dir, left);
            throw Error(errno_message("cgroup: rmdir " + dir, errno) + " (" + std::to_string(left.size()) +
                        " processes inside)");
        }
        std::this_thread::sleep_for(delay);
        delay = std::min(delay * 2, std::chrono::milliseconds(100));
    }
}

// Sub-cgroups (made inside the container) must go before their parent.
void remove_tree(const std::string& dir, std::chrono::steady_clock::time_point deadline) {
    // Usually a leaf: one rmdir, no listing of its dozens of control files.
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return;
    std::error_code ec;
    std::vector<std::string> children;
    for (auto& e : stdfs::directory_iterator(dir, ec)) {
        if (e.is_directory(ec) && !e.is_symlink(ec)) children.push_back(e.path().string());
    }
    for (auto& c : children) remove_tree(c, deadline);
    rmdir_retry(dir, deadline);
}

bool dir_exists(const std::string& dir) {
    struct stat st {};
    return ::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

Cgroup Cgroup::resolve(const CgroupMounts& mounts, const std::string& path, const std::string& id) {
    Cgroup cg;
    cg.layout_ = layout_of(mounts);
    cg.path_ = normalize_cgroup_path(path, id);
    if (cg.layout_ != CgroupLayout::v2) {
        for (auto& m : mounts.v1) {
            for (auto& c : m.controllers) cg.v1_dirs_[c] = m.mount_point + cg.path_;
        }
    }
    if (mounts.v2) {
        cg.v2_dir_ = mounts.v2->mount_point + cg.path_;
        cg.v2_controllers_ = words(cgroupfs::read(mounts.v2->mount_point, "cgroup.controllers").value_or(""));
    }
    return cg;
}

Cgroup Cgroup::create(const std::string& path, const std::string& id) { return create(read_cgroup_mounts(), path, id); }

Cgroup Cgroup::open(const std::string& path, const std::string& id) { return open(read_cgroup_mounts(), path, id); }

Cgroup Cgroup::create(const CgroupMounts& mounts, const std::string& path, const std::string& id) {
    Cgroup cg = resolve(mounts, path, id);
    std::vector<std::string> made;
    try {
        std::set<std::string> done;
        for (auto& [ctrl, dir] : cg.v1_dirs_) {
            if (!done.insert(dir).second) continue;  // co-mounted controllers share a dir
            std::string mount = dir.substr(0, dir.size() - cg.path_.size());
            bool cpuset = cg.v1_dirs_.count("cpuset") && cg.v1_dirs_.at("cpuset") == dir;
            for_each_level(mount, cg.path_, [&](const std::string& parent, const std::string& d) {
                make_dir(d, made);
                if (cpuset) inherit_cpuset(parent, d);
            });
        }
        if (!cg.v2_dir_.empty()) {
            std::string mount = cg.v2_dir_.substr(0, cg.v2_dir_.size() - cg.path_.size());
            for_each_level(mount, cg.path_, [&](const std::string& parent, const std::string& d) {
                delegate_controllers(parent);
                make_dir(d, made);
            });
        }
    } catch (...) {
        for (auto it = made.rbegin(); it != made.rend(); ++it) ::rmdir(it->c_str());
        throw;
    }
    log::debug("cgroup: created " + cg.path_ + " (" + to_string(cg.layout_) + ")");
    return cg;
}

Cgroup Cgroup::open(const CgroupMounts& mounts, const std::string& path, const std::string& id) {
    Cgroup cg = resolve(mounts, path, id);
    std::erase_if(cg.v1_dirs_, [](const auto& kv) { return !dir_exists(kv.second); });
    if (!cg.v2_dir_.empty() && !dir_exists(cg.v2_dir_)) {
        cg.v2_dir_.clear();
        cg.v2_controllers_.clear();
    }
    if (cg.v1_dirs_.empty() && cg.v2_dir_.empty()) throw Error("cgroup: " + cg.path_ + " does not exist");
    return cg;
}

std::string Cgroup::dir_for(const std::string& controller) const {
    if (auto it = v1_dirs_.find(controller); it != v1_dirs_.end()) return it->second;
    bool in_v2 = std::find(v2_controllers_.begin(), v2_controllers_.end(), controller) != v2_controllers_.end();
    return in_v2 ? v2_dir_ : std::string();
}

std::map<std::string, std::string> Cgroup::paths() const {
    auto out = v1_dirs_;
    if (!v2_dir_.empty()) {
        out["unified"] = v2_dir_;
        for (auto& c : v2_controllers_) out.emplace(c, v2_dir_);
    }
    return out;
}

std::vector<std::string> Cgroup::all_dirs() const {
    std::vector<std::string> out;
    for (auto& [ctrl, dir] : v1_dirs_) {
        if (std::find(out.begin(), out.end(), dir) == out.end()) out.push_back(dir);
    }
    if (!v2_dir_.empty()) out.push_back(v2_dir_);
    return out;
}

void Cgroup::add_process(pid_t pid) {
    for (auto& dir : all_dirs()) cgroupfs::write(dir, "cgroup.procs", std::to_string(pid));
}

std::vector<pid_t> Cgroup::pids() const {
    // Union over hierarchies: cheap, and robust if a process joined only some.
    std::set<pid_t> all;
    for (auto& dir : all_dirs()) collect_pids(dir, all);
    return {all.begin(), all.end()};
}

void Cgroup::destroy(bool kill_remaining) {
    if (kill_remaining) kill_all(SIGKILL);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    for (auto& dir : all_dirs()) {
        if (dir_exists(dir)) remove_tree(dir, deadline);
    }
    log::debug("cgroup: removed " + path_);
}

}  // namespace minirun::runtime
