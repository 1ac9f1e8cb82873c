// Docker image references: the grammar and normalisation of docker/distribution's
// reference package (ParseNormalizedNamed), checked row by row.
#include "minirun/image/reference.hpp"

#include "minirun/common/error.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using minirun::image::Reference;

namespace {

const std::string kHex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const std::string kHex2 = "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb";
const std::string kDigest = "sha256:" + kHex;
const std::string kDigest2 = "sha256:" + kHex2;

std::string repeat(char c, std::size_t n) { return std::string(n, c); }

struct Valid {
    std::string input;
    std::string registry;
    std::string repository;
    std::string tag;
    std::string digest;
    std::string str;
    std::string familiar;
};

// Tag-only rows on Docker Hub official images are the common case; build them tersely.
Valid hub(const std::string& input, const std::string& repo, const std::string& tag, const std::string& familiar) {
    return {input, "docker.io", repo, tag, "", "docker.io/" + repo + ":" + tag, familiar + ":" + tag};
}

std::vector<Valid> valid_rows() {
    const std::string tag128 = "v" + repeat('x', 127);
    const std::string long_name = repeat('a', 247);   // "library/" + 247 = 255: the limit
    const std::string long_path = repeat('b', 255);
    return {
        // Docker Hub, official images.
        hub("alpine", "library/alpine", "latest", "alpine"),
        hub("alpine:3.20", "library/alpine", "3.20", "alpine"),
        hub("alpine:latest", "library/alpine", "latest", "alpine"),
        hub("docker.io/library/alpine", "library/alpine", "latest", "alpine"),
        hub("docker.io/alpine", "library/alpine", "latest", "alpine"),
        hub("docker.io/alpine:edge", "library/alpine", "edge", "alpine"),
        hub("index.docker.io/foo", "library/foo", "latest", "foo"),
        hub("index.docker.io/library/foo:1", "library/foo", "1", "foo"),
        hub("ubuntu:22.04", "library/ubuntu", "22.04", "ubuntu"),
        hub("0", "library/0", "latest", "0"),
        // Single components are always Hub names, even when they look like hosts.
        hub("localhost", "library/localhost", "latest", "localhost"),
        hub("localhost:5000", "library/localhost", "5000", "localhost"),
        hub("example.com", "library/example.com", "latest", "example.com"),
        hub("docker.io", "library/docker.io", "latest", "docker.io"),
        // "sha256:<hex>" is not an image ID: it is the image "sha256" with a hex tag.
        hub("sha256:" + kHex, "library/sha256", kHex, "sha256"),
        // Docker Hub, user repositories.
        hub("fblupi/alpine-flask-mongo", "fblupi/alpine-flask-mongo", "latest", "fblupi/alpine-flask-mongo"),
        hub("docker.io/fblupi/alpine-flask-mongo:latest", "fblupi/alpine-flask-mongo", "latest",
            "fblupi/alpine-flask-mongo"),
        hub("index.docker.io/user/repo", "user/repo", "latest", "user/repo"),
        hub("a/b", "a/b", "latest", "a/b"),
        hub("a/b/c/d/e", "a/b/c/d/e", "latest", "a/b/c/d/e"),
        hub("a0/b1:2", "a0/b1", "2", "a0/b1"),
        // library/ is only dropped for a direct child, as in Docker.
        hub("docker.io/library/a/b", "library/a/b", "latest", "library/a/b"),
        hub("index.docker.io/library/a/b:t", "library/a/b", "t", "library/a/b"),
        // Path component separators.
        hub("a__b", "library/a__b", "latest", "a__b"),
        hub("a-----b", "library/a-----b", "latest", "a-----b"),
        hub("a.b", "library/a.b", "latest", "a.b"),
        hub("a_b", "library/a_b", "latest", "a_b"),
        hub("a-b-c", "library/a-b-c", "latest", "a-b-c"),
        hub("a.b.c", "library/a.b.c", "latest", "a.b.c"),
        hub("a_b.c-d__e--f", "library/a_b.c-d__e--f", "latest", "a_b.c-d__e--f"),
        hub("ns/a__b.c/d--e", "ns/a__b.c/d--e", "latest", "ns/a__b.c/d--e"),
        // Tags.
        hub("alpine:_tag", "library/alpine", "_tag", "alpine"),
        hub("alpine:TAG", "library/alpine", "TAG", "alpine"),
        hub("alpine:1.0-rc.1_build", "library/alpine", "1.0-rc.1_build", "alpine"),
        hub("alpine:v1--x..y", "library/alpine", "v1--x..y", "alpine"),
        hub("alpine:a", "library/alpine", "a", "alpine"),
        hub("alpine:" + tag128, "library/alpine", tag128, "alpine"),
        hub("busybox:1.36.1-musl", "library/busybox", "1.36.1-musl", "busybox"),
        // Longest repository Docker accepts (the limit is on the path, library/ included).
        hub(long_name, "library/" + long_name, "latest", long_name),
        // localhost and explicit registries.
        {"localhost/foo", "localhost", "foo", "latest", "", "localhost/foo:latest", "localhost/foo:latest"},
        {"localhost:5000/foo", "localhost:5000", "foo", "latest", "", "localhost:5000/foo:latest",
         "localhost:5000/foo:latest"},
        {"localhost:5000/a/b:tag", "localhost:5000", "a/b", "tag", "", "localhost:5000/a/b:tag",
         "localhost:5000/a/b:tag"},
        {"[::1]:5000/x", "[::1]:5000", "x", "latest", "", "[::1]:5000/x:latest", "[::1]:5000/x:latest"},
        {"[::1]/x", "[::1]", "x", "latest", "", "[::1]/x:latest", "[::1]/x:latest"},
        {"[2001:db8::1]:443/team/app:v1", "[2001:db8::1]:443", "team/app", "v1", "",
         "[2001:db8::1]:443/team/app:v1", "[2001:db8::1]:443/team/app:v1"},
        {"[2001:DB8::A]/x", "[2001:DB8::A]", "x", "latest", "", "[2001:DB8::A]/x:latest", "[2001:DB8::A]/x:latest"},
        {"127.0.0.1:5000/x:y", "127.0.0.1:5000", "x", "y", "", "127.0.0.1:5000/x:y", "127.0.0.1:5000/x:y"},
        {"127.0.0.1/x", "127.0.0.1", "x", "latest", "", "127.0.0.1/x:latest", "127.0.0.1/x:latest"},
        {"1.2.3.4:1/x", "1.2.3.4:1", "x", "latest", "", "1.2.3.4:1/x:latest", "1.2.3.4:1/x:latest"},
        {"example.com/a/b/c", "example.com", "a/b/c", "latest", "", "example.com/a/b/c:latest",
         "example.com/a/b/c:latest"},
        {"example.com:443/a", "example.com:443", "a", "latest", "", "example.com:443/a:latest",
         "example.com:443/a:latest"},
        {"example.com/" + long_path, "example.com", long_path, "latest", "", "example.com/" + long_path + ":latest",
         "example.com/" + long_path + ":latest"},
        {"ghcr.io/owner/repo:v1.2.3", "ghcr.io", "owner/repo", "v1.2.3", "", "ghcr.io/owner/repo:v1.2.3",
         "ghcr.io/owner/repo:v1.2.3"},
        {"quay.io/coreos/etcd:v3.5.0", "quay.io", "coreos/etcd", "v3.5.0", "", "quay.io/coreos/etcd:v3.5.0",
         "quay.io/coreos/etcd:v3.5.0"},
        {"registry.k8s.io/pause:3.9", "registry.k8s.io", "pause", "3.9", "", "registry.k8s.io/pause:3.9",
         "registry.k8s.io/pause:3.9"},
        {"gcr.io/distroless/static-debian12:nonroot", "gcr.io", "distroless/static-debian12", "nonroot", "",
         "gcr.io/distroless/static-debian12:nonroot", "gcr.io/distroless/static-debian12:nonroot"},
        {"mcr.microsoft.com/dotnet/sdk:8.0", "mcr.microsoft.com", "dotnet/sdk", "8.0", "",
         "mcr.microsoft.com/dotnet/sdk:8.0", "mcr.microsoft.com/dotnet/sdk:8.0"},
        // Other registries never get library/ added or removed.
        {"public.ecr.aws/docker/library/alpine:3.20", "public.ecr.aws", "docker/library/alpine", "3.20", "",
         "public.ecr.aws/docker/library/alpine:3.20", "public.ecr.aws/docker/library/alpine:3.20"},
        {"example.com/alpine", "example.com", "alpine", "latest", "", "example.com/alpine:latest",
         "example.com/alpine:latest"},
        {"my-registry.local:5000/ns/img:latest", "my-registry.local:5000", "ns/img", "latest", "",
         "my-registry.local:5000/ns/img:latest", "my-registry.local:5000/ns/img:latest"},
        {"my-host:5000/img", "my-host:5000", "img", "latest", "", "my-host:5000/img:latest", "my-host:5000/img:latest"},
        // A '.' in the first component makes it a host, even without a TLD.
        {"a.b-c/d_e:f", "a.b-c", "d_e", "f", "", "a.b-c/d_e:f", "a.b-c/d_e:f"},
        {"xn--bcher-kva.example/x", "xn--bcher-kva.example", "x", "latest", "", "xn--bcher-kva.example/x:latest",
         "xn--bcher-kva.example/x:latest"},
        // Upper case is fine in a registry host (DNS is case-blind) and kept as typed.
        {"Foo.example.com/x", "Foo.example.com", "x", "latest", "", "Foo.example.com/x:latest",
         "Foo.example.com/x:latest"},
        {"EXAMPLE.COM:5000/x", "EXAMPLE.COM:5000", "x", "latest", "", "EXAMPLE.COM:5000/x:latest",
         "EXAMPLE.COM:5000/x:latest"},
        // Docker: a first component with upper case cannot be a path, so it is a host.
        {"Foo/bar", "Foo", "bar", "latest", "", "Foo/bar:latest", "Foo/bar:latest"},
        // Digests, with and without a tag.
        {"name@" + kDigest, "docker.io", "library/name", "", kDigest, "docker.io/library/name@" + kDigest,
         "name@" + kDigest},
        {"name:tag@" + kDigest, "docker.io", "library/name", "tag", kDigest,
         "docker.io/library/name:tag@" + kDigest, "name:tag@" + kDigest},
        {"alpine:3.20@" + kDigest2, "docker.io", "library/alpine", "3.20", kDigest2,
         "docker.io/library/alpine:3.20@" + kDigest2, "alpine:3.20@" + kDigest2},
        {"user/name@" + kDigest, "docker.io", "user/name", "", kDigest, "docker.io/user/name@" + kDigest,
         "user/name@" + kDigest},
        {"docker.io/library/a/b@" + kDigest, "docker.io", "library/a/b", "", kDigest,
         "docker.io/library/a/b@" + kDigest, "library/a/b@" + kDigest},
        {"localhost:5000/a@" + kDigest, "localhost:5000", "a", "", kDigest, "localhost:5000/a@" + kDigest,
         "localhost:5000/a@" + kDigest},
        {"localhost:65535/a/b/c:tag@" + kDigest2, "localhost:65535", "a/b/c", "tag", kDigest2,
         "localhost:65535/a/b/c:tag@" + kDigest2, "localhost:65535/a/b/c:tag@" + kDigest2},
        {"[::1]:5000/x@" + kDigest, "[::1]:5000", "x", "", kDigest, "[::1]:5000/x@" + kDigest,
         "[::1]:5000/x@" + kDigest},
    };
}

struct Invalid {
    std::string input;
    std::string reason;  // a substring of the message
};

std::vector<Invalid> invalid_rows() {
    const std::string upper_hex = "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855";
    return {
        {"", "reference is empty"},
        {"Alpine", "repository name must be lowercase"},
        {"alpinE:3", "repository name must be lowercase"},
        {"ALPINE:latest", "repository name must be lowercase"},
        {"library/Alpine", "repository name must be lowercase"},
        {"localhost/Foo", "repository name must be lowercase"},
        {"example.com/a/B", "repository name must be lowercase"},
        {"FOO/Bar", "repository name must be lowercase"},
        {"alpine:", "invalid tag"},
        {"a:tag:tag", "invalid tag"},
        {"a:-tag", "invalid tag"},
        {"a:.tag", "invalid tag"},
        {"a:t+g", "invalid tag"},
        {"alpine:v" + repeat('x', 128), "invalid tag: too long"},
        {":tag", "repository name is empty"},
        {"example.com/", "repository name is empty"},
        {"example.com/:tag", "repository name is empty"},
        {"a//b", "empty path component"},
        {"/a", "empty path component"},
        {"a/", "empty path component"},
        {"a/b/", "empty path component"},
        {"-a", "must start with a lowercase letter or digit"},
        {"a/-b", "must start with a lowercase letter or digit"},
        {"_a", "must start with a lowercase letter or digit"},
        {" alpine", "must start with a lowercase letter or digit"},
        {"\xc3\xa9", "must start with a lowercase letter or digit"},
        {"a-", "must end with a lowercase letter or digit"},
        {"alpine ", "must end with a lowercase letter or digit"},
        {"a..b", "invalid separator"},
        {"a___b", "invalid separator"},
        {"a._b", "invalid separator"},
        {"a-.b", "invalid separator"},
        {"a b", "invalid separator"},
        {"a$b", "invalid separator"},
        {"a@sha256:short", "invalid digest"},
        {"a@sha256:" + kHex.substr(1), "invalid digest"},
        {"a@sha256:" + kHex + "0", "invalid digest"},
        {"a@sha256:" + upper_hex, "invalid digest: sha256 digest must be lowercase hex"},
        {"a@md5:d41d8cd98f00b204e9800998ecf8427e", "unsupported digest algorithm \"md5\""},
        {"a@sha512:" + kHex + kHex, "unsupported digest algorithm \"sha512\""},
        {"a@SHA256:" + kHex, "unsupported digest algorithm"},
        {"a@", "invalid digest: digest is empty"},
        {"a@sha256", "invalid digest"},
        {"a@" + kHex, "invalid digest"},
        {"a@" + kDigest + "@" + kDigest, "invalid digest"},
        {"a:t@g", "invalid digest"},
        {"localhost:port/x", "invalid registry port"},
        {"localhost:/x", "invalid registry port"},
        {"localhost:50a0/x", "invalid registry port"},
        {"a:ta/g", "invalid registry port"},
        {"[::1]:/x", "invalid registry port"},
        {"example.com:5000:6000/x", "invalid registry port"},
        {"-example.com/x", "invalid registry host"},
        {"example-.com/x", "invalid registry host"},
        {"exa_mple.com/x", "invalid registry host"},
        {"example..com/x", "invalid registry host"},
        {".example.com/x", "invalid registry host"},
        {"[::1/x", "invalid registry host"},
        {"[]:5000/x", "invalid registry host"},
        {"[::g]/x", "invalid registry host"},
        {"[::1]x/y", "invalid registry host"},
        {":5000/x", "invalid registry host"},
        {kHex, "64-character hex image ID"},
        {repeat('a', 248), "repository name too long"},
        {"example.com/" + repeat('b', 256), "repository name too long"},
        {"a/" + repeat('b', 254), "repository name too long"},
    };
}

std::string error_of(const std::string& input) {
    try {
        Reference::parse(input);
    } catch (const minirun::Error& e) {
        return e.what();
    }
    return "<no error>";
}

}  // namespace

