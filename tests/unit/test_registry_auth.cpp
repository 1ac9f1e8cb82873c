// Challenge parsing, credentials files and helpers, URL handling.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/registry/auth.hpp"
#include "minirun/registry/http.hpp"

using namespace minirun;
using namespace minirun::registry;
namespace stdfs = std::filesystem;

TEST_CASE("auth: Docker Hub's recorded bearer challenge") {
    // As registry-1.docker.io answers an anonymous GET /v2/library/alpine/manifests/latest.
    auto cs = parse_www_authenticate(
        R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull")");
    REQUIRE(cs.size() == 1);
    CHECK(cs[0].scheme == "bearer");
    CHECK(cs[0].param("realm") == "https://auth.docker.io/token");
    CHECK(cs[0].param("service") == "registry.docker.io");
    CHECK(cs[0].param("scope") == "repository:library/alpine:pull");
}

TEST_CASE("auth: push challenge with error and several challenges") {
    auto cs = parse_www_authenticate(
        R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:user/app:pull,push",error="insufficient_scope", Basic realm="Registry Realm")");
    REQUIRE(cs.size() == 2);
    CHECK(cs[0].param("scope") == "repository:user/app:pull,push");
    CHECK(cs[0].param("error") == "insufficient_scope");
    CHECK(cs[1].scheme == "basic");
    CHECK(cs[1].param("realm") == "Registry Realm");
}

TEST_CASE("auth: basic challenge, unquoted values, escapes and odd spacing") {
    auto cs = parse_www_authenticate(R"(  BASIC   realm = "a \"quoted\" realm" , charset=UTF-8)");
    REQUIRE(cs.size() == 1);
    CHECK(cs[0].scheme == "basic");
    CHECK(cs[0].param("realm") == "a \"quoted\" realm");
    CHECK(cs[0].param("charset") == "UTF-8");
    CHECK(parse_www_authenticate("").empty());
}

TEST_CASE("auth: config keys for Docker Hub") {
    CHECK(config_key("docker.io") == "https://index.docker.io/v1/");
    CHECK(config_key("registry-1.docker.io") == "https://index.docker.io/v1/");
    CHECK(config_key("localhost:5000") == "localhost:5000");
}

TEST_CASE("auth: base64 round trip") {
    for (const std::string& s : std::vector<std::string>{"", "a", "ab", "abc", "user:pässword", std::string("\0\xff\x10", 3)})
        CHECK(base64_decode(base64_encode(s)) == s);
    CHECK(base64_encode("testuser:secret") == "dGVzdHVzZXI6c2VjcmV0");
    CHECK_THROWS_AS(base64_decode("not*base64"), Error);
    CHECK_THROWS_AS(base64_decode("abcde"), Error);  // a lone sixth of a byte
    // What config.json files in the wild hold: no padding, line breaks, the URL-safe alphabet.
    CHECK(base64_decode("dGVzdHVzZXI6c2VjcmV0") == "testuser:secret");
    CHECK(base64_decode("YQ") == "a");
    CHECK(base64_decode("YWI=") == "ab");
    CHECK(base64_decode("dGVzdHVz\nZXI6c2VjcmV0\n") == "testuser:secret");
    CHECK(base64_decode("-_8") == std::string("\xfb\xff"));
}

namespace {
struct EnvDir {
    stdfs::path dir;
    EnvDir() {
        dir = stdfs::temp_directory_path() / ("minirun-auth-" + fs::unique_suffix());
        stdfs::create_directories(dir);
        ::setenv("DOCKER_CONFIG", dir.c_str(), 1);
        ::unsetenv("REGISTRY_AUTH_FILE");
    }
    ~EnvDir() {
        ::unsetenv("DOCKER_CONFIG");
        stdfs::remove_all(dir);
    }
    void write(const std::string& name, const std::string& text) { std::ofstream(dir / name) << text; }
};
}  // namespace

