// Environment files: Docker's --env-file and Compose's .env, one reader, two dialects.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "minirun/common/env_file.hpp"
#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"

using namespace minirun;
namespace stdfs = std::filesystem;

namespace {
struct EnvFile {
    stdfs::path path = stdfs::temp_directory_path() / ("minirun-env-" + fs::unique_suffix());
    explicit EnvFile(const std::string& text) { std::ofstream(path) << text; }
    ~EnvFile() { stdfs::remove(path); }
};

std::string error_of(const stdfs::path& p, EnvFileDialect d) {
    try {
        read_env_file(p, d);
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}
}  // namespace

TEST_CASE("env file: Docker's dialect takes lines as written") {
    EnvFile f("# a comment\n\nA=1\n  SPACED=a b  \nQUOTED=\"x\" # not a comment\nPASS\r\n");
    auto list = read_env_file(f.path, EnvFileDialect::docker);
    REQUIRE(list.size() == 4);
    CHECK(list[0].name == "A");
    CHECK(list[0].value == "1");
    CHECK(list[0].line == 3);
    CHECK(list[1].name == "SPACED");
    CHECK(list[1].value == "a b");  // leading and trailing blanks of the line go, inner ones stay
    CHECK(list[2].value == "\"x\" # not a comment");
    CHECK(list[3].name == "PASS");
    CHECK_FALSE(list[3].value.has_value());  // the caller's own value

    EnvFile bad("A=1\n=x\n");
    CHECK(error_of(bad.path, EnvFileDialect::docker) == bad.path.string() + ":2: variable name is empty");
    EnvFile exported("export X=1\n");  // Docker has no `export`
    CHECK(error_of(exported.path, EnvFileDialect::docker) == exported.path.string() + ":1: variable \"export X\" contains whitespace");
}

TEST_CASE("env file: Compose's dialect has export, quotes and comments") {
    EnvFile f("export A=1\nB = 'two words' # c\nC=\"x#y\"\nD=plain # comment\nE=\nBARE\n");
    auto list = read_env_file(f.path, EnvFileDialect::compose);
    REQUIRE(list.size() == 6);
    CHECK(list[0].name == "A");
    CHECK(list[0].value == "1");
    CHECK(list[1].name == "B");
    CHECK(list[1].value == "two words");
    CHECK(list[2].value == "x#y");
    CHECK(list[3].value == "plain");
    CHECK(list[4].value == "");
    CHECK_FALSE(list[5].value.has_value());

    EnvFile bad("OK=1\n1BAD=x\n");
    CHECK(error_of(bad.path, EnvFileDialect::compose) == bad.path.string() + ":2: invalid variable name \"1BAD\"");
}

TEST_CASE("env file: a missing file is named") {
    stdfs::path p = stdfs::temp_directory_path() / "minirun-no-such-env-file";
    std::string e = error_of(p, EnvFileDialect::docker);
    CHECK(e.rfind(p.string() + ": cannot read it", 0) == 0);
}
