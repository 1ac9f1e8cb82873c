#include "minirun/engine/rootfs.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/common/log.hpp"
#include "minirun/common/process.hpp"

namespace minirun::engine {

namespace stdfs = std::filesystem;

namespace {

// Beside rootfs/ when it is a complete private copy rather than an overlay mount.
constexpr const char* kRootfsCopyMarker = "rootfs.copied";

// A diff id's directory name under layers/: its hex, checked (it comes from a record).
std::string layer_name(const std::string& diff_id) {
    std::string hex = diff_id.rfind("sha256:", 0) == 0 ? diff_id.substr(7) : "";
    if (hex.size() != 64 || hex.find_first_not_of("0123456789abcdef") != std::string::npos)
        throw Error("invalid layer id " + diff_id);
    return hex;
}

// Overlay's own limit on stacked lower layers (OVL_MAX_STACK).
constexpr size_t kMaxOverlayLayers = 500;

// The new mount API takes one lower dir per call ("lowerdir+", Linux 6.8), so the option
// page limit does not apply: images of more than ~60 layers mount too.
void mount_layers_one_by_one(const std::string& layers_dir, const std::vector<std::string>& lowers, const OverlayDirs& d) {
    fs::UniqueFd fsfd(::fsopen("overlay", FSOPEN_CLOEXEC));
    if (!fsfd) throw_errno("mount overlay on " + d.target + " (" + std::to_string(lowers.size()) + " layers)");
    auto set = [&](const char* key, const std::string& value) {
        if (::fsconfig(fsfd.get(), FSCONFIG_SET_STRING, key, value.c_str(), 0) == 0) return;
        int err = errno;
        if (std::string(key) == "lowerdir+" && err == EINVAL)
            throw Error("mount overlay on " + d.target + ": " + std::to_string(lowers.size()) +
                        " layers need Linux 6.8 or later (one page of mount options holds about 60)");
        throw_errno("mount overlay on " + d.target + ": " + key + " " + value, err);
    };
    for (const auto& lower : lowers) set("lowerdir+", lower[0] == '/' ? lower : layers_dir + "/" + lower);
    if (!d.upper.empty()) {
        set("upperdir", d.upper);
        set("workdir", d.work);
    }
    if (::fsconfig(fsfd.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) throw_errno("mount overlay on " + d.target);
    fs::UniqueFd mnt(::fsmount(fsfd.get(), FSMOUNT_CLOEXEC, d.upper.empty() ? MOUNT_ATTR_RDONLY : 0));
    if (!mnt) throw_errno("mount overlay on " + d.target);
    if (::move_mount(mnt.get(), "", AT_FDCWD, d.target.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0)
        throw_errno("mount overlay on " + d.target);
}

}  // namespace

// Overlay options are limited to one page: with the layers dir as cwd, each lowerdir is
// just its 64-hex name (about 60 layers fit); more go one by one, above.
void mount_layers(const std::string& layers_dir, const std::vector<std::string>& diff_ids, const OverlayDirs& d) {
    std::vector<std::string> lowers;  // topmost first, as overlay stacks them
    for (auto it = diff_ids.rbegin(); it != diff_ids.rend(); ++it) lowers.push_back(layer_name(*it));
    lowers.insert(lowers.end(), d.extra_lower.begin(), d.extra_lower.end());
    if (lowers.size() > kMaxOverlayLayers)
        throw Error("mount overlay on " + d.target + ": " + std::to_string(lowers.size()) + " layers, overlay stacks at most " +
                    std::to_string(kMaxOverlayLayers));
    std::string lower;
    for (const auto& l : lowers) lower += (lower.empty() ? "" : ":") + l;
    std::string opts = "lowerdir=" + lower;
    if (!d.upper.empty()) opts += ",upperdir=" + d.upper + ",workdir=" + d.work;
    if (opts.size() >= static_cast<size_t>(::getpagesize())) return mount_layers_one_by_one(layers_dir, lowers, d);
    fs::UniqueFd cwd(::open(".", O_DIRECTORY | O_PATH | O_CLOEXEC));
    if (::chdir(layers_dir.c_str()) != 0) throw_errno("chdir to " + layers_dir);
    int rc = ::mount("overlay", d.target.c_str(), "overlay", d.upper.empty() ? MS_RDONLY : 0, opts.c_str());
    int err = errno;
    if (cwd) (void)!::fchdir(cwd.get());
    if (rc != 0) throw_errno("mount overlay on " + d.target, err);
}

namespace {

void copy_layers(const std::string& layers_dir, const std::vector<std::string>& diff_ids, const std::string& dir) {
    // No overlay (e.g. an overlay upper on overlay): a private copy, whiteouts applied.
    for (auto& id : diff_ids) {
        auto r = run_process({"cp", "-a", "--reflink=auto", layers_dir + "/" + layer_name(id) + "/.", dir + "/rootfs/"});
        if (r.exit_code != 0) throw Error("copy layer " + id + ": " + r.err);
        auto wh = run_process({"find", dir + "/rootfs", "-type", "c", "-empty"});
        // Char devices 0:0 are whiteouts: remove them and what they hide (already gone).
        std::istringstream in(wh.out);
        for (std::string p; std::getline(in, p);) {
            struct stat st {};
            if (::lstat(p.c_str(), &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == 0) ::unlink(p.c_str());
        }
    }
}

}  // namespace

void mount_rootfs(const std::string& layers_dir, const std::vector<std::string>& diff_ids, const std::string& dir) {
    for (auto sub : {"rootfs", "upper", "work"}) fs::mkdir_p(dir + "/" + sub);
    if (diff_ids.empty()) return;  // FROM scratch with nothing: an empty root
    try {
        mount_layers(layers_dir, diff_ids, {dir + "/upper", dir + "/work", dir + "/rootfs", {}});
    } catch (const Error& e) {
        log::warn(std::string(e.what()) + "; using a private copy of the layers");
        copy_layers(layers_dir, diff_ids, dir);
        // The copy is the container's filesystem from now on: a restart keeps it (and its
        // changes) instead of copying the layers over it again.
        fs::write_file_atomic(dir + "/" + kRootfsCopyMarker, "", 0644, false);
    }
}

bool rootfs_ready(const std::string& dir) {
    return rootfs_mounted(dir) || ::access((dir + "/" + kRootfsCopyMarker).c_str(), F_OK) == 0;
}

bool rootfs_mounted(const std::string& dir) {
    struct stat a {}, b {};
    return ::stat((dir + "/rootfs").c_str(), &a) == 0 && ::stat(dir.c_str(), &b) == 0 && a.st_dev != b.st_dev;
}

void unmount_rootfs(const std::string& dir) {
    if (!rootfs_mounted(dir)) return;
    if (::umount2((dir + "/rootfs").c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
        throw_errno("unmount " + dir + "/rootfs");
}

void seed_volume(const std::string& rootfs, const std::string& path, const std::string& volume_dir) {
    std::string src = rootfs + path;
    struct stat st {};
    if (::lstat(src.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return;
    auto r = run_process({"cp", "-a", src + "/.", volume_dir + "/"});
    if (r.exit_code != 0) throw Error("seed volume from " + path + ": " + r.err);
}

}  // namespace minirun::engine
