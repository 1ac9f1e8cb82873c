#pragma once
// Environment files, read once here in the two dialects users meet:
// - docker (`run --env-file`): each line as written, NAME=VALUE, or NAME alone to pass the
//   caller's own value; blank lines and # comments skipped; no quotes, no `export`.
// - compose (`.env`, a service's `env_file`): `export NAME=…`, quoted values taken up to the
//   closing quote, ` #` starts a comment after an unquoted value; NAME alone sets nothing.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace minirun {

enum class EnvFileDialect { docker, compose };

struct EnvFileEntry {
    std::string name;
    std::optional<std::string> value;  // nullopt: the line named the variable only
    int line = 0;
};

// Throws Error("FILE: cannot read it: …") and Error("FILE:LINE: …") for a bad name.
std::vector<EnvFileEntry> read_env_file(const std::filesystem::path& file, EnvFileDialect dialect);

}  // namespace minirun
