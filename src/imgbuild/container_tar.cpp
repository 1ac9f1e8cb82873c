#include "minirun/imgbuild/container_tar.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/engine/container_copy.hpp"
#include "minirun/engine/container_store.hpp"
#include "minirun/engine/engine.hpp"
#include "minirun/image/layer_pack.hpp"

namespace minirun::imgbuild {

namespace {

std::string parent_of(const std::string& path) {
    auto slash = path.rfind('/');
    return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

std::string base_of(const std::string& path) { return path.substr(path.rfind('/') + 1); }

// -L: where the chain of symlinks at the end of `path` leads, inside the root (each link is
// read and joined here, never followed by the kernel from outside the root).
std::string follow_final_links(int root_fd, std::string path, const std::string& label) {
    for (int hops = 0; hops < 40; ++hops) {
        std::string base = base_of(path);
        if (base.empty() || base == "." || base == "..") return path;
        fs::UniqueFd parent(fs::open_in_root(root_fd, parent_of(path), O_PATH | O_DIRECTORY));
        if (!parent) return path;  // the caller reports the missing path
        char target[4096];
        ssize_t n = ::readlinkat(parent.get(), base.c_str(), target, sizeof target - 1);
        if (n <= 0) return path;  // not a link: the caller packs it
        std::string t(target, static_cast<size_t>(n));
        path = t[0] == '/' ? t : parent_of(path) + "/" + t;
    }
    throw Error("cp: " + label + ": too many levels of symbolic links", ErrorKind::InvalidArgument);
}

}  // namespace

void copy_out_as_tar(const std::filesystem::path& storage, const std::string& container, const std::string& path_arg,
                     bool follow_link, int out_fd) {
    engine::Engine eng(storage, {});
    engine::ContainerRecord rec = eng.refresh(eng.containers().find(container));
    fs::UniqueFd croot = engine::container_root(eng, rec);
    std::string label = container + ":" + path_arg;
    std::string path = path_arg[0] == '/' ? path_arg : "/" + path_arg;
    bool contents = path.size() >= 2 && path.compare(path.size() - 2, 2, "/.") == 0;
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    std::string as = base_of(path);  // the name asked for, also where -L leads elsewhere
    if (follow_link && !contents) path = follow_final_links(croot.get(), path, label);
    std::string base = base_of(path);
    if (contents || path == "/" || base == "." || base == "..") {
        fs::UniqueFd dir(fs::open_in_root(croot.get(), path, O_RDONLY | O_DIRECTORY));
        if (!dir) engine::throw_copy_missing(label, "it");
        image::pack_entry(dir.get(), "", "", out_fd, label);
        return;
    }
    fs::UniqueFd parent(fs::open_in_root(croot.get(), parent_of(path), O_RDONLY | O_DIRECTORY));
    if (!parent) engine::throw_copy_missing(label, "a parent");
    struct stat st {};
    if (::fstatat(parent.get(), base.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) engine::throw_copy_missing(label, "it");
    image::pack_entry(parent.get(), base, as, out_fd, label);
}

}  // namespace minirun::imgbuild