TEST_CASE("auth: credentials from config.json auths, with Docker Hub's key") {
    EnvDir env;
    env.write("config.json", R"({"auths":{"https://index.docker.io/v1/":{"auth":"dXNlcjpwYXNz"},
        "http://localhost:5000/v2/":{"auth":"YTpi"}}})");
    auto c = lookup_credentials("docker.io");
    REQUIRE(c);
    CHECK(c->username == "user");
    CHECK(c->password == "pass");
    auto l = lookup_credentials("localhost:5000");
    REQUIRE(l);
    CHECK(l->username == "a");
    CHECK_FALSE(lookup_credentials("example.com"));
}

TEST_CASE("auth: login writes 0600 atomically and keeps other keys, logout erases") {
    EnvDir env;
    env.write("config.json", R"({"auths":{},"psFormat":"table"})");
    store_credentials("127.0.0.1:5000", {"testuser", "pw:with:colons", ""});
    struct stat st {};
    REQUIRE(::stat((env.dir / "config.json").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    auto text = fs::read_file(env.dir / "config.json");
    CHECK(text.find("psFormat") != std::string::npos);
    auto c = lookup_credentials("127.0.0.1:5000");
    REQUIRE(c);
    CHECK(c->password == "pw:with:colons");
    CHECK(erase_credentials("127.0.0.1:5000"));
    CHECK_FALSE(lookup_credentials("127.0.0.1:5000"));
    CHECK_FALSE(erase_credentials("127.0.0.1:5000"));
}

TEST_CASE("auth: credential helper through docker-credential-<name> get") {
    EnvDir env;
    // A real helper program on PATH speaking the helper protocol.
    env.write("docker-credential-testhelper",
              "#!/bin/sh\nread server\nif [ \"$1\" = get ] && [ \"$server\" = reg.example.com ]; then\n"
              "  printf '{\"ServerURL\":\"%s\",\"Username\":\"helperuser\",\"Secret\":\"helpersecret\"}' \"$server\"\n"
              "else echo 'credentials not found in native keychain'; exit 1; fi\n");
    ::chmod((env.dir / "docker-credential-testhelper").c_str(), 0755);
    std::string old_path = std::getenv("PATH") ? std::getenv("PATH") : "";
    ::setenv("PATH", (env.dir.string() + ":" + old_path).c_str(), 1);
    env.write("config.json", R"({"credHelpers":{"reg.example.com":"testhelper"}, "credsStore":"testhelper"})");
    auto c = lookup_credentials("reg.example.com");
    REQUIRE(c);
    CHECK(c->username == "helperuser");
    CHECK(c->password == "helpersecret");
    CHECK_FALSE(lookup_credentials("other.example.com"));  // credsStore: not found → none
    ::setenv("PATH", old_path.c_str(), 1);
}

TEST_CASE("auth: REGISTRY_AUTH_FILE takes precedence") {
    EnvDir env;
    env.write("config.json", R"({"auths":{"r.example":{"auth":"YTpi"}}})");
    env.write("auth.json", R"({"auths":{"r.example":{"auth":"Yzpk"}}})");
    ::setenv("REGISTRY_AUTH_FILE", (env.dir / "auth.json").c_str(), 1);
    auto c = lookup_credentials("r.example");
    ::unsetenv("REGISTRY_AUTH_FILE");
    REQUIRE(c);
    CHECK(c->username == "c");
}

TEST_CASE("http: resolving Location headers") {
    std::string base = "http://127.0.0.1:5000/v2/a/b/blobs/uploads/";
    CHECK(resolve_url(base, "/v2/a/b/blobs/uploads/uuid?_state=x") == "http://127.0.0.1:5000/v2/a/b/blobs/uploads/uuid?_state=x");
    CHECK(resolve_url(base, "https://s3.example/bucket/obj?sig=1") == "https://s3.example/bucket/obj?sig=1");
    CHECK(resolve_url(base, "uuid") == "http://127.0.0.1:5000/v2/a/b/blobs/uploads/uuid");
    CHECK(resolve_url(base, "//cdn.example/x") == "http://cdn.example/x");
    CHECK(url_host("https://User@Registry-1.docker.io:443/v2/") == "registry-1.docker.io:443");
    CHECK(url_encode("repository:a/b:pull,push") == "repository%3Aa%2Fb%3Apull%2Cpush");
}