TEST_CASE("reference: valid inputs parse and normalise like Docker") {
    auto rows = valid_rows();
    CHECK(rows.size() >= 60);
    for (const auto& row : rows) {
        CAPTURE(row.input);
        Reference ref;
        REQUIRE_NOTHROW(ref = Reference::parse(row.input));
        CHECK(ref.registry == row.registry);
        CHECK(ref.repository == row.repository);
        CHECK(ref.tag == row.tag);
        CHECK(ref.digest == row.digest);
        CHECK(ref.name() == row.registry + "/" + row.repository);
        CHECK(ref.str() == row.str);
        CHECK(ref.familiar() == row.familiar);
    }
}

TEST_CASE("reference: str() and familiar() parse back to the same reference") {
    for (const auto& row : valid_rows()) {
        CAPTURE(row.input);
        auto ref = Reference::parse(row.input);
        CHECK(Reference::parse(ref.str()) == ref);
        CHECK(Reference::parse(ref.familiar()) == ref);
    }
}

TEST_CASE("reference: invalid inputs are refused with a one-line message naming the input") {
    auto rows = invalid_rows();
    CHECK(rows.size() >= 30);
    for (const auto& row : rows) {
        CAPTURE(row.input);
        CHECK_THROWS_AS(Reference::parse(row.input), minirun::Error);
        auto msg = error_of(row.input);
        CHECK(msg.starts_with("invalid reference \"" + row.input + "\": "));
        CHECK(msg.find(row.reason) != std::string::npos);
        CHECK(msg.find('\n') == std::string::npos);
    }
}

