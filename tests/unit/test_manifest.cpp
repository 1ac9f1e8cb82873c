// Manifest, index and config parsing; platform selection.
#include <doctest/doctest.h>

#include <string>

#include "minirun/common/error.hpp"
#include "minirun/image/image_config.hpp"
#include "minirun/image/manifest.hpp"

using namespace minirun;
using namespace minirun::image;

namespace {
const std::string kD1 = "sha256:" + std::string(64, 'a');
const std::string kD2 = "sha256:" + std::string(64, 'b');
const std::string kD3 = "sha256:" + std::string(64, 'c');

std::string manifest_json(const std::string& layer_type = "application/vnd.oci.image.layer.v1.tar+gzip") {
    return R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
      "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" + kD1 + R"(","size":100},
      "layers":[{"mediaType":")" + layer_type + R"(","digest":")" + kD2 + R"(","size":2000}]})";
}
}  // namespace

TEST_CASE("manifest: OCI image manifest") {
    auto m = parse_manifest(manifest_json());
    CHECK(m.config.digest == kD1);
    REQUIRE(m.layers.size() == 1);
    CHECK(m.layers[0].size == 2000);
    CHECK(classify_manifest(m.media_type) == ManifestKind::image);
}

TEST_CASE("manifest: malformed and unsupported documents are refused") {
    CHECK_THROWS_WITH_AS(parse_manifest("{"), doctest::Contains("not valid JSON"), Error);
    CHECK_THROWS_WITH_AS(parse_manifest("[]"), doctest::Contains("not a JSON object"), Error);
    CHECK_THROWS_WITH_AS(parse_manifest(R"({"schemaVersion":1})"), doctest::Contains("schemaVersion"), Error);
    CHECK_THROWS_WITH_AS(parse_manifest(R"({"schemaVersion":2,"layers":[]})"), doctest::Contains("config"), Error);
    std::string bad_digest = manifest_json();
    bad_digest.replace(bad_digest.find(kD2), 10, "sha256:zzz");
    CHECK_THROWS_WITH_AS(parse_manifest(bad_digest), doctest::Contains("invalid digest"), Error);
    CHECK_THROWS_WITH_AS(parse_manifest(manifest_json("text/html")), doctest::Contains("unsupported layer media type"), Error);
    CHECK_THROWS_WITH_AS(classify_manifest("application/vnd.docker.distribution.manifest.v1+prettyjws"),
                         doctest::Contains("schema 1"), Error);
    CHECK_THROWS_WITH_AS(classify_manifest("text/html"), doctest::Contains("unsupported manifest media type"), Error);
    std::string negative = manifest_json();
    negative.replace(negative.find("2000"), 4, "-5");
    CHECK_THROWS_AS(parse_manifest(negative), Error);
}

TEST_CASE("manifest: media type from header, field or shape") {
    CHECK(manifest_media_type(manifest_json(), "application/vnd.docker.distribution.manifest.v2+json; charset=utf-8") ==
          "application/vnd.docker.distribution.manifest.v2+json");
    CHECK(manifest_media_type(manifest_json(), "application/json") == std::string(media::kOciManifest));
    CHECK(manifest_media_type(R"({"schemaVersion":2,"manifests":[]})", "") == std::string(media::kOciIndex));
}

TEST_CASE("manifest: platform selection skips attestations and reports what exists") {
    std::string idx = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
      {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" + kD1 + R"(","size":1,
       "platform":{"os":"linux","architecture":"arm64","variant":"v8"}},
      {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" + kD3 + R"(","size":1,
       "platform":{"os":"unknown","architecture":"unknown"},
       "annotations":{"vnd.docker.reference.type":"attestation-manifest"}},
      {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" + kD2 + R"(","size":1,
       "platform":{"os":"linux","architecture":"amd64"}}]})";
    Index index = parse_index(idx);
    CHECK(select_platform(index, Platform::parse("linux/amd64")).digest == kD2);
    CHECK(select_platform(index, Platform::parse("linux/arm64")).digest == kD1);
    CHECK(select_platform(index, Platform::parse("linux/arm64/v8")).digest == kD1);
    CHECK_THROWS_WITH_AS(select_platform(index, Platform::parse("linux/s390x")),
                         doctest::Contains("available: linux/arm64/v8, linux/amd64"), Error);
}

