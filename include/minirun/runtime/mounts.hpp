#pragma once
// Building a container's root filesystem inside its new mount namespace: the mounts
// of config.json, default devices, pivot_root, masked and read-only paths.
// Every destination is resolved inside the rootfs with openat2(RESOLVE_IN_ROOT) and
// mounted through its /proc/self/fd path, so a symlink swapped in between check and
// use cannot redirect a mount outside the rootfs (CVE-2021-30465).
#include <sys/types.h>

#include <string>
#include <vector>

#include "minirun/runtime/kernel.hpp"
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
// The MS_NOSUID/NODEV/NOEXEC/RDONLY flags the mount under `path` has: a bind remount
// must keep them (the kernel refuses to clear them in a user namespace).
unsigned long locked_flags(const std::string& path);

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
    // false: config.json lists no mount namespace, so the container shares the runtime's
    // (the spec's "inherit"; crun does the same). Its mounts land there, nothing of the
    // shared root's propagation is touched, and the rootfs is entered with chroot.
    bool mount_namespace = true;
};

// Everything up to, not including, pivot_root: the host's mounts become slave (private
// when asked) so nothing reaches back, the rootfs is bound onto itself, then config.json's
// mounts and the devices (without a mount namespace: only the mounts and devices).
// Throws Error("mount X on Y: reason").
void prepare_rootfs(const RootfsPlan& plan, Kernel& k = host_kernel());
// pivot_root into the rootfs (or chroot with no_pivot, or without a mount namespace),
// detach the old root, then give the new root the propagation config.json asks for
// (linux.rootfsPropagation).
void enter_rootfs(const RootfsPlan& plan, bool no_pivot, Kernel& k = host_kernel());
// After pivot: read-only paths, masked paths, read-only root. Paths resolve against the
// current directory, which enter_rootfs leaves at the new root.
void finish_rootfs(const Spec& spec, Kernel& k = host_kernel());

// Mount points under `rootfs` (not the rootfs itself) in /proc/self/mountinfo, last first: what a
// container without its own mount namespace left in ours, for delete to take down.
std::vector<std::string> mounts_under(const std::string& rootfs, const std::string& mountinfo_text);

}  // namespace minirun::runtime
