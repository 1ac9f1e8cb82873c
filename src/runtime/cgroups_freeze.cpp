// Freezing (v1 freezer.state or v2 cgroup.freeze) and signalling every member.
#include <signal.h>

#include <cerrno>
#include <chrono>
#include <thread>

#include "minirun/common/error.hpp"
#include "minirun/common/log.hpp"
#include "minirun/runtime/cgroups.hpp"

namespace minirun::runtime {

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kFreezeTimeout = std::chrono::seconds(5);

// Polls `done` with a growing sleep; false on timeout.
template <typename Pred>
bool wait_for(Pred done) {
    auto deadline = Clock::now() + kFreezeTimeout;
    auto delay = std::chrono::microseconds(200);
    while (!done()) {
        if (Clock::now() >= deadline) return false;
        std::this_thread::sleep_for(delay);
        delay = std::min(delay * 2, std::chrono::microseconds(20000));
    }
    return true;
}

std::string v1_state(const std::string& dir) {
    return cgroupfs::trim(cgroupfs::read(dir, "freezer.state").value_or(""));
}

bool v2_frozen(const std::string& dir) { return cgroupfs::read_keyed(dir, "cgroup.events", "frozen") == 1u; }

}  // namespace

void Cgroup::freeze_v1(const std::string& dir) {
    // A v1 cgroup can sit in FREEZING while tasks are busy in the kernel; writing
    // FROZEN again nudges it (as runc does).
    int tries = 0;
    bool ok = wait_for([&] {
        if (tries++ % 16 == 0) cgroupfs::write(dir, "freezer.state", "FROZEN");
        return v1_state(dir) == "FROZEN";
    });
    if (ok) return;
    cgroupfs::write(dir, "freezer.state", "THAWED");
    throw Error("cgroup: timed out freezing " + dir + " (state " + v1_state(dir) + ")");
}

void Cgroup::freeze_v2() {
    cgroupfs::write(v2_dir_, "cgroup.freeze", "1");
    if (wait_for([&] { return v2_frozen(v2_dir_); })) return;
    cgroupfs::write(v2_dir_, "cgroup.freeze", "0");
    throw Error("cgroup: timed out freezing " + v2_dir_);
}

void Cgroup::freeze() {
    if (auto dir = dir_for("freezer"); !dir.empty() && dir != v2_dir_) return freeze_v1(dir);
    if (cgroupfs::exists(v2_dir_, "cgroup.freeze")) return freeze_v2();
    throw Error("cgroup: cannot freeze " + path_ + ": no freezer controller and no cgroup.freeze (kernel < 5.2)");
}

void Cgroup::thaw() {
    if (auto dir = dir_for("freezer"); !dir.empty() && dir != v2_dir_) {
        cgroupfs::write(dir, "freezer.state", "THAWED");
    } else if (cgroupfs::exists(v2_dir_, "cgroup.freeze")) {
        cgroupfs::write(v2_dir_, "cgroup.freeze", "0");
    } else {
        throw Error("cgroup: cannot thaw " + path_ + ": no freezer controller and no cgroup.freeze");
    }
}

bool Cgroup::frozen() const {
    if (auto dir = dir_for("freezer"); !dir.empty() && dir != v2_dir_) return v1_state(dir) == "FROZEN";
    return !v2_dir_.empty() && v2_frozen(v2_dir_);
}

void Cgroup::kill_all(int sig) {
    // cgroup.kill is race-free (forks cannot escape). In the hybrid layout the
    // per-pid pass below still runs for anything that joined only v1 hierarchies.
    if (sig == SIGKILL && cgroupfs::exists(v2_dir_, "cgroup.kill")) {
        cgroupfs::write(v2_dir_, "cgroup.kill", "1");
        if (layout_ == CgroupLayout::v2) return;
    }
    // An empty cgroup (the usual case once the init is reaped: its pid namespace took the
    // rest with it) has nobody to fork: no freeze round trip needed.
    if (pids().empty()) return;
    bool was_frozen = frozen();
    bool froze = false;
    if (!was_frozen) {
        try {
            freeze();  // so processes cannot fork between listing and signalling
            froze = true;
        } catch (const Error& e) {
            log::debug(std::string(e.what()) + "; signalling without freezing");
        }
    }
    std::string failure;
    for (pid_t pid : pids()) {
        if (::kill(pid, sig) != 0 && errno != ESRCH) failure = errno_message("kill " + std::to_string(pid), errno);
    }
    // A paused container stays paused, except that SIGKILL must be able to land.
    if (froze || (was_frozen && sig == SIGKILL)) thaw();
    if (!failure.empty()) throw Error("cgroup: " + failure);
}

}  // namespace minirun::runtime
