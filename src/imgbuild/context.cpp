// Ignore files with Docker's pattern semantics.
#include "minirun/imgbuild/context.hpp"

#include <fnmatch.h>

#include <fstream>
#include <sstream>

#include "minirun/common/fs.hpp"

namespace minirun::imgbuild {

std::vector<std::string> split_path(std::string_view clean) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i <= clean.size() && !clean.empty()) {
        size_t j = clean.find('/', i);
        if (j == std::string_view::npos) j = clean.size();
        if (j > i) out.emplace_back(clean.substr(i, j - i));
        i = j + 1;
    }
    return out;
}

std::string clean_relative(std::string_view path) {
    std::vector<std::string> out;
    for (auto& c : split_path(path)) {
        if (c == ".") continue;
        if (c == "..") {
            if (!out.empty()) out.pop_back();  // ".." at the top stays at the top
            continue;
        }
        out.push_back(c);
    }
    std::string s;
    for (auto& c : out) s += (s.empty() ? "" : "/") + c;
    return s;
}

bool has_glob_chars(std::string_view s) { return s.find_first_of("*?[\\") != std::string_view::npos; }

bool match_components(const std::vector<std::string>& pattern, size_t pi, const std::vector<std::string>& path, size_t si) {
    for (; pi < pattern.size(); ++pi, ++si) {
        if (pattern[pi] == "**") {
            for (size_t k = si; k <= path.size(); ++k)
                if (match_components(pattern, pi + 1, path, k)) return true;
            return false;
        }
        if (si >= path.size() || ::fnmatch(pattern[pi].c_str(), path[si].c_str(), 0) != 0) return false;
    }
    return si == path.size();
}

IgnoreMatcher::IgnoreMatcher(std::string_view text) {
    std::istringstream in{std::string(text)};
    for (std::string line; std::getline(in, line);) add(line);
}

void IgnoreMatcher::add(std::string_view raw) {
    std::string line(raw);
    auto b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos) return;
    line = line.substr(b, line.find_last_not_of(" \t\r") - b + 1);
    if (line[0] == '#') return;
    Pattern p;
    if (line[0] == '!') {
        p.exception = true;
        line = line.substr(1);
    }
    p.parts = split_path(clean_relative(line));
    if (p.parts.empty()) return;
    patterns_.push_back(std::move(p));
}

bool IgnoreMatcher::ignored(std::string_view rel_path) const {
    auto path = split_path(rel_path);
    bool matched = false;
    for (const auto& p : patterns_) {
        if (p.exception == !matched) continue;  // cannot change the verdict
        // The pattern matches the path itself or one of its parent directories.
        bool hit = false;
        for (size_t n = path.size(); n >= 1 && !hit; --n) {
            std::vector<std::string> prefix(path.begin(), path.begin() + static_cast<long>(n));
            hit = match_components(p.parts, 0, prefix, 0);
        }
        if (hit) matched = !p.exception;
    }
    return matched;
}

bool IgnoreMatcher::has_exceptions() const {
    for (const auto& p : patterns_)
        if (p.exception) return true;
    return false;
}

IgnoreMatcher load_ignore_file(const std::filesystem::path& context, const std::filesystem::path& containerfile) {
    std::vector<std::filesystem::path> candidates = {
        containerfile.string() + ".containerignore", containerfile.string() + ".dockerignore",
        context / ".containerignore", context / ".dockerignore"};
    for (auto& c : candidates) {
        std::error_code ec;
        if (std::filesystem::is_regular_file(c, ec)) return IgnoreMatcher(fs::read_file(c, 4ull << 20));
    }
    return {};
}

}  // namespace minirun::imgbuild
