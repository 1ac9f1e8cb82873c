#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include "minirun/imgbuild/secrets.hpp"
#include "minirun/imgbuild/ssh_agent.hpp"
#include "minirun/common/error.hpp"

using namespace minirun::imgbuild;

TEST_CASE("build secrets: RUN --mount=type=secret options and BuildKit's defaults") {
    auto s = parse_secret_mount({{"type", "secret"}, {"id", "npm"}});
    CHECK(s.target == "/run/secrets/npm");
    CHECK(s.mode == 0400);
    CHECK_FALSE(s.required);
    s = parse_secret_mount({{"type", "secret"}, {"target", "/root/.npmrc"}});
    CHECK(s.id == ".npmrc");  // the id defaults to the target's name
    s = parse_secret_mount({{"id", "k"}, {"env", "KEY"}});
    CHECK(s.target.empty());  // env only: no file
    s = parse_secret_mount({{"id", "k"}, {"mode", "0440"}, {"uid", "1000"}, {"gid", "5"}, {"required", "true"}});
    CHECK(s.mode == 0440);
    CHECK(s.uid == 1000);
    CHECK(s.gid == 5);
    CHECK(s.required);
    CHECK_THROWS_AS(parse_secret_mount({{"type", "secret"}}), std::invalid_argument);
    CHECK_THROWS_AS(parse_secret_mount({{"id", "a/b"}}), std::invalid_argument);
    CHECK_THROWS_AS(parse_secret_mount({{"id", "a"}, {"mode", "999"}}), std::invalid_argument);
    CHECK_THROWS_AS(parse_secret_mount({{"id", "a"}, {"uid", "-1"}}), std::invalid_argument);
    CHECK_THROWS_AS(parse_secret_mount({{"id", "a"}, {"sharing", "locked"}}), std::invalid_argument);
}

TEST_CASE("build secrets: --secret from a file or the environment, with clear errors") {
    auto path = std::filesystem::temp_directory_path() / "minirun-unit-secret";
    std::ofstream(path) << "s3cret";
    auto m = load_secrets({"id=a,src=" + path.string(), "id=b,type=file,source=" + path.string()});
    CHECK(m.at("a") == "s3cret");
    CHECK(m.at("b") == "s3cret");
    ::setenv("MINIRUN_UNIT_SECRET", "from-env", 1);
    m = load_secrets({"id=MINIRUN_UNIT_SECRET", "id=c,env=MINIRUN_UNIT_SECRET"});
    CHECK(m.at("MINIRUN_UNIT_SECRET") == "from-env");
    CHECK(m.at("c") == "from-env");
    ::unsetenv("MINIRUN_UNIT_SECRET");
    CHECK_THROWS_WITH_AS(load_secrets({"id=MINIRUN_UNIT_SECRET"}),
                         "--secret id=MINIRUN_UNIT_SECRET: the environment variable MINIRUN_UNIT_SECRET is not set",
                         minirun::Error);
    CHECK_THROWS_AS(load_secrets({"id=x,src=/nonexistent/file"}), minirun::Error);
    CHECK_THROWS_AS(load_secrets({"id=x,src=/etc"}), minirun::Error);  // not a regular file
    CHECK_THROWS_AS(load_secrets({"id=x,colour=red"}), minirun::Error);
    std::filesystem::resize_file(path, kMaxSecretSize + 1);
    CHECK_THROWS_AS(load_secrets({"id=x,src=" + path.string()}), minirun::Error);
    std::filesystem::remove(path);
}

TEST_CASE("build ssh: RUN --mount=type=ssh options and BuildKit's defaults") {
    auto s = parse_ssh_mount({{"type", "ssh"}});
    CHECK(s.id == "default");
    CHECK(s.target.empty());  // the builder numbers /run/buildkit/ssh_agent.N
    CHECK(s.mode == 0600);
    CHECK_FALSE(s.required);
    s = parse_ssh_mount({{"id", "git"}, {"target", "/a.sock"}, {"required", ""}, {"mode", "0660"}, {"uid", "7"}, {"gid", "8"}});
    CHECK(s.id == "git");
    CHECK(s.target == "/a.sock");
    CHECK(s.required);  // a bare `required` means true, as BuildKit reads it
    CHECK(s.mode == 0660);
    CHECK(s.uid == 7);
    CHECK(s.gid == 8);
    CHECK_THROWS_AS(parse_ssh_mount({{"id", "a"}, {"mode", "rw"}}), std::invalid_argument);
    CHECK_THROWS_AS(parse_ssh_mount({{"id", "a"}, {"src", "/x"}}), std::invalid_argument);
}

TEST_CASE("build ssh: --ssh values are checked before anything runs") {
    ::unsetenv("SSH_AUTH_SOCK");
    CHECK_THROWS_WITH(SshAgents({"default"}), doctest::Contains("--ssh default: SSH_AUTH_SOCK is not set"));
    CHECK_THROWS_WITH(SshAgents({"=x"}), doctest::Contains("needs ID or ID=PATH"));
    CHECK_THROWS_WITH(SshAgents({"a=/nonexistent/key"}), doctest::Contains("--ssh a=/nonexistent/key: /nonexistent/key: No such file"));
    CHECK_THROWS_WITH(SshAgents({"a=/dev"}), doctest::Contains("neither an agent socket nor a key file"));
    SshAgents none({});
    CHECK(none.socket_for("default") == nullptr);
}
