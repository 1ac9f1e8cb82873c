#pragma once
// Compose's ${VAR} interpolation, .env files and command-string splitting.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace minirun::compose::detail {

using Env = std::map<std::string, std::string>;

// $VAR, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error},
// ${VAR:+replacement}, ${VAR+replacement}; $$ is a literal $. `where` (file:line:col)
// prefixes errors.
std::string interpolate(const std::string& text, const Env& env, const std::string& where);

// KEY=VALUE lines (comments, `export`, quotes). A missing file is empty unless `required`.
Env read_env_file(const std::filesystem::path& file, bool required);

// A command given as one string, split as Compose does (shell-like words and quotes,
// no expansion).
std::vector<std::string> split_command(const std::string& text, const std::string& where);

}  // namespace minirun::compose::detail
