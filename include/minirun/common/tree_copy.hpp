#pragma once
// Copies a file or a tree between two roots with `docker cp`'s rules (and `cp -a`'s
// fidelity: modes, times, symlinks, device nodes, fifos). Each side is a path resolved
// inside a root directory fd (openat2 RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), and every
// step below it is one name opened with O_NOFOLLOW relative to its parent: neither the
// untrusted side's symlinks, "..", /proc magic links nor a rename racing the copy can make
// a read or a write leave its root.
#include <sys/types.h>

#include <optional>
#include <string>

namespace minirun {

struct RootedPath {
    int root_fd;       // a directory (O_PATH is enough)
    std::string path;  // absolute inside the root; "/." at the end: a directory's contents
    std::string label; // for errors: "web:/etc/app.conf", "/srv/in"
};

struct TreeCopyOptions {
    bool follow_source_link = false;  // -L: copy what a symlink SRC points at
    // The owner of what is written; nullopt keeps the source's (-a).
    std::optional<std::pair<uid_t, gid_t>> owner;
    unsigned max_depth = 512;         // deeper trees are refused, not recursed into
};

// Docker's rules: a file onto a missing path becomes that file (its directory must exist;
// a missing path ending in "/" is an error), onto a file replaces it, into a directory
// keeps its name; a directory onto a missing path becomes it, into a directory goes under
// its own name (its contents only when SRC ends in "/."), onto a file is an error.
// Throws Error naming the side (its label) and what failed.
void copy_tree(const RootedPath& src, const RootedPath& dst, const TreeCopyOptions& opts);

}  // namespace minirun
