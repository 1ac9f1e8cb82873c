#pragma once
// Path handling for layer extraction: every lookup is confined to the layer root, as if
// the root were "/" (absolute symlinks and ".." stop at it).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "minirun/common/fs.hpp"

namespace minirun::image::detail {

using Components = std::vector<std::string>;

// Splits an archive name into clean components ("/" stripped, "." dropped, ".." applied);
// nullopt when ".." would climb above the root. An empty result names the root itself.
std::optional<Components> clean_path(std::string_view name);

std::string join(const Components& comps, size_t count);

// Opens the directory `rel` (relative, "" = root) under root_fd with symlinks resolved
// inside the root. `flags` are open flags (O_DIRECTORY is added). Returns the fd or -errno.
// openat2(RESOLVE_IN_ROOT) is used when the kernel has it, else a component-by-component walk.
int open_dir_in_root(int root_fd, const std::string& rel, int flags, bool allow_openat2 = true);

// Removes `name` in `dir_fd` whatever it is; directories recursively, never following symlinks.
void remove_path(int dir_fd, const std::string& name);

}  // namespace minirun::image::detail
