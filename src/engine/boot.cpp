// `minirun boot`: bring the host's containers back after a reboot, without a daemon.
// A reboot leaves records that say "running" while nothing runs: their runtime entries
// (under <storage>/run, on disk), their network endpoints (addresses and ports still
// reserved) and their rootfs mount points. The sweep frees those, then starts what
// Docker's daemon would restart on its own start.
#include <algorithm>

#include "minirun/common/error.hpp"
#include "minirun/common/log.hpp"
#include "minirun/engine/compose_labels.hpp"
#include "minirun/engine/engine.hpp"
#include "minirun/runtime/state.hpp"
#include "minirun/common/time.hpp"

namespace minirun::engine {

namespace {

bool should_start(const ContainerRecord& rec, bool was_running) {
    const std::string& policy = rec.restart.name;
    if (policy == "always") return true;
    if (policy == "unless-stopped") return !rec.stop_requested;
    // Not restarted on exit, but running when the host went down: apply declared it running.
    if (policy == "on-failure" || rec.labels.count(kComposeProjectLabel)) return was_running && !rec.stop_requested;
    return false;
}

}  // namespace

std::vector<BootAction> Engine::boot() {
    std::vector<BootAction> out;
    std::vector<ContainerRecord> to_start;
    for (const ContainerRecord& stored : containers_.list()) {
        ContainerRecord rec = refresh(stored);
        if (rec.status == "running") continue;  // a second run of boot: leave it alone
        bool was_running = stored.status == "running" || stored.status == "restarting";
        if (was_running) {
            BootAction a{rec.name, "swept", ""};
            try {
                cleanup(rec, rec.auto_remove);
                if (rec.auto_remove) {
                    a.action = "removed";
                    out.push_back(a);
                    continue;
                }
                if (rec.finished_at.empty()) rec.finished_at = rfc3339_now();
                rec.pid = 0;
                containers_.save(rec);
            } catch (const Error& e) {
                a.action = "failed", a.error = e.what();
                out.push_back(a);
                continue;
            }
            out.push_back(a);
        }
        if (should_start(rec, was_running)) to_start.push_back(rec);
    }
    // Oldest first: apply creates dependencies before their dependants.
    std::stable_sort(to_start.begin(), to_start.end(),
                     [](const ContainerRecord& a, const ContainerRecord& b) { return a.created < b.created; });
    for (auto& rec : to_start) {
        BootAction a{rec.name, "started", ""};
        try {
            start(rec.id);
        } catch (const Error& e) {
            a.action = "failed", a.error = e.what();
            log::warn("boot: " + rec.name + ": " + e.what());
        }
        out.push_back(a);
    }
    return out;
}

}  // namespace minirun::engine
