// Push driver for tests/integration/test_push.sh (there is no push CLI yet). Runs only with
// MINIRUN_PUSH_TEST=1; one push per run, configured by environment:
//   PUSH_STORE, PUSH_SOURCE (store image), PUSH_DEST (reference with tag),
//   PUSH_USER / PUSH_PASSWORD (optional credentials), PUSH_CHUNK (bytes, optional),
//   PUSH_MOUNT_FROM (comma-separated repositories, optional), PUSH_OUT (result file).
// PUSH_OUT gets "ok DIGEST uploaded=N mounted=N skipped=N" or "error MESSAGE".
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "minirun/common/error.hpp"
#include "minirun/image/image_source.hpp"
#include "minirun/image/reference.hpp"
#include "minirun/image/store.hpp"
#include "minirun/registry/push.hpp"

using namespace minirun;

namespace {

std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v ? v : "";
}

}  // namespace

TEST_CASE("push integration (MINIRUN_PUSH_TEST=1, driven by tests/integration/test_push.sh)") {
    if (env("MINIRUN_PUSH_TEST") != "1") {
        MESSAGE("skipped: set MINIRUN_PUSH_TEST=1 (run by tests/integration/test_push.sh)");
        return;
    }
    REQUIRE(!env("PUSH_STORE").empty());
    REQUIRE(!env("PUSH_OUT").empty());
    image::Store store(env("PUSH_STORE"));
    registry::PushOptions opts;
    opts.progress = registry::ProgressMode::plain;
    opts.registry.max_attempts = 5;
    opts.registry.backoff = std::chrono::milliseconds(100);
    if (!env("PUSH_USER").empty())
        opts.registry.credentials = registry::Credentials{env("PUSH_USER"), env("PUSH_PASSWORD"), ""};
    if (!env("PUSH_CHUNK").empty()) opts.chunk_size = opts.patch_threshold = std::stoull(env("PUSH_CHUNK"));
    std::string from = env("PUSH_MOUNT_FROM");
    for (size_t pos = 0; !from.empty() && pos <= from.size();) {
        size_t comma = from.find(',', pos);
        if (comma == std::string::npos) comma = from.size();
        if (comma > pos) opts.mount_from.push_back(from.substr(pos, comma - pos));
        pos = comma + 1;
    }
    std::ofstream out(env("PUSH_OUT"));
    try {
        auto source = image::store_source(store, env("PUSH_SOURCE"));
        auto r = registry::push_image(*source, image::Reference::parse(env("PUSH_DEST")), opts);
        out << "ok " << r.digest << " uploaded=" << r.uploaded << " mounted=" << r.mounted
            << " skipped=" << r.skipped << "\n";
        MESSAGE("pushed " << r.name << " " << r.digest << " uploaded=" << r.uploaded << " mounted=" << r.mounted
                          << " skipped=" << r.skipped);
    } catch (const Error& e) {
        out << "error " << e.what() << "\n";
        MESSAGE("push failed: " << e.what());
    }
}
