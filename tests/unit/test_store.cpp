// The store's atomic writes, index updates and leftover sweeping.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/common/sha256.hpp"
#include "minirun/image/store.hpp"
#include "minirun/registry/pull.hpp"

using namespace minirun;
using namespace minirun::image;
namespace stdfs = std::filesystem;

namespace {
struct TempStore {
    stdfs::path dir = stdfs::temp_directory_path() / ("minirun-store-" + fs::unique_suffix());
    ~TempStore() { stdfs::remove_all(dir); }
};
size_t count_files(const stdfs::path& d) {
    size_t n = 0;
    for ([[maybe_unused]] auto& e : stdfs::directory_iterator(d)) ++n;
    return n;
}
}  // namespace

TEST_CASE("store: a fresh store is an OCI layout") {
    TempStore t;
    Store s(t.dir);
    CHECK(fs::read_file(t.dir / "store/oci-layout").find("1.0.0") != std::string::npos);
    CHECK(fs::read_file(t.dir / "store/index.json").find("\"manifests\"") != std::string::npos);
    CHECK(s.list_images().empty());
}

TEST_CASE("store: blobs are verified before they get their final name") {
    TempStore t;
    Store s(t.dir);
    std::string d = s.put_blob("hello");
    CHECK(d == sha256_digest("hello"));
    CHECK(s.has_blob(d));
    CHECK(s.read_blob(d) == "hello");
    std::string wrong = "sha256:" + std::string(64, '0');
    CHECK_THROWS_WITH_AS(s.put_blob("other", wrong), doctest::Contains("digest mismatch"), Error);
    CHECK_FALSE(s.has_blob(wrong));
    {
        BlobWriter w = s.begin_blob();
        w.write("abc", 3);
        CHECK_THROWS_WITH_AS(w.commit(sha256_digest("abc"), 4), doctest::Contains("size mismatch"), Error);
    }
    CHECK(count_files(t.dir / "store/blobs/sha256") == 1);  // only "hello"; temp files gone
}

TEST_CASE("store: a corrupted blob is detected on read") {
    TempStore t;
    Store s(t.dir);
    std::string d = s.put_blob("data");
    fs::write_file_atomic(s.blob_path(d), "tampered");
    CHECK_THROWS_WITH_AS(s.read_blob(d), doctest::Contains("corrupt"), Error);
}

TEST_CASE("store: names in index.json as ref.name annotations, concurrent updates keep all") {
    TempStore t;
    Store s(t.dir);
    std::string d = s.put_blob("{}");
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i)
        threads.emplace_back([&, i] {
            Store local(t.dir);
            Descriptor desc{std::string(media::kOciManifest), d, 2, std::nullopt, {}};
            local.set_image("docker.io/library/img" + std::to_string(i) + ":latest", desc);
        });
    for (auto& th : threads) th.join();
    CHECK(s.list_images().size() == 8);
    CHECK(s.find_image("docker.io/library/img3:latest"));
    CHECK(fs::read_file(t.dir / "store/index.json").find("org.opencontainers.image.ref.name") != std::string::npos);
    CHECK(s.remove_image("docker.io/library/img3:latest"));
    CHECK_FALSE(s.remove_image("docker.io/library/img3:latest"));
    CHECK(s.list_images().size() == 7);
}

TEST_CASE("store: leftovers of dead processes are swept, live ones kept") {
    TempStore t;
    Store s(t.dir);
    // pid 2^22-1 is above the default pid_max range used here: treated as dead.
    auto dead = t.dir / "store/blobs/sha256" / ".tmp-4194000-1-1";
    auto dead_layer = t.dir / "layers" / ".tmp-4194000-2-2";
    auto live = t.dir / "store/blobs/sha256" / (".tmp-" + std::to_string(::getpid()) + "-9-9");
    fs::write_file_atomic(dead, "partial");
    stdfs::create_directories(dead_layer / "usr/bin");
    fs::write_file_atomic(live, "in progress");
    s.sweep_leftovers();
    CHECK_FALSE(stdfs::exists(dead));
    CHECK_FALSE(stdfs::exists(dead_layer));
    CHECK(stdfs::exists(live));
}

