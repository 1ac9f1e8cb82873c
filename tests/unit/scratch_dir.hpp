#pragma once
// A fresh directory under the system temp dir for one test, removed with everything in it
// when the test ends. `tag` names the test file in the directory's name.
#include <filesystem>
#include <string>

#include "minirun/common/fs.hpp"

namespace minirun::test {

struct ScratchDir {
    std::filesystem::path p;
    explicit ScratchDir(const std::string& tag)
        : p(std::filesystem::temp_directory_path() / ("minirun-" + tag + "-" + fs::unique_suffix())) {
        std::filesystem::create_directories(p);
    }
    ~ScratchDir() {
        std::error_code ec;
        std::filesystem::remove_all(p, ec);
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
};

}  // namespace minirun::test
