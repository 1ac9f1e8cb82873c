#pragma once
// The build context: ignore files (.containerignore / .dockerignore with Docker's
// semantics: `*`, `?`, `[...]` within a path component, `**` across components, `!`
// exceptions, the last matching pattern wins, a match on a directory covers what is below).
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace minirun::imgbuild {

class IgnoreMatcher {
public:
    IgnoreMatcher() = default;
    // One pattern per line; blank lines and lines starting with '#' are skipped.
    explicit IgnoreMatcher(std::string_view text);
    void add(std::string_view pattern);
    // `rel_path`: relative to the context root, '/'-separated, no leading "./".
    bool ignored(std::string_view rel_path) const;
    bool empty() const { return patterns_.empty(); }
    // With `!` exceptions, an ignored directory may still hold files that are not.
    bool has_exceptions() const;

private:
    struct Pattern {
        std::vector<std::string> parts;
        bool exception = false;
    };
    std::vector<Pattern> patterns_;
};

// Cleans a path the way Go's filepath.Clean does, then drops a leading '/':
// "./a//b/../c/" → "a/c"; "/" and "." → "".
std::string clean_relative(std::string_view path);
std::vector<std::string> split_path(std::string_view clean);

// Whether `path` (components) matches `pattern` (components): fnmatch per component,
// "**" for any number of components.
bool match_components(const std::vector<std::string>& pattern, size_t pi, const std::vector<std::string>& path, size_t si);
bool has_glob_chars(std::string_view s);

// The ignore file for a build: <Containerfile>.containerignore or <Containerfile>.dockerignore
// next to the Containerfile, else .containerignore, else .dockerignore in the context.
IgnoreMatcher load_ignore_file(const std::filesystem::path& context, const std::filesystem::path& containerfile);

}  // namespace minirun::imgbuild
