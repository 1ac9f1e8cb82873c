#include "minirun/engine/container_copy.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/common/tree_copy.hpp"
#include "minirun/engine/engine.hpp"
#include "minirun/engine/rootfs.hpp"
#include "minirun/image/unpack.hpp"
#include "minirun/runtime/state.hpp"

namespace minirun::engine {

namespace stdfs = std::filesystem;

CopyEnd parse_copy_end(const std::string& arg) {
    if (arg.empty()) throw Error("cp: empty path", ErrorKind::InvalidArgument);
    if (arg == "-") return {"", "-"};  // a tar stream on stdin or stdout
    auto colon = arg.find(':');
    if (arg[0] == '/' || arg[0] == '.' || colon == std::string::npos || colon == 0) return {"", arg};
    std::string path = arg.substr(colon + 1);
    if (path.empty()) throw Error("cp: " + arg + ": no path after the container name", ErrorKind::InvalidArgument);
    return {arg.substr(0, colon), path};
}

fs::UniqueFd container_root(Engine& engine, const ContainerRecord& rec) {
    if (rec.status == "running" || rec.status == "restarting") {
        fs::UniqueFd root(::open(("/proc/" + std::to_string(rec.pid) + "/root").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        // Checked after the open: a pid reused by another process between the two is caught.
        if (root && runtime::process_alive(rec.pid, rec.pid_start)) return root;
    }
    std::string dir = engine.containers().dir(rec.id).string();
    if (!rootfs_ready(dir)) mount_rootfs((engine.storage() / "layers").string(), rec.layers, dir);
    fs::UniqueFd root(::open((dir + "/rootfs").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) throw_errno("open the root of container " + rec.name);
    return root;
}

void throw_copy_missing(const std::string& label, const std::string& what) {
    int e = errno;
    if (e == ENOENT) throw Error("cp: " + label + ": no such file or directory", ErrorKind::NotFound);
    if (e == ENOTDIR) throw Error("cp: " + label + ": " + what + " is not a directory", ErrorKind::InvalidArgument);
    throw_errno("cp: " + label);
}

namespace {

// `cp - CONTAINER:DIR`: a tar stream from stdin extracted into DIR with the layer unpacker's
// guards (nothing written outside DIR, sizes bounded), owners kept with -a, else root.
void stream_in(int croot, const std::string& cpath, const std::string& label, bool archive, int in_fd) {
    fs::UniqueFd dir(fs::open_in_root(croot, cpath, O_RDONLY | O_DIRECTORY));
    if (!dir) {
        if (errno == ENOTDIR) throw Error("cp: " + label + ": the destination of a tar stream must be a directory", ErrorKind::InvalidArgument);
        throw_copy_missing(label, "it");
    }
    image::UnpackOptions uo = image::default_unpack_options("tar stream for " + label);
    uo.overlay_whiteouts = false;  // ".wh." names are plain files here
    uo.preserve_owners = archive && ::geteuid() == 0;
    image::unpack_layer(in_fd, "/proc/self/fd/" + std::to_string(dir.get()), uo);
}

}  // namespace

void copy_files(Engine& engine, const CopyRequest& req) {
    bool src_stream = req.src.container.empty() && req.src.path == "-";
    bool dst_stream = req.dst.container.empty() && req.dst.path == "-";
    if (src_stream || dst_stream) {
        const CopyEnd& inside = src_stream ? req.dst : req.src;
        if (inside.container.empty())
            throw Error("cp: \"-\" (a tar stream) needs CONTAINER:PATH on the other side", ErrorKind::InvalidArgument);
        ContainerRecord rec = engine.refresh(engine.containers().find(inside.container));
        fs::UniqueFd croot = container_root(engine, rec);
        std::string cpath = inside.path[0] == '/' ? inside.path : "/" + inside.path;
        std::string label = inside.container + ":" + inside.path;
        if (dst_stream)
            throw Error("cp: " + label + " -: the tar writer is imgbuild's (`minirun cp` hands this form over to it)",
                        ErrorKind::InvalidArgument);
        stream_in(croot.get(), cpath, label, req.archive, STDIN_FILENO);
        return;
    }
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