TEST_CASE("manifest: platform strings") {
    CHECK(Platform::parse("linux/x86_64").architecture == "amd64");
    CHECK(Platform::parse("Linux/ARM/v7").str() == "linux/arm/v7");
    CHECK_THROWS_AS(Platform::parse("linux"), Error);
    CHECK_THROWS_AS(Platform::parse("linux//"), Error);
    CHECK(Platform::host().os == "linux");
}

TEST_CASE("manifest: image config diff_ids") {
    auto c = parse_image_config(R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[")" + kD1 +
                                R"("]}})");
    CHECK(c.diff_ids == std::vector<std::string>{kD1});
    CHECK_THROWS_AS(parse_image_config(R"({"rootfs":{"diff_ids":["md5:x"]}})"), Error);
    CHECK_THROWS_AS(parse_image_config(R"({"os":"linux"})"), Error);
}

TEST_CASE("image config: Docker's fields typed, and written back the same") {
    const std::string doc = R"({"created":"2026-01-02T03:04:05Z","author":"me","architecture":"arm64","variant":"v8",
        "os":"linux","config":{"User":"app","ExposedPorts":{"80/tcp":{},"53/udp":{}},"Env":["A=1"],
        "Entrypoint":["/e"],"Cmd":["c"],"Volumes":{"/data":{}},"WorkingDir":"/w","Labels":{"k":"v"},
        "StopSignal":"SIGQUIT","Healthcheck":{"Test":["CMD-SHELL","true"],"Interval":2000000000,"Retries":4},
        "OnBuild":["RUN echo hi"],"Shell":["/bin/bash","-c"],"ArgsEscaped":true},
        "rootfs":{"type":"layers","diff_ids":[")" + kD1 + R"("]},
        "history":[{"created_by":"RUN x","empty_layer":true},{"created":"2026-01-02T03:04:05Z","comment":"c"}]})";
    auto c = parse_image_config(doc);
    CHECK(c.platform.str() == "linux/arm64/v8");
    CHECK(c.created == "2026-01-02T03:04:05Z");
    CHECK(c.author == "me");
    CHECK(c.config.exposed_ports == std::vector<std::string>{"53/udp", "80/tcp"});
    REQUIRE(c.config.healthcheck.has_value());
    CHECK(c.config.healthcheck->test == std::vector<std::string>{"CMD-SHELL", "true"});
    CHECK(c.config.healthcheck->interval_ns == 2000000000);
    CHECK(c.config.healthcheck->timeout_ns == 0);  // 0: the default, decided by whoever runs it
    CHECK(c.config.healthcheck->retries == 4);
    CHECK(c.config.on_build == std::vector<std::string>{"RUN echo hi"});
    CHECK(c.config.shell == std::vector<std::string>{"/bin/bash", "-c"});
    CHECK(c.config.args_escaped);
    REQUIRE(c.history.size() == 2);
    CHECK(c.history[0].empty_layer);
    CHECK(c.history[1].comment == "c");
    // The writer and the parser agree: what is written reads back as the same config.
    auto again = parse_image_config(image_config_json(c));
    CHECK(again.config == c.config);
    CHECK(again.history == c.history);
    CHECK(again.diff_ids == c.diff_ids);
    CHECK(again.platform.str() == c.platform.str());
    CHECK(image_config_json(again) == image_config_json(c));
    // Wrong types read as absent rather than failing the image.
    auto odd = parse_image_config(R"({"config":{"Env":"A=1","User":5,"Healthcheck":[]},"rootfs":{"diff_ids":[]}})");
    CHECK(odd.config.env.empty());
    CHECK(odd.config.user.empty());
    CHECK_FALSE(odd.config.healthcheck.has_value());
}

