#pragma once
// `minirun cp`: files between the host and a container, with `docker cp`'s rules
// (common/tree_copy.hpp). A running container is reached through /proc/PID/root, so its
// volumes and binds are seen as its processes see them; a stopped one through its root
// filesystem (mounted again when it is not). Paths on the container's side resolve
// inside it: its symlinks and ".." cannot lead to the host.
#include <string>

namespace minirun::engine {

class Engine;

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
// unknown container or a missing source.
void copy_files(Engine& engine, const CopyRequest& req);

}  // namespace minirun::engine