TEST_CASE("reference: control characters are escaped so the message stays on one line") {
    auto msg = error_of("a\nb\"c");
    CHECK(msg.starts_with("invalid reference \"a\\x0ab\\\"c\": "));
    CHECK(msg.find('\n') == std::string::npos);
}

TEST_CASE("reference: api_host maps Docker Hub to its registry endpoint") {
    CHECK(Reference::parse("alpine").api_host() == "registry-1.docker.io");
    CHECK(Reference::parse("index.docker.io/foo/bar").api_host() == "registry-1.docker.io");
    CHECK(Reference::parse("localhost:5000/a").api_host() == "localhost:5000");
    CHECK(Reference::parse("[::1]:5000/a").api_host() == "[::1]:5000");
    CHECK(Reference::parse("ghcr.io/o/r").api_host() == "ghcr.io");
}

TEST_CASE("reference: manifest_ref prefers the digest over the tag") {
    CHECK(Reference::parse("alpine").manifest_ref() == "latest");
    CHECK(Reference::parse("alpine:3.20").manifest_ref() == "3.20");
    CHECK(Reference::parse("alpine@" + kDigest).manifest_ref() == kDigest);
    CHECK(Reference::parse("alpine:3.20@" + kDigest).manifest_ref() == kDigest);
}