TEST_CASE("image config: the typed container config written over a config object keeps unknown fields") {
    minirun::image::ContainerConfig c;
    c.env = {"A=1"};
    c.working_dir = "/app";
    std::string merged =
        minirun::image::merge_container_config(R"({"Hostname":"h","Tty":false,"Env":["OLD=1"],"Cmd":["old"],"WorkingDir":"/"})", c);
    CHECK(merged == R"({"Env":["A=1"],"Hostname":"h","Tty":false,"WorkingDir":"/app"})");
    CHECK(minirun::image::merge_container_config("not json", c) == R"({"Env":["A=1"],"WorkingDir":"/app"})");
}

TEST_CASE("image config: merge_image_config keeps unknown keys, the typed fields replace the rest") {
    ImageConfig c;
    c.platform = {"linux", "amd64", ""};
    c.created = "2024-01-01T00:00:00Z";
    c.config.cmd = {"sh"};
    c.diff_ids = {"sha256:" + std::string(64, 'a')};
    c.history = {{"2024-01-01T00:00:00Z", "RUN x", "", "imgbuild", false}, {"", "CMD", "", "", true}};
    std::string doc = R"({"architecture":"arm64","variant":"v8","author":"old","moby.buildkit":"kept",)"
                      R"("config":{"Hostname":"h","Cmd":["old"]},"history":[{"created_by":"base"}],)"
                      R"("rootfs":{"type":"layers","diff_ids":[]}})";
    std::string merged = merge_image_config(doc, c);
    CHECK(merged ==
          R"({"architecture":"amd64","config":{"Cmd":["sh"],"Hostname":"h"},"created":"2024-01-01T00:00:00Z",)"
          R"("history":[{"comment":"imgbuild","created":"2024-01-01T00:00:00Z","created_by":"RUN x"},)"
          R"({"created_by":"CMD","empty_layer":true}],"moby.buildkit":"kept","os":"linux",)"
          R"("rootfs":{"diff_ids":["sha256:)" + std::string(64, 'a') + R"("],"type":"layers"}})");
    // What it writes reads back as the typed config.
    ImageConfig back = parse_image_config(merged);
    CHECK(back.config == c.config);
    CHECK(back.history == c.history);
    CHECK(back.diff_ids == c.diff_ids);
    CHECK(back.platform.variant.empty());
}

TEST_CASE("manifest and index writers read back through their parsers") {
    Manifest m;
    m.media_type = std::string(media::kOciManifest);
    m.config = {std::string(media::kOciConfig), "sha256:" + std::string(64, 'c'), 123, std::nullopt, {}};
    m.layers.push_back({std::string(media::kOciLayerGzip), "sha256:" + std::string(64, 'e'), 456, std::nullopt, {}});
    std::string text = manifest_json(m);
    // The key order and shape digests depend on.
    CHECK(text.rfind(R"({"config":{"digest":"sha256:)", 0) == 0);
    CHECK(text.find(R"("schemaVersion":2)") != std::string::npos);
    Manifest back = parse_manifest(text);
    CHECK(back.config.digest == m.config.digest);
    CHECK(back.config.size == 123);
    REQUIRE(back.layers.size() == 1);
    CHECK(back.layers[0].digest == m.layers[0].digest);
    CHECK(back.layers[0].media_type == m.layers[0].media_type);

    Descriptor entry = m.config;
    entry.media_type = std::string(media::kOciManifest);
    entry.platform = Platform{"linux", "arm64", "v8"};
    entry.annotations["org.opencontainers.image.ref.name"] = "v1";
    Index idx = parse_index(index_json(Index{std::string(media::kOciIndex), {entry}}));
    REQUIRE(idx.manifests.size() == 1);
    CHECK(idx.manifests[0].platform->variant == "v8");
    CHECK(idx.manifests[0].annotations.at("org.opencontainers.image.ref.name") == "v1");
}
