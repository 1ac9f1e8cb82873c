#pragma once
// `minirun cp`: files between the host and a container, with `docker cp`'s rules
// (common/tree_copy.hpp). A running container is reached through /proc/PID/root, so its
// volumes and binds are seen as its processes see them; a stopped one through its root
// filesystem (mounted again when it is not). Paths on the container's side resolve
// inside it: its symlinks and ".." cannot lead to the host.
#include <string>

#include "minirun/common/fs.hpp"

namespace minirun::engine {

class Engine;
struct ContainerRecord;

// One side of `cp`: "CONTAINER:PATH", or a host path (an argument starting with "/" or
// "." is always a host path, as in Docker).
struct CopyEnd {
    std::string container;  // empty: the host
    std::string path;
};
CopyEnd parse_copy_end(const std::string& arg);

struct CopyRequest {
    CopyEnd src, dst;
    bool archive = false;      // -a: keep the source's owners (else root inside, the caller outside)
    bool follow_link = false;  // -L
};

// Throws Error(InvalidArgument) unless exactly one side is a container; NotFound for an
// unknown container or a missing source. SRC "-": a tar stream from stdin extracted into
// the container's directory DEST (the layer unpacker's guards). DEST "-" is imgbuild's
// (imgbuild/container_tar.hpp): the tar writer is not linked into minirun.
void copy_files(Engine& engine, const CopyRequest& req);

// The directory the container's "/" is (O_PATH): its init's root while it runs (volumes and
// binds as its processes see them), else its root filesystem, mounted again if need be.
fs::UniqueFd container_root(Engine& engine, const ContainerRecord& rec);
// Throws the error for a path of `label` that could not be opened (errno): NotFound for
// ENOENT, "<what> is not a directory" for ENOTDIR.
[[noreturn]] void throw_copy_missing(const std::string& label, const std::string& what);

}  // namespace minirun::engine
