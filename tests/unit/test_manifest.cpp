// Manifest, index and config parsing; platform selection.
#include <doctest/doctest.h>

#include <string>

#include "minirun/common/error.hpp"
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
