// `run`: create the container, then watch it here (foreground) or hand it to a detached
// minirun-supervisor and report its verdict.
#include <unistd.h>

#include <filesystem>

#include "minirun/common/fs.hpp"
#include "minirun/engine/container_create.hpp"
#include "minirun/engine/engine.hpp"
#include "minirun/engine/supervisor.hpp"
#include "minirun/runtime/cgroups.hpp"

namespace minirun::engine {

RunResult Engine::create(const RunRequest& req) {
    ContainerRecord rec;
    return create_record(req, rec);
}

RunResult Engine::create_record(const RunRequest& req, ContainerRecord& rec) {
    // Said before anything is made: without user namespaces (not built yet) an ordinary
    // user gets EPERM from the first unshare, after the record and its copy exist.
    if (::geteuid() != 0)
        return RunResult{"", 125,
                         "rootless containers are not supported yet: run minirun as root (user " +
                             std::to_string(::geteuid()) + " cannot create the namespaces, mounts and cgroups a container needs)"};
    reap_orphans();
    if (!req.cidfile.empty() && std::filesystem::exists(req.cidfile))
        return RunResult{"", 125, "container ID file found, make sure the other container isn't running or delete " + req.cidfile};
    try {
        rec = create_container(storage_, registry_, containers_, req);
    } catch (const CreateRefused& e) {
        return RunResult{"", e.status, e.what()};
    }
    // --cidfile: written once the container exists, before it runs (Docker's moment).
    if (!req.cidfile.empty()) fs::write_file_atomic(req.cidfile, rec.id, 0644);
    return RunResult{rec.id, 0, ""};
}

RunResult Engine::run(const RunRequest& req) {
    // The container's cgroup join (by us or the supervisor) shares the grace period this
    // starts while the image, rootfs and network are prepared.
    runtime::CgroupMigrationPrimer primer;
    ContainerRecord rec;
    RunResult created = create_record(req, rec);
    if (created.container_id.empty()) return created;
    if (!req.detach && req.tty && req.interactive) {
        // `run -it`: a detached supervisor holds the container and the caller attaches to
        // it, so the detach keys can leave it running (Docker's client and daemon split).
        SupervisorReply reply = spawn_supervisor(rec.id, true);
        if (!reply.started) return RunResult{rec.id, reply.failure.status, reply.failure.message};
        RunResult out{rec.id, 0, ""};
        out.attach = true;
        return out;
    }
    if (!req.detach) {
        // This process watches the container: recorded (with "running") so that, killed
        // before it cleans up, its --rm container is reaped by the next command.
        Supervisor::Outcome out = Supervisor(storage_).run_foreground(rec);
        return RunResult{rec.id, out.status, out.start_error};
    }
    SupervisorReply reply = spawn_supervisor(rec.id);
    if (reply.started) return RunResult{rec.id, 0, ""};
    return RunResult{rec.id, reply.failure.status, reply.failure.message};
}

}  // namespace minirun::engine
