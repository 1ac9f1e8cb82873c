// `minirun boot`: bring the host's containers back after a reboot, without a daemon.
// A reboot leaves records that say "running" while nothing runs: their runtime entries
// (under <storage>/run, on disk), their network endpoints (addresses and ports still
// reserved) and their rootfs mount points. The sweep frees those, then starts what
// Docker's daemon would restart on its own start.
#include <algorithm>

#include "minirun/common/error.hpp"
#include "minirun/common/log.hpp"
#include "minirun/engine/engine.hpp"
#include "minirun/runtime/state.hpp"

namespace minirun::engine {

namespace {

constexpr const char* kComposeProject = "com.docker.compose.project";

bool should_start(const ContainerRecord& rec, bool was_running) {
    const std::string& policy = rec.restart.name;
    if (policy == "always") return true;
    if (policy == "unless-stopped") return !rec.stop_requested;
    // Not restarted on exit, but running when the host went down: apply declared it running.
    if (policy == "on-failure" || rec.labels.count(kComposeProject)) return was_running && !rec.stop_requested;
    return false;
}

}  // namespace

std::vector<BootAction> Engine::boot() {
    std::vector<BootAction> out;
    struct Candidate {
        ContainerRecord rec;
        bool was_running;
    };
    std::vector<Candidate> candidates;
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
                if (rec.finished_at.empty()) rec.finished_at = runtime::rfc3339_now();
                rec.pid = 0;
                containers_.save(rec);
            } catch (const Error& e) {
                a.action = "failed", a.error = e.what();
                out.push_back(a);
                continue;
            }
            out.push_back(a);
        }
        if (should_start(rec, was_running)) candidates.push_back({rec, was_running});
    }
    // Oldest first: apply creates dependencies before their dependants.
    std::stable_sort(candidates.begin(), candidates.end(),
                     [](const Candidate& a, const Candidate& b) { return a.rec.created < b.rec.created; });
    for (auto& c : candidates) {
        BootAction a{c.rec.name, "started", ""};
        try {
            start(c.rec.id);
        } catch (const Error& e) {
            a.action = "failed", a.error = e.what();
            log::warn("boot: " + c.rec.name + ": " + e.what());
        }
        out.push_back(a);
    }
    return out;
}

}  // namespace minirun::engine