TEST_CASE("reference: digest validation accepts only sha256 with 64 lowercase hex digits") {
    using minirun::image::is_valid_digest;
    using minirun::image::validate_digest;
    CHECK(is_valid_digest(kDigest));
    CHECK(is_valid_digest(kDigest2));
    CHECK_FALSE(is_valid_digest(""));
    CHECK_FALSE(is_valid_digest(kHex));
    CHECK_FALSE(is_valid_digest("sha256:"));
    CHECK_FALSE(is_valid_digest("sha256:" + kHex.substr(2)));
    CHECK_FALSE(is_valid_digest("sha256:" + kHex.substr(0, 63) + "g"));
    CHECK_FALSE(is_valid_digest("sha256:" + kHex.substr(0, 63) + "A"));
    CHECK_FALSE(is_valid_digest("sha512:" + kHex + kHex));
    CHECK_FALSE(is_valid_digest(" " + kDigest));
    CHECK_NOTHROW(validate_digest(kDigest));
    CHECK_THROWS_WITH_AS(validate_digest("md5:d41d8cd98f00b204e9800998ecf8427e", "layer digest"),
                         "invalid layer digest \"md5:d41d8cd98f00b204e9800998ecf8427e\": unsupported digest "
                         "algorithm \"md5\" (only sha256 is accepted)",
                         minirun::Error);
    CHECK_THROWS_WITH_AS(validate_digest("sha256:abc"),
                         "invalid digest \"sha256:abc\": sha256 digest must have 64 hex digits, not 3", minirun::Error);
}
