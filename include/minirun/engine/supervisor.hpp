#pragma once
// Watching one container: it is started through the runtime (we are its init's parent),
// its output carried to the log driver (and the terminal in the foreground), its health
// probed, its exit recorded and its restart policy applied. `run` without -d watches in
// its own process; a detached container gets minirun-supervisor, which runs supervise().
#include <filesystem>
#include <string>

#include "minirun/engine/container_network.hpp"
#include "minirun/engine/container_store.hpp"

namespace minirun::engine {

class Supervisor {
public:
    explicit Supervisor(std::filesystem::path storage)
        : storage_(std::move(storage)), containers_(storage_), network_(storage_, containers_) {}

    // Runs a created container attached to this terminal until it exits. A --rm container
    // is torn down. Prints nothing: a command that cannot start comes back as its status
    // (126/127) and `start_error` for the caller to report.
    struct Outcome {
        int status = 0;
        std::string start_error;
    };
    Outcome run_foreground(ContainerRecord& rec);
    // The detached supervisor's loop (it runs in its own session): starts container `id`,
    // answers on ready_fd ("ok" or one encoded ErrorRecord), restarts it as its policy
    // says. Returns its last exit status (0 when stopped on request).
    // `await_attach`: a `run -it` client attaches once started; its first run holds the
    // exit (and a --rm teardown) until it has (attach.hpp, AttachHub::await_client).
    int supervise(const std::string& id, int ready_fd, bool await_attach = false);

private:
    struct Attach {
        bool foreground = false;
        bool await_client = false;
    };
    // Starts the container once and watches it until it exits; returns its status.
    int run_once(ContainerRecord& rec, const Attach& attach, int notify_fd);

    std::filesystem::path storage_;
    ContainerStore containers_;
    ContainerNetwork network_;
    std::string start_error_;  // why the last run_once's command did not start (foreground)
};

}  // namespace minirun::engine
