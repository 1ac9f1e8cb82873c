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

std::string base_of(const std::string& path) { return path.substr(path.rfind('/') + 1); }

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
    if (contents || path == "/" || as == "." || as == "..") as.clear();  // a directory's contents
    // openat2 RESOLVE_IN_ROOT follows a final link (-L) inside the container, as tree_copy does.
    fs::UniqueFd entry(fs::open_in_root(croot.get(), path, O_PATH | (follow_link || as.empty() ? 0 : O_NOFOLLOW)));
    if (!entry) engine::throw_copy_missing(label, errno == ENOTDIR && !as.empty() ? "a parent" : "it");
    if (as.empty()) {
        struct stat st {};
        if (::fstat(entry.get(), &st) != 0 || !S_ISDIR(st.st_mode)) {
            errno = ENOTDIR;
            engine::throw_copy_missing(label, "it");
        }
    }
    image::pack_entry(entry.get(), as, out_fd, label);
}

}  // namespace minirun::imgbuild
