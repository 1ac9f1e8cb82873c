// The build cache: step keys and the entries that name a step's layer.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "minirun/common/fs.hpp"
#include "minirun/image/build_cache.hpp"
#include "minirun/image/store.hpp"

using namespace minirun;
using namespace minirun::image;
namespace stdfs = std::filesystem;

namespace {
struct ScratchCache {
    stdfs::path root = stdfs::temp_directory_path() / ("minirun-cache-" + fs::unique_suffix());
    image::Store store{root};
    BuildCache cache{store};
    ~ScratchCache() { stdfs::remove_all(root); }
};
}  // namespace

TEST_CASE("build cache: a step key changes with each of its inputs") {
    StepKeyInputs base{"sha256:parent", "RUN [\"true\"] user= cwd=/", "gzip", 0};
    std::string k = step_key(base);
    CHECK(k.rfind("sha256:", 0) == 0);
    CHECK(k.size() == 71);
    CHECK(step_key(base) == k);  // deterministic
    auto changed = [&](auto edit) {
        StepKeyInputs in = base;
        edit(in);
        return step_key(in) != k;
    };
    CHECK(changed([](StepKeyInputs& in) { in.parent_chain = "sha256:other"; }));
    CHECK(changed([](StepKeyInputs& in) { in.instruction += " "; }));
    CHECK(changed([](StepKeyInputs& in) { in.compression = "zstd"; }));
    CHECK(changed([](StepKeyInputs& in) { in.source_date_epoch = 1; }));
}

TEST_CASE("build cache: entries round-trip, damaged or orphaned ones are misses") {
    ScratchCache s;
    std::string key = step_key({"sha256:a", "WORKDIR /x", "gzip", 0});
    CHECK_FALSE(s.cache.find(key).has_value());

    // A step that changed no file is remembered as "no layer".
    s.cache.remember(key, CachedStep{});
    auto hit = s.cache.find(key);
    REQUIRE(hit.has_value());
    CHECK_FALSE(hit->has_value());

    // A layer entry whose blob and layer the store no longer has is a miss.
    std::string key2 = step_key({"sha256:b", "COPY a /a", "gzip", 0});
    LayerRef gone;
    gone.blob.media_type = "application/vnd.oci.image.layer.v1.tar+gzip";
    gone.blob.digest = "sha256:" + std::string(64, 'a');
    gone.blob.size = 10;
    gone.diff_id = "sha256:" + std::string(64, 'b');
    s.cache.remember(key2, gone);
    CHECK_FALSE(s.cache.find(key2).has_value());
    // ... but garbage collection still treats what an entry names as a root.
    GcRoots roots;
    s.cache.add_roots(roots);
    CHECK(roots.blobs.count(std::string(64, 'a')) == 1);
    CHECK(roots.layers.count(std::string(64, 'b')) == 1);

    // A torn or foreign entry is a miss, never an exception.
    std::string key3 = step_key({"sha256:c", "RUN x", "gzip", 0});
    {
        std::ofstream(image::build_cache_dir(s.root) / (key3.substr(7) + ".json")) << "{\"empty\": fal";
    }
    CHECK_FALSE(s.cache.find(key3).has_value());
}

TEST_CASE("build cache: COPY content digests remembered by stat digest") {
    ScratchCache s;
    std::string stat_hex(64, '1');
    CHECK_FALSE(s.cache.content_digest_for(stat_hex).has_value());
    std::string d = "sha256:" + std::string(64, 'c');
    s.cache.remember_content_digest(stat_hex, d);
    CHECK(s.cache.content_digest_for(stat_hex) == d);
    // A memo that is not a digest is ignored.
    { std::ofstream(image::build_cache_dir(s.root) / ("stat-" + std::string(64, '2'))) << "garbage"; }
    CHECK_FALSE(s.cache.content_digest_for(std::string(64, '2')).has_value());
    // prune forgets step entries and memos alike.
    s.cache.remember(step_key({"sha256:d", "RUN y", "gzip", 0}), CachedStep{});
    CHECK(s.cache.prune() == 1);
    CHECK_FALSE(s.cache.content_digest_for(stat_hex).has_value());
}
