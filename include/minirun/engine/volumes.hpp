#pragma once
// Named volumes: <storage>/volumes/NAME/_data holds the content, NAME/volume.json what
// `volume inspect` shows (created, labels, options). Volumes a container made on its own
// (-v /path, the image's VOLUMEs) are anonymous: removed with `rm -v`, pruned by default.
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "minirun/engine/container_store.hpp"

namespace minirun::engine {

struct VolumeInfo {
    std::string name;
    std::string driver = "local";
    std::string mountpoint;  // the _data directory
    std::string created;     // RFC 3339
    std::map<std::string, std::string> labels, options;
    bool anonymous = false;
};

class VolumeStore {
public:
    explicit VolumeStore(std::filesystem::path storage_root);

    // Creates NAME (a random 64-hex name when empty) or returns it as it is when it exists,
    // as Docker's `volume create` does. Throws InvalidArgument for a bad name or driver.
    VolumeInfo create(std::string name, const std::map<std::string, std::string>& labels = {},
                      const std::map<std::string, std::string>& options = {}, bool anonymous = false);
    // For a container's mount: the _data path, and whether the volume is new (to seed it).
    std::pair<std::string, bool> ensure(const std::string& name, bool anonymous);
    std::optional<VolumeInfo> find(const std::string& name) const;
    VolumeInfo get(const std::string& name) const;  // throws NotFound "no such volume: X"
    std::vector<VolumeInfo> list() const;
    // Refused (Conflict, naming the containers) while a container uses it, unless `force`.
    void remove(const std::string& name, const std::vector<ContainerRecord>& containers, bool force = false);
    // Unused volumes (anonymous ones only unless `all`); returns what went and bytes freed.
    std::vector<std::string> prune(const std::vector<ContainerRecord>& containers, bool all, uint64_t& bytes_freed);

private:
    std::filesystem::path root_;
};

// The containers among `containers` that mount `volume`.
std::vector<std::string> volume_users(const std::string& volume, const std::vector<ContainerRecord>& containers);

}  // namespace minirun::engine
