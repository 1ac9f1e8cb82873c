#pragma once
// Building a container's root filesystem inside its new mount namespace: the mounts
// of config.json, default devices, pivot_root, masked and read-only paths.
// Every destination is resolved inside the rootfs with openat2(RESOLVE_IN_ROOT) and
// mounted through its /proc/self/fd path, so a symlink swapped in between check and
// use cannot redirect a mount outside the rootfs (CVE-2021-30465).
#include <sys/types.h>

#include <string>
#include <vector>

#include "minirun/runtime/spec.hpp"

namespace minirun::runtime {

struct MountFlags {
    unsigned long flags = 0;          // MS_* applied on mount
    unsigned long clear = 0;          // MS_* explicitly cleared (rw, suid…)
    unsigned long propagation = 0;    // MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE (| MS_REC)
    std::string data;                 // filesystem options passed through
    bool bind = false;
    bool recursive = false;
};

// Translates config.json mount options ("ro", "rbind", "mode=755", …).
MountFlags parse_mount_options(const std::vector<std::string>& options);
unsigned long parse_propagation(const std::string& value);  // "rslave" → MS_SLAVE|MS_REC; throws

// Opens `path` (relative to the rootfs, may contain symlinks) strictly inside root_fd,
// creating missing parent directories and, when create_as_file, the last component as
// an empty file (else as a directory). Returns an O_PATH fd.
int open_in_root(int root_fd, const std::string& path, bool create, bool create_as_file);

struct RootfsPlan {
    std::string rootfs;  // absolute host path
    const Spec* spec = nullptr;
    bool user_namespace = false;  // devices are bind-mounted, not created
    std::string cgroup_v2_dir;    // the container's cgroup dirs, for `cgroup` mounts
    std::vector<std::pair<std::string, std::string>> cgroup_v1_dirs;  // (mount name, host dir)
};

// Everything up to, not including, pivot_root. Throws Error("mount X on Y: reason").
void prepare_rootfs(const RootfsPlan& plan);
// pivot_root into the rootfs (or chroot with no_pivot) and detach the old root.
void enter_rootfs(const std::string& rootfs, bool no_pivot);
// After pivot: masked paths, read-only paths, read-only root.
void finish_rootfs(const Spec& spec);

}  // namespace minirun::runtime
