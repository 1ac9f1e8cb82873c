#pragma once
// `minirun cp CONTAINER:PATH -`: a path of a container as a tar stream, as Docker writes it
// (the entry named by PATH's last component; a directory's contents for "PATH/."). Here,
// not in the engine, because it needs libarchive's writer, which only imgbuild links
// (minirun hands this form of `cp` over to imgbuild, as it does `export`).
#include <filesystem>
#include <string>

namespace minirun::imgbuild {

// `path` is resolved inside the container (openat2 RESOLVE_IN_ROOT), and the walk below it
// opens each name O_NOFOLLOW: the container's symlinks cannot lead the tar to host files.
// `follow_link` (-L): a symlink at the end of `path` is read and followed inside the root.
void copy_out_as_tar(const std::filesystem::path& storage, const std::string& container, const std::string& path,
                     bool follow_link, int out_fd);

}  // namespace minirun::imgbuild
