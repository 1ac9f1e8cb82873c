// Runs buildkit's Dockerfile parser and shell-lexer conformance data (see
// ../shared/conformance/buildkit-dockerfile/README.md).
#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "minirun/imgbuild/containerfile.hpp"
#include "minirun/imgbuild/shell_expand.hpp"

namespace fs = std::filesystem;
using namespace minirun::imgbuild;

namespace {

const fs::path kCorpus = fs::path(MINIRUN_SOURCE_DIR "/../shared/conformance/buildkit-dockerfile");

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string trim(const std::string& s, bool left = true, bool right = true) {
    size_t b = 0, e = s.size();
    if (left)
        while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
    if (right)
        while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
    return s.substr(b, e - b);
}

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    size_t b = 0;
    for (;;) {
        size_t e = s.find(sep, b);
        out.push_back(s.substr(b, e == std::string::npos ? std::string::npos : e - b));
        if (e == std::string::npos) break;
        b = e + 1;
    }
    return out;
}

}  // namespace

TEST_CASE("containerfile corpus: parser testfiles") {
    if (!fs::is_directory(kCorpus)) {
        MESSAGE("conformance corpus not found at " << kCorpus << ", skipping");
        return;
    }
    int pass = 0, total = 0;
    std::vector<fs::path> dirs;
    for (const auto& e : fs::directory_iterator(kCorpus / "parser/testfiles")) dirs.push_back(e.path());
    std::sort(dirs.begin(), dirs.end());
    for (const auto& dir : dirs) {
        ++total;
        std::string got;
        try {
            got = dump_instructions(parse_instructions(slurp(dir / "Dockerfile"), (dir / "Dockerfile").string()));
        } catch (const std::exception& e) {
            got = std::string("ERROR: ") + e.what();
        }
        std::string want = slurp(dir / "result");
        CHECK_MESSAGE(got == want, dir.filename().string());
        if (got == want) ++pass;
    }
    MESSAGE("parser cases: " << pass << "/" << total << " passed");
    CHECK(total == 33);

    int neg_pass = 0, neg_total = 0;
    for (const auto& e : fs::directory_iterator(kCorpus / "parser/testfiles-negative")) {
        ++neg_total;
        bool rejected = false;
        try {
            parse_instructions(slurp(e.path() / "Dockerfile"), "Dockerfile");
        } catch (const ParseError&) {
            rejected = true;
        }
        CHECK_MESSAGE(rejected, e.path().filename().string());
        if (rejected) ++neg_pass;
    }
    MESSAGE("negative parser cases: " << neg_pass << "/" << neg_total << " rejected");
    CHECK(neg_total == 4);

    auto lines = parse_instructions(slurp(kCorpus / "parser/testfile-line/Dockerfile"), "Dockerfile");
    REQUIRE(lines.size() == 3);
    CHECK(lines[0].line == 5);
    CHECK(lines[0].end_line == 5);
    CHECK(lines[1].line == 11);
    CHECK(lines[1].end_line == 12);
    CHECK(lines[2].line == 17);
    CHECK(lines[2].end_line == 31);
}

TEST_CASE("containerfile corpus: shell envVarTest") {
    fs::path p = kCorpus / "shell/envVarTest";
    if (!fs::exists(p)) {
        MESSAGE("conformance corpus not found, skipping");
        return;
    }
    ShellEnv env{{"PWD", "/home"}, {"SHELL", "bash"}, {"KOREAN", "한국어"}, {"NULL", ""}};
    std::istringstream in(slurp(p));
    std::string line;
    int pass = 0, total = 0, skipped = 0;
    while (std::getline(in, line)) {
        line = trim(line);
        if (line.empty() || line[0] == '#') continue;
        auto parts = split(line, '|');
        REQUIRE(parts.size() == 3);
        std::string platform = trim(parts[0]), source = trim(parts[1]), expected = trim(parts[2]);
        if (platform == "W") {
            ++skipped;
            continue;
        }
        ++total;
        std::string got;
        bool err = false;
        try {
            got = expand_word(source, env);
        } catch (const minirun::Error&) {
            err = true;
        }
        bool ok = expected == "error" ? err : (!err && got == expected);
        CHECK_MESSAGE(ok, source << " -> " << (err ? std::string("error") : got) << " (want " << expected << ")");
        if (ok) ++pass;
    }
    MESSAGE("envVarTest: " << pass << "/" << total << " passed (" << skipped << " windows-only skipped)");
    CHECK(total + skipped == 230);
}

TEST_CASE("containerfile corpus: shell wordsTest") {
    fs::path p = kCorpus / "shell/wordsTest";
    if (!fs::exists(p)) {
        MESSAGE("conformance corpus not found, skipping");
        return;
    }
    ShellEnv env;
    std::istringstream in(slurp(p));
    std::string line;
    int pass = 0, total = 0;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty() || line[0] == '#') continue;
        if (line.rfind("ENV ", 0) == 0) {
            std::string kv = trim(line.substr(3), true, false);
            auto eq = kv.find('=');
            env[kv.substr(0, eq)] = kv.substr(eq + 1);
            continue;
        }
        auto parts = split(line, '|');
        REQUIRE(parts.size() == 2);
        std::string source = trim(parts[0]);
        auto expected = split(trim(parts[1], true, false), ',');
        ++total;
        std::vector<std::string> got;
        bool err = false;
        try {
            got = expand_words(source, env);
        } catch (const minirun::Error&) {
            err = true;
        }
        bool ok = expected[0] == "error" ? err : (!err && got == expected);
        std::string shown;
        for (const auto& w : got) shown += "[" + w + "]";
        CHECK_MESSAGE(ok, source << " -> " << (err ? std::string("error") : shown));
        if (ok) ++pass;
    }
    MESSAGE("wordsTest: " << pass << "/" << total << " passed");
    CHECK(total == 24);
}
