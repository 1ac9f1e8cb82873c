#pragma once
// `minirun system check [--repair]`: an fsck for the store and the container records.
#include <filesystem>
#include <string>
#include <vector>

namespace minirun::engine {

struct CheckFinding {
    std::string where;    // the file or entry, e.g. "blob sha256:…", "image docker.io/…"
    std::string problem;  // what is wrong
    std::string action;   // what --repair did, or what the user should do
    bool repaired = false;
};

struct CheckReport {
    size_t blobs = 0, images = 0, layers = 0, containers = 0;
    size_t layers_verified = 0;  // layers extracted again from their blob and compared
    std::vector<CheckFinding> findings;
    bool clean() const;  // nothing found, or everything found was repaired
};

// Checks every blob's digest and size, every index entry (manifest, config, layer blobs,
// unpacked layers), every unpacked layer whose blob is here against that blob (so against
// its diff id), every container record (readable, its layers present). With `repair`:
// damaged blobs are removed (the next pull fetches them again), index entries whose
// manifest is gone are dropped, damaged layers no running container uses are extracted
// again, and layer directories left half-made are removed.
CheckReport check_system(const std::filesystem::path& storage, bool repair);

}  // namespace minirun::engine
