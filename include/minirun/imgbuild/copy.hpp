#pragma once
// COPY and ADD's file work: selecting sources (wildcards, ignore files), hashing them for
// the cache key, and copying them into a root filesystem. Sources and destinations are
// both resolved inside their roots (openat2 RESOLVE_IN_ROOT): neither "..", nor an
// absolute symlink in the context or the image, can reach outside.
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "minirun/imgbuild/context.hpp"

namespace minirun {
class Sha256;
}

namespace minirun::imgbuild {

struct SourceTree {
    int root_fd = -1;                       // directory fd of the tree's root
    const IgnoreMatcher* ignore = nullptr;  // the build context's ignore file, if any
    std::string label;                      // "build context", "stage builder", ...
    // COPY --exclude: matched against paths relative to the source being copied.
    const IgnoreMatcher* exclude = nullptr;
};

// The sources `pattern` names (wildcards allowed), as clean paths relative to the root.
// Throws Error naming the pattern and the tree when nothing matches.
std::vector<std::string> expand_source(const SourceTree& tree, const std::string& pattern);
bool source_is_dir(const SourceTree& tree, const std::string& rel);

// Feeds every entry `rel` selects (path, type, mode, owner, size, mtime clamped to
// `epoch`, content or link target) into `h`, in a stable order.
// With `content` false only the stat data goes in (inode, size, mtime and ctime to the
// nanosecond, no reads): a cheap fingerprint that changes whenever a file could have.
void hash_source(Sha256& h, const SourceTree& tree, const std::string& rel, int64_t epoch, bool content = true);

struct CopyAttrs {
    uid_t uid = 0;  // COPY makes everything root's unless --chown says otherwise
    gid_t gid = 0;
    std::optional<mode_t> mode;  // --chmod
};

// Copies `rel` to `dest` (absolute, inside dest_root): a directory's contents into the
// directory `dest`; a file to `dest`, or into it when `dest_is_dir`.
void copy_source(const SourceTree& tree, const std::string& rel, int dest_root, const std::string& dest, bool dest_is_dir,
                 const CopyAttrs& attrs);

// Opens directory `path` inside root_fd, creating the missing ones 0755, owned by `owner`
// when given (COPY --chown and WORKDIR under USER give what they create away, as
// BuildKit does), else by root.
int make_dirs_in_root(int root_fd, const std::string& path, const CopyAttrs* owner = nullptr);
// Whether the file at `fd` is a tar archive (plain or compressed): what ADD unpacks.
bool is_tar_archive(int fd);
// True for an xz or bzip2 stream (by magic), which the layer unpacker does not read:
// ADD decompresses those first (decompress_to).
bool needs_libarchive_filter(int fd);
// Writes the decompressed bytes of `fd` (any filter libarchive reads) to `out_fd`.
void decompress_to(int fd, int out_fd, const std::string& what);
// Writes a regular file at `path` inside root_fd (parents created), e.g. a COPY heredoc.
void write_file_in_root(int root_fd, const std::string& path, const std::string& content, const CopyAttrs& attrs,
                        mode_t default_mode);
// The same with the content streamed from `src_fd` (from its start); `mtime` > 0 sets it.
void copy_fd_in_root(int root_fd, const std::string& path, int src_fd, const CopyAttrs& attrs, mode_t default_mode,
                     int64_t mtime = 0);

}  // namespace minirun::imgbuild
