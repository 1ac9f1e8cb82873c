// Images as sources and sinks: the store and OCI layouts are interchangeable ends of
// copy_image, a source's blobs are checked on the way into a sink, and a layout names its
// images by ref name.
#include <doctest/doctest.h>
#include <fcntl.h>

#include <filesystem>
#include <map>

#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/common/sha256.hpp"
#include "minirun/image/image_config.hpp"
#include "minirun/image/image_source.hpp"
#include "minirun/image/layer_pack.hpp"
#include "minirun/image/oci_layout.hpp"
#include "minirun/image/store.hpp"
#include "scratch_dir.hpp"

using namespace minirun;
using namespace minirun::image;
namespace stdfs = std::filesystem;

namespace {

Descriptor blob(std::string_view media_type, const std::string& data) {
    Descriptor d;
    d.media_type = media_type;
    d.digest = sha256_digest(data);
    d.size = static_cast<int64_t>(data.size());
    return d;
}

// A store holding one image named `name` with two layers; returns its manifest.
Descriptor store_image(Store& store, const std::string& name, const std::string& salt) {
    std::string layer1 = "layer one " + salt, layer2 = "layer two " + salt;
    std::string config = R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"salt":")" + salt + "\"}";
    Manifest m;
    m.media_type = media::kOciManifest;
    m.config = blob(media::kOciConfig, config);
    m.layers = {blob(media::kOciLayerGzip, layer1), blob(media::kOciLayerGzip, layer2)};
    for (auto* data : {&layer1, &layer2, &config}) store.put_blob(*data);
    std::string text = manifest_json(m);
    store.put_blob(text);
    Descriptor md = blob(media::kOciManifest, text);
    store.set_image(name, md);
    return md;
}

// An in-memory source that can lie: its blobs need not match their digests.
class MemorySource final : public ImageSource {
public:
    Descriptor top;
    std::map<std::string, std::string> blobs;
    std::string location() const override { return "memory"; }
    const Descriptor& manifest() const override { return top; }
    bool has_blob(std::string_view d) const override { return blobs.count(std::string(d)) != 0; }
    fs::UniqueFd open_blob(std::string_view d) const override {
        auto path = stdfs::temp_directory_path() / ("minirun-memory-blob-" + fs::unique_suffix());
        fs::write_file_atomic(path, blobs.at(std::string(d)));
        fs::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        stdfs::remove(path);
        return fd;
    }
    std::optional<stdfs::path> blob_file(std::string_view) const override { return std::nullopt; }
};

}  // namespace

TEST_CASE("image source: store → OCI layout → OCI layout keeps every byte and the digest") {
    test::ScratchDir t("image-source");
    Store store(t.p / "store");
    Descriptor md = store_image(store, "example.com/app:1", "a");
    auto from_store = store_source(store, "example.com/app:1");
    CHECK(from_store->location() == "the store");
    CHECK(from_store->manifest().digest == md.digest);

    auto sink = layout_sink(t.p / "layout", "v1");
    copy_image(*from_store, *sink);
    OciLayout layout(t.p / "layout");
    auto entries = layout.manifests();
    REQUIRE(entries.size() == 1);
    CHECK(entries[0].digest == md.digest);
    CHECK(entries[0].annotations.at(std::string(kRefNameAnnotation)) == "v1");
    // The store's own names stay behind.
    CHECK(entries[0].annotations.size() == 1);

    auto from_layout = layout_source(t.p / "layout", "v1");
    CHECK(from_layout->location() == "oci:" + (t.p / "layout").string());
    SourceImage img = read_source_image(*from_layout);
    CHECK(img.manifest.layers.size() == 2);
    CHECK(img.manifest_bytes == store.read_blob(md.digest));
    CHECK(sha256_digest(from_layout->read_blob(img.manifest.config.digest, 1 << 20)) == img.manifest.config.digest);

    // A second copy adds a name, not blobs; the layout now holds two names.
    auto again = layout_sink(t.p / "layout", "v2");
    copy_image(*from_layout, *again);
    CHECK(layout.manifests().size() == 2);
    CHECK(layout_source(t.p / "layout", "v2")->manifest().digest == md.digest);
    CHECK_THROWS_WITH_AS(layout_source(t.p / "layout", ""), doctest::Contains("holds several images"), Error);
}

TEST_CASE("image source: missing images and blobs are named with where they were looked for") {
    test::ScratchDir t("image-source");
    Store store(t.p / "store");
    Descriptor md = store_image(store, "example.com/app:1", "b");
    try {
        layout_source(t.p / "store/store", "nope");
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::NotFound);
        CHECK(std::string(e.what()).find("has no image nope") != std::string::npos);
    }
    CHECK_THROWS_WITH_AS(store_source(store, "example.com/other:1"), "no image example.com/other:1 in the store", Error);

    auto sink = layout_sink(t.p / "layout", "v1");
    copy_image(*store_source(store, "example.com/app:1"), *sink);
    Manifest m = parse_manifest(store.read_blob(md.digest));
    stdfs::remove(OciLayout(t.p / "layout").blob_path(m.layers[1].digest));
    auto source = layout_source(t.p / "layout", "v1");
    CHECK_THROWS_WITH_AS(read_source_image(*source),
                         ("layer blob " + m.layers[1].digest + " is missing from oci:" + (t.p / "layout").string()).c_str(),
                         Error);
}

