#pragma once
// Applies tar entries to the layer root, doing every file operation relative to directory
// fds resolved inside the root, so no entry can reach outside it.
#include <sys/types.h>

#include <ctime>
#include <string>
#include <vector>

#include "minirun/common/fs.hpp"
#include "minirun/image/unpack.hpp"
#include "unpack_fs.hpp"

struct archive;
struct archive_entry;

namespace minirun::image::detail {

class Extractor {
public:
    Extractor(int root_fd, const UnpackOptions& opts);
    // Applies one entry (streaming a regular file's data from `a`). Throws Error with a bare
    // reason; the caller adds the layer and entry names.
    void extract(archive* a, archive_entry* ae);
    // Sets directory modes and mtimes, which writing their contents would have disturbed.
    // Throws Error naming the layer and the entry.
    void finish();

private:
    struct DirFixup {
        Components path;
        mode_t mode;
        timespec times[2];
    };

    void regular(archive* a, archive_entry* ae, const Components& path);
    void directory(archive_entry* ae, const Components& path);
    void symlink(archive_entry* ae, const Components& path);
    void special(archive_entry* ae, const Components& path);
    void hardlink(const Components& path, const char* target_name);
    void whiteout(const Components& path);
    void opaque(const Components& path);

    int parent_fd(const Components& path);
    fs::UniqueFd make_dirs(const Components& path, size_t count);
    void clear(int dir_fd, const std::string& name);
    void set_owner_at(int dir_fd, const std::string& name, archive_entry* ae);
    void set_xattrs(archive_entry* ae, int fd, int dir_fd, const std::string& name);
    void fix_dir(const DirFixup& f);
    void warn_once(bool& flag, const std::string& msg);

    int root_;
    const UnpackOptions& opts_;
    // The parent of the previous entry: consecutive entries mostly share one.
    std::string cached_rel_;
    fs::UniqueFd cached_fd_;
    bool cache_stale_ = false;
    std::vector<DirFixup> fixups_;
    bool warned_devices_ = false;
    bool warned_xattrs_ = false;
    bool warned_overlay_xattrs_ = false;
    bool warned_types_ = false;
};

}  // namespace minirun::image::detail