TEST_CASE("store: commit_layer keeps the first of two concurrent unpacks") {
    TempStore t;
    Store s(t.dir);
    std::string id = "sha256:" + std::string(64, 'e');
    auto a = s.make_layer_tmp();
    fs::write_file_atomic(a / "f", "first");
    s.commit_layer(a, id);
    auto b = s.make_layer_tmp();
    fs::write_file_atomic(b / "f", "second");
    s.commit_layer(b, id);
    CHECK(fs::read_file(s.layer_dir(id) / "f") == "first");
    CHECK_FALSE(stdfs::exists(b));
}

TEST_CASE("store: garbage collection removes only unreferenced content") {
    TempStore t;
    Store s(t.dir);
    std::string layer_blob = s.put_blob("layer-bytes");
    std::string diff = "sha256:" + std::string(64, '1');
    std::string config = s.put_blob(R"({"os":"linux","architecture":"amd64","rootfs":{"type":"layers","diff_ids":[")" +
                                    diff + R"("]}})");
    std::string manifest = s.put_blob(
        R"({"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" + config +
        R"(","size":1},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":")" + layer_blob +
        R"(","size":11}]})");
    auto l = s.make_layer_tmp();
    s.commit_layer(l, diff);
    std::string orphan = s.put_blob("orphan");
    s.set_image("localhost/x:1", Descriptor{std::string(media::kOciManifest), manifest, 1, std::nullopt, {}});
    CHECK(s.garbage_collect() == 1);
    CHECK_FALSE(s.has_blob(orphan));
    CHECK(s.has_blob(layer_blob));
    CHECK(s.has_layer(diff));
    s.remove_image("localhost/x:1");
    CHECK(s.garbage_collect() == 4);
    CHECK_FALSE(s.has_layer(diff));
}

TEST_CASE("ensure_image: the pull policy, parsed once, never refuses a missing image naming where") {
    using registry::PullPolicy;
    CHECK(registry::parse_pull_policy("missing") == PullPolicy::missing);
    CHECK(registry::parse_pull_policy("always") == PullPolicy::always);
    CHECK(registry::parse_pull_policy("never") == PullPolicy::never);
    CHECK_THROWS_WITH_AS(registry::parse_pull_policy("sometimes"), "invalid --pull \"sometimes\": use missing, always or never",
                         Error);
    TempStore t;
    Store s(t.dir);
    CHECK_THROWS_WITH_AS(registry::ensure_image(s, "localhost/absent:1", PullPolicy::never, {}, {}, "Containerfile:1"),
                         "Containerfile:1: image localhost/absent:1 is not in the store and --pull=never", Error);
}

TEST_CASE("oci layout: init, names replaced by set_ref, a damaged index named") {
    stdfs::path dir = stdfs::temp_directory_path() / ("minirun-layout-" + fs::unique_suffix());
    OciLayout layout(dir);
    layout.init();
    CHECK(stdfs::is_directory(dir / "blobs/sha256"));
    CHECK(fs::read_file(dir / "oci-layout", 1024) == R"({"imageLayoutVersion":"1.0.0"})");
    CHECK(layout.manifests().empty());

    auto desc = [](char c) {
        Descriptor d;
        d.media_type = std::string(media::kOciManifest);
        d.digest = "sha256:" + std::string(64, c);
        d.size = 100;
        return d;
    };
    layout.set_ref("v1", desc('a'));
    layout.set_ref("v2", desc('b'));
    layout.set_ref("v1", desc('c'));  // the name moves; the other stays
    auto list = layout.manifests();
    REQUIRE(list.size() == 2);
    CHECK(list[0].digest == desc('b').digest);
    CHECK(list[0].annotations.at(std::string(kRefNameAnnotation)) == "v2");
    CHECK(list[1].digest == desc('c').digest);
    CHECK(list[1].annotations.at(std::string(kRefNameAnnotation)) == "v1");
    layout.init();  // an existing layout is left as it is
    CHECK(layout.manifests().size() == 2);

    CHECK(layout.blob_path(desc('a').digest) == dir / "blobs/sha256" / std::string(64, 'a'));
    CHECK_THROWS_AS(layout.blob_path("sha256:../../etc/passwd"), Error);

    fs::write_file_atomic(dir / "index.json", R"({"manifests": [)");
    try {
        layout.manifests();
        FAIL("a damaged index.json was read");
    } catch (const Error& e) {
        CHECK(std::string(e.what()).find("index.json is not valid JSON") != std::string::npos);
    }
    fs::write_file_atomic(dir / "index.json", R"({"manifests": [{"digest": "sha256:zz", "size": 1}]})");
    CHECK_THROWS_AS(layout.manifests(), Error);
    stdfs::remove_all(dir);
}
