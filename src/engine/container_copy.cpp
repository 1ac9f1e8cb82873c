#include "minirun/engine/container_copy.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>

#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/common/tree_copy.hpp"
#include "minirun/engine/engine.hpp"
#include "minirun/engine/rootfs.hpp"
#include "minirun/runtime/state.hpp"

namespace minirun::engine {

namespace stdfs = std::filesystem;

CopyEnd parse_copy_end(const std::string& arg) {
    if (arg.empty()) throw Error("cp: empty path", ErrorKind::InvalidArgument);
    if (arg == "-") throw Error("cp: \"-\" (a tar stream) is not supported; name a file or directory", ErrorKind::InvalidArgument);
    auto colon = arg.find(':');
    if (arg[0] == '/' || arg[0] == '.' || colon == std::string::npos || colon == 0) return {"", arg};
    std::string path = arg.substr(colon + 1);
    if (path.empty()) throw Error("cp: " + arg + ": no path after the container name", ErrorKind::InvalidArgument);
    return {arg.substr(0, colon), path};
}

namespace {

// The directory the container's "/" is: its init's root while it runs, else its rootfs.
fs::UniqueFd container_root(Engine& engine, const ContainerRecord& rec) {
    if (rec.status == "running" || rec.status == "restarting") {
        fs::UniqueFd root(::open(("/proc/" + std::to_string(rec.pid) + "/root").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        // Checked after the open: a pid reused by another process between the two is caught.
        if (root && runtime::process_alive(rec.pid, rec.pid_start)) return root;
    }
    std::string dir = engine.containers().dir(rec.id).string();
    if (!rootfs_mounted(dir)) mount_rootfs((engine.storage() / "layers").string(), rec.layers, dir);
    fs::UniqueFd root(::open((dir + "/rootfs").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) throw_errno("open the root of container " + rec.name);
    return root;
}

}  // namespace

void copy_files(Engine& engine, const CopyRequest& req) {
    bool src_in = !req.src.container.empty(), dst_in = !req.dst.container.empty();
    if (src_in == dst_in)
        throw Error(src_in ? "cp: copying between containers is not supported"
                           : "cp: one of SRC and DEST must be CONTAINER:PATH",
                    ErrorKind::InvalidArgument);
    const CopyEnd& inside = src_in ? req.src : req.dst;
    const CopyEnd& outside = src_in ? req.dst : req.src;
    ContainerRecord rec = engine.refresh(engine.containers().find(inside.container));
    fs::UniqueFd croot = container_root(engine, rec);
    fs::UniqueFd hroot(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!hroot) throw_errno("open /");
    // Container paths are relative to its "/", host paths to the working directory; a
    // trailing "/" or "/." means what it says, so the text is kept as typed.
    std::string cpath = inside.path[0] == '/' ? inside.path : "/" + inside.path;
    std::string hpath = outside.path[0] == '/' ? outside.path : stdfs::current_path().string() + "/" + outside.path;
    RootedPath c{croot.get(), cpath, inside.container + ":" + inside.path};
    RootedPath h{hroot.get(), hpath, outside.path};
    TreeCopyOptions o;
    o.follow_source_link = req.follow_link;
    // Docker: root inside the container, the caller on the host; -a keeps the source's.
    if (!req.archive) o.owner = src_in ? std::pair<uid_t, gid_t>{::geteuid(), ::getegid()} : std::pair<uid_t, gid_t>{0, 0};
    if (src_in)
        copy_tree(c, h, o);
    else
        copy_tree(h, c, o);
}

}  // namespace minirun::engine