TEST_CASE("image source: a sink refuses a blob whose bytes do not match its digest") {
    test::ScratchDir t("image-source");
    MemorySource lying;
    std::string config = "{}", layer = "real bytes", manifest;
    Manifest m;
    m.media_type = media::kOciManifest;
    m.config = blob(media::kOciConfig, config);
    m.layers = {blob(media::kOciLayerGzip, layer)};
    manifest = manifest_json(m);
    lying.top = blob(media::kOciManifest, manifest);
    lying.blobs = {{lying.top.digest, manifest}, {m.config.digest, config}, {m.layers[0].digest, "other bytes"}};
    auto sink = layout_sink(t.p / "layout", "x");
    CHECK_THROWS_AS(copy_image(lying, *sink), Error);
    OciLayout layout(t.p / "layout");
    CHECK_FALSE(stdfs::exists(layout.blob_path(m.layers[0].digest)));
    CHECK(layout.manifests().empty());  // nothing named when a blob failed
}

TEST_CASE("image source: oci:DIR[:TAG] as skopeo spells it") {
    CHECK_FALSE(parse_oci_transport("alpine:3.20"));
    CHECK(*parse_oci_transport("oci:/srv/out") == std::make_pair(std::string("/srv/out"), std::string()));
    CHECK(*parse_oci_transport("oci:/srv/out:v2") == std::make_pair(std::string("/srv/out"), std::string("v2")));
    CHECK(*parse_oci_transport("oci:rel/dir:tag") == std::make_pair(std::string("rel/dir"), std::string("tag")));
    CHECK(*parse_oci_transport("oci:/a:b/c") == std::make_pair(std::string("/a:b/c"), std::string()));  // a colon in the path
    CHECK(*parse_oci_transport("oci-archive:/x.tar:t", "oci-archive") ==
          std::make_pair(std::string("/x.tar"), std::string("t")));
    CHECK_FALSE(parse_oci_transport("oci-archive:/x.tar"));  // another transport
    CHECK_THROWS_AS(parse_oci_transport("oci:"), Error);
    CHECK_THROWS_AS(parse_oci_transport("oci:/dir:"), Error);
}

namespace {

// A store image with one real layer (a packed directory) and a config naming its diff id.
Descriptor store_real_image(Store& store, const stdfs::path& scratch, const std::string& name, size_t diff_ids) {
    stdfs::create_directories(scratch / "rootfs/etc");
    fs::write_file_atomic(scratch / "rootfs/etc/motd", "hello from a layer\n");
    PackedLayer layer = pack_layer(store, scratch / "rootfs", PackOptions{});
    std::string ids;
    for (size_t i = 0; i < diff_ids; ++i) ids += (i ? ",\"" : "\"") + layer.diff_id + "\"";
    std::string config = R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[)" + ids + "]}}";
    Manifest m;
    m.media_type = media::kOciManifest;
    m.config = blob(media::kOciConfig, config);
    m.layers = {layer.blob};
    store.put_blob(config);
    std::string text = manifest_json(m);
    store.put_blob(text);
    Descriptor md = blob(media::kOciManifest, text);
    store.set_image(name, md);
    return md;
}

}  // namespace

TEST_CASE("image source: the store as a sink unpacks each layer, names the image last, and reuses what it has") {
    test::ScratchDir t("image-source");
    Store from(t.p / "from");
    Descriptor md = store_real_image(from, t.p, "example.com/app:1", 1);
    copy_image(*store_source(from, "example.com/app:1"), *layout_sink(t.p / "layout", "v1"));

    Store to(t.p / "to");
    auto layout = layout_source(t.p / "layout", "v1");
    CopyResult first;
    {
        auto sink = store_sink(to, "localhost/app:v1", 1 << 20);
        first = copy_image(*layout, *sink);
    }
    CHECK(first.layers.copied == 1);
    CHECK(first.config == BlobOutcome::copied);
    REQUIRE(first.platform);
    CHECK(first.platform->os == "linux");
    auto rec = to.find_image("localhost/app:v1");
    REQUIRE(rec);
    CHECK(rec->manifest.digest == md.digest);
    REQUIRE(rec->manifest.platform);
    CHECK(rec->manifest.platform->architecture == "amd64");
    Manifest m = parse_manifest(to.read_blob(md.digest, kMaxManifestBytes));
    std::string diff_id = parse_image_config(to.read_blob(m.config.digest)).diff_ids.at(0);
    CHECK(fs::read_file(to.layer_dir(diff_id) / "etc/motd", 100) == "hello from a layer\n");

    // Again: nothing moves. Without the unpacked layer: it is unpacked from the blob it has.
    CopyResult again = copy_image(*layout, *store_sink(to, "localhost/app:v1", 1 << 20));
    CHECK(again.layers.present == 1);
    CHECK(again.layers.copied == 0);
    remove_tree(to.layer_dir(diff_id));
    CopyResult reused = copy_image(*layout, *store_sink(to, "localhost/app:v2", 1 << 20));
    CHECK(reused.layers.reused == 1);
    CHECK(stdfs::exists(to.layer_dir(diff_id) / "etc/motd"));
}

TEST_CASE("image source: the store refuses an image whose config does not give each layer a diff id") {
    test::ScratchDir t("image-source");
    Store from(t.p / "from");
    store_real_image(from, t.p, "example.com/bad:1", 2);
    Store to(t.p / "to");
    CHECK_THROWS_WITH_AS(copy_image(*store_source(from, "example.com/bad:1"), *store_sink(to, "localhost/bad:1", 1 << 20)),
                         "malformed image: 1 layers but 2 diff_ids in the config", Error);
    CHECK_FALSE(to.find_image("localhost/bad:1"));
    // A layout needs no diff ids: the same image copies there.
    CHECK_NOTHROW(copy_image(*store_source(from, "example.com/bad:1"), *layout_sink(t.p / "layout", "x")));
}
