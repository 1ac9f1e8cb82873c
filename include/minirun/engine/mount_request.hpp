#pragma once
// What -v, --mount and --tmpfs ask for, parsed once by whoever reads the flags (the CLI,
// compose): the engine takes them typed and never parses mount strings itself. Every
// check that needs no image is done here, so a bad one is refused before anything exists.
#include <string>
#include <vector>

namespace minirun::engine {

struct MountRequest {
    enum class Kind { Bind, Volume, Tmpfs };
    Kind kind = Kind::Volume;
    std::string source;       // Bind: a host path as given; Volume: a name, "" = anonymous
    std::string destination;  // absolute, in the container
    bool read_only = false;
    bool source_must_exist = false;          // --mount type=bind refuses a missing source; -v creates it
    std::vector<std::string> tmpfs_options;  // Tmpfs: its mount options
    std::string spec;                        // "src:dst[:ro]", what inspect shows as a Bind
};

// Docker's rule: a source with a '/' or starting with '.' is a host path, else a name.
bool is_bind_source(const std::string& source);
// `-v [src:]dst[:ro|rw|z|Z]`; throws Error("invalid volume \"…\": why").
MountRequest parse_volume_flag(const std::string& spec);
// `--mount type=bind|volume|tmpfs,source=…,target=…[,readonly][,tmpfs-size=…][,tmpfs-mode=…]`;
// throws Error("invalid --mount \"…\": why").
MountRequest parse_mount_flag(const std::string& spec);
// `--tmpfs /path[:options]`: nosuid,nodev,noexec and the options given.
MountRequest parse_tmpfs_flag(const std::string& spec);
// An anonymous volume at `destination` (an image's VOLUME).
MountRequest anonymous_volume(const std::string& destination);

}  // namespace minirun::engine
