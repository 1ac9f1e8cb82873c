// Starts early the RCU grace period that the first cgroup migration after an idle spell
// waits for, so that it overlaps the rest of container start-up.
//
// Every migration (a write to cgroup.procs, v1 or v2) takes the kernel's global
// cgroup_threadgroup_rwsem for writing; the first writer after an idle spell waits a full
// RCU grace period (7–17 ms on these machines, more than everything else `run` does), and
// writers arriving while it runs, or shortly after, share it. The primer migrates its own
// process into the cgroup it is already in, a no-op, on a helper thread.
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

#include "minirun/runtime/cgroups.hpp"

namespace minirun::runtime {

namespace {

// "<mount point><own path>/cgroup.procs" in one hierarchy from /proc/self/cgroup, or "".
std::string own_procs_file(const CgroupMounts& mounts) {
    std::ifstream in("/proc/self/cgroup");
    for (std::string line; std::getline(in, line);) {
        auto first = line.find(':'), second = line.find(':', first + 1);
        if (first == std::string::npos || second == std::string::npos) continue;
        std::string controllers = "," + line.substr(first + 1, second - first - 1) + ",";
        std::string path = line.substr(second + 1);
        if (path == "/") path.clear();
        if (controllers == ",," && mounts.v2) return mounts.v2->mount_point + path + "/cgroup.procs";
        for (auto& m : mounts.v1) {
            if (!m.controllers.empty() && controllers.find("," + m.controllers.front() + ",") != std::string::npos)
                return m.mount_point + path + "/cgroup.procs";
        }
    }
    return {};
}

}  // namespace

struct CgroupMigrationPrimer::Thread {
    char procs_file[4096] = {};
    pthread_t id{};

    // Only system calls, no allocation and no locks: a raw clone3 of the container init
    // taken while this thread runs or exits cannot hand the child a held libc lock. It
    // is joinable, so its stack is freed by the joiner, not by itself while exiting.
    static void* main(void* arg) {
        auto* self = static_cast<Thread*>(arg);
        int fd = ::open(self->procs_file, O_WRONLY | O_CLOEXEC);
        if (fd >= 0) {
            (void)!::write(fd, "0", 1);  // "0": this process; a failure only costs the head start
            ::close(fd);
        }
        return nullptr;
    }
};

CgroupMigrationPrimer::CgroupMigrationPrimer() {
    std::string file = own_procs_file(read_cgroup_mounts());
    auto t = std::make_unique<Thread>();
    if (file.empty() || file.size() >= sizeof t->procs_file) return;
    std::memcpy(t->procs_file, file.c_str(), file.size() + 1);
    if (::pthread_create(&t->id, nullptr, &Thread::main, t.get()) == 0) thread_ = std::move(t);
}

CgroupMigrationPrimer::~CgroupMigrationPrimer() {
    if (thread_) ::pthread_join(thread_->id, nullptr);
}

}  // namespace minirun::runtime
