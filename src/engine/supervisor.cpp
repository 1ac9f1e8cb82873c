// Watching a container (supervisor.hpp): start it through the runtime (we are the init's
// parent), carry its output to the log driver (and the terminal in the foreground),
// record its exit, and apply the restart policy.
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <optional>
#include <thread>
#include <vector>

#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/common/process.hpp"
#include "minirun/common/log.hpp"
#include "minirun/engine/supervisor.hpp"
#include "minirun/engine/attach.hpp"
#include "minirun/engine/logs.hpp"
#include "minirun/engine/rootfs.hpp"
#include "minirun/runtime/cgroups.hpp"
#include "minirun/runtime/console.hpp"
#include "minirun/runtime/container.hpp"
#include "minirun/runtime/state.hpp"
#include "minirun/common/time.hpp"
#include "console_relay.hpp"
#include "health.hpp"

namespace minirun::engine {

namespace {

pid_t g_container_pid = 0;
void forward(int sig) {
    if (g_container_pid > 0) ::kill(g_container_pid, sig);
}

// Our terminal was resized (run -it): the loop copies the size to the container's pty.
volatile sig_atomic_t g_resized = 0;
void on_winch(int) { g_resized = 1; }

// The reply on the ready pipe: "ok", or one encoded ErrorRecord.
void notify(int fd, const std::string& msg) {
    if (fd < 0) return;
    (void)!::write(fd, msg.data(), msg.size());
    ::close(fd);
}

void notify_failure(int fd, const ErrorRecord& r) { notify(fd, encode_error_record(r)); }

}  // namespace

int Supervisor::run_once(ContainerRecord& rec, const Attach& attach, int notify_fd) {
    std::string dir = containers_.dir(rec.id).string();
    runtime::Runtime rt((storage_ / "run").string());
    std::unique_ptr<LogSink> sink;
    try {
        if (!rootfs_ready(dir)) {
            // The layers recorded at create time; `rmi` keeps them while a container uses them.
            mount_rootfs((storage_ / "layers").string(), rec.layers, dir);
        }
        log::debug("run_once: rootfs ready");
        network_.connect(rec);
        log::debug("network connected");
        sink = make_log_sink(rec.log_driver, rec.log_opts, dir + "/container.log", rec.id, rec.name);
    } catch (const Error& e) {
        // Set-up failures (a host port in use, a log server away) reach the user through
        // the supervisor's reply and stay in inspect's State.Error, as Docker's do.
        rec.status = "exited";
        rec.exit_code = 125;
        rec.error = e.what();
        rec.finished_at = rfc3339_now();
        containers_.save(rec);
        try {
            network_.disconnect(rec);
        } catch (const Error&) {
        }
        notify_failure(notify_fd, ErrorRecord::of(e, 125));
        throw;
    }

    runtime::CreateOptions opts;
    opts.id = rec.id;
    opts.bundle = dir;
    fs::UniqueFd out_r, out_w, err_r, err_w, null_in, in_r, in_w;
    std::optional<ConsoleListener> console;
    if (rec.tty) {
        console.emplace(console_path(dir));
        opts.console_socket = console->path;
    } else {
        int p1[2], p2[2];
        if (::pipe2(p1, O_CLOEXEC) != 0 || ::pipe2(p2, O_CLOEXEC) != 0) throw_errno("pipe");
        out_r.reset(p1[0]), out_w.reset(p1[1]), err_r.reset(p2[0]), err_w.reset(p2[1]);
        opts.stdout_fd = out_w.get();
        opts.stderr_fd = err_w.get();
        if (!attach.foreground && rec.interactive) {
            // -di: stdin stays open for `attach` to feed, as Docker's does.
            int p3[2];
            if (::pipe2(p3, O_CLOEXEC) != 0) throw_errno("pipe");
            in_r.reset(p3[0]), in_w.reset(p3[1]);
            opts.stdin_fd = in_r.get();
        } else if (!(attach.foreground && rec.interactive)) {
            null_in.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
            opts.stdin_fd = null_in.get();
        }
    }
    rt.remove(rec.id, true);  // a stale runtime entry from a crash
    runtime::StartedContainer sc;
    try {
        sc = rt.create_and_start(opts);
    } catch (const Error& e) {
        // A missing or non-executable command is the container's 127/126; the rest is ours.
        auto* init = dynamic_cast<const runtime::InitError*>(&e);
        int code = init && (init->status == 126 || init->status == 127) ? init->status : 125;
        rec.status = "exited";
        rec.exit_code = code;
        rec.error = e.what();
        rec.finished_at = rfc3339_now();
        containers_.save(rec);
        container_event(containers_, rec, "die", {{"exitCode", std::to_string(code)}});
        network_.disconnect(rec);
        if (code != 125) start_error_ = e.what();
        notify_failure(notify_fd, ErrorRecord::of(e, code));
        if (code != 125) return code;
        throw;
    }
    out_w.reset();
    err_w.reset();
    in_r.reset();
    log::debug("container started");
    if (sc.exec_failure) {
        const ErrorRecord& failure = *sc.exec_failure;
        rt.remove(rec.id, true);
        rec.status = "exited";
        rec.exit_code = failure.status;
        rec.error = failure.message;
        rec.finished_at = rfc3339_now();
        containers_.save(rec);
        container_event(containers_, rec, "die", {{"exitCode", std::to_string(failure.status)}});
        network_.disconnect(rec);
        start_error_ = failure.message;
        notify_failure(notify_fd, failure);
        return failure.status;
    }
    fs::UniqueFd master;
    if (console) master.reset(console->take_master());
    // A detached container's stdio is served to `attach` (and `start -a`) from here on.
    std::optional<AttachHub> hub;
    if (!attach.foreground) {
        try {
            hub.emplace(attach_socket_path(dir), master ? master.get() : in_w.get(), master ? master.get() : -1, sc.pid);
        } catch (const Error& e) {
            log::warn("container " + rec.name + ": attach is unavailable: " + e.what());
        }
    }
    rec.status = "running";
    rec.pid = sc.pid;
    rec.pid_start = runtime::process_start_time(sc.pid);
    rec.started_at = rfc3339_now();
    rec.error.clear();
    containers_.save(rec);
    container_event(containers_, rec, "start");
    notify(notify_fd, "ok");
    // Setup (config, seccomp compile) is done: a detached supervisor lives as long as the
    // container, so it gives that memory back; a foreground run just pumps and exits.
    if (!attach.foreground) release_startup_memory();

    g_container_pid = sc.pid;
    if (attach.foreground)
        for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2}) ::signal(sig, forward);
    std::optional<RawTerminal> raw;
    if (attach.foreground && master) {
        raw.emplace();
        copy_window_size(master.get());
        struct sigaction sa {};
        sa.sa_handler = on_winch;  // no SA_RESTART: poll wakes up at once
        ::sigaction(SIGWINCH, &sa, nullptr);
    }
    std::optional<HealthMonitor> health;
    if (rec.health) health.emplace(rec.id, dir, (storage_ / "run").string(), *rec.health);
    LineSplitter out_lines(*sink, "stdout"), err_lines(*sink, "stderr");
    int status = -1;
    bool stdin_open = attach.foreground && master && rec.interactive;
    auto pump = [&](fs::UniqueFd& fd, LineSplitter& lines, int echo_fd) {
        char buf[65536];
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n <= 0) {
            if (n < 0 && errno == EINTR) return;
            lines.flush();
            fd.reset();
            return;
        }
        lines.feed(buf, static_cast<size_t>(n));
        if (attach.foreground) (void)!::write(echo_fd, buf, static_cast<size_t>(n));
        if (hub) hub->output(echo_fd == STDERR_FILENO ? attach_frame::kStderr : attach_frame::kStdout, buf, static_cast<size_t>(n));
    };
    std::vector<pollfd> p;
    std::vector<int> hub_fds;
    for (;;) {
        if (g_resized && master) {
            g_resized = 0;
            copy_window_size(master.get());
        }
        p.clear();
        if (out_r) p.push_back({out_r.get(), POLLIN, 0});
        if (err_r) p.push_back({err_r.get(), POLLIN, 0});
        if (master) p.push_back({master.get(), POLLIN, 0});
        const size_t outputs = p.size();
        if (stdin_open) p.push_back({STDIN_FILENO, POLLIN, 0});
        hub_fds.clear();
        if (hub) hub->poll_fds(hub_fds);
        for (int fd : hub_fds) p.push_back({fd, POLLIN, 0});
        if (p.empty() && status < 0 && !health) {
            // All output closed: nothing to carry, just wait for the init.
            status = runtime::wait_status(sc.pid);
            break;
        }
        ::poll(p.data(), p.size(), status < 0 ? 200 : 0);
        for (size_t i = 0; i < p.size(); ++i) {
            if (!p[i].revents) continue;
            if (out_r && p[i].fd == out_r.get()) pump(out_r, out_lines, STDOUT_FILENO);
            else if (err_r && p[i].fd == err_r.get()) pump(err_r, err_lines, STDERR_FILENO);
            else if (master && p[i].fd == master.get()) pump(master, out_lines, STDOUT_FILENO);
            else if (stdin_open && p[i].fd == STDIN_FILENO) {
                char buf[4096];
                ssize_t r = ::read(STDIN_FILENO, buf, sizeof buf);
                if (r <= 0) stdin_open = false;
                else (void)!::write(master.get(), buf, static_cast<size_t>(r));
            } else if (hub && i >= outputs) {
                hub->readable(p[i].fd);
            }
        }
        if (health && status < 0) health->tick();
        if (status < 0) {
            int ws = 0;
            pid_t r = ::waitpid(sc.pid, &ws, WNOHANG);
            if (r == sc.pid) status = exit_status_of(ws);
        }
        // Done when the init is gone and its output drained (or nothing can arrive).
        if (status >= 0 && (outputs == 0 || ::poll(p.data(), outputs, 0) <= 0)) break;
    }
    health.reset();  // a probe still running dies with the container
    out_lines.flush();
    err_lines.flush();
    log::debug("container exited");
    g_container_pid = 0;
    bool oom = false;
    try {
        oom = runtime::Cgroup::open("/minirun/" + rec.id, rec.id).oom_killed();
    } catch (const Error&) {
    }
    rt.remove(rec.id, true);
    log::debug("runtime state removed");
    network_.disconnect(rec);
    log::debug("network disconnected");
    ContainerRecord latest = containers_.load(rec.id);
    latest.status = "exited";
    latest.exit_code = status;
    latest.oom_killed = oom;
    latest.pid = 0;
    latest.finished_at = rfc3339_now();
    latest.restart_count = rec.restart_count;
    containers_.save(latest);
    rec = latest;
    if (oom) container_event(containers_, rec, "oom");
    container_event(containers_, rec, "die", {{"exitCode", std::to_string(status)}});
    if (hub && attach.await_client) hub->await_client(10000);
    if (hub) hub->finish(status);  // after the record: an attached client's next look sees the exit
    return status;
}

Supervisor::Outcome Supervisor::run_foreground(ContainerRecord& rec) {
    // This process watches the container: recorded (with "running") so that, killed before
    // it cleans up, its --rm container is reaped by the next command (reap_orphans).
    rec.supervisor_pid = ::getpid();
    rec.supervisor_start = runtime::process_start_time(rec.supervisor_pid);
    rec.boot_id = current_boot_id();
    int status = 125;
    try {
        status = run_once(rec, Attach{true}, -1);
    } catch (const Error& e) {
        if (rec.auto_remove) teardown_container(storage_, containers_, rec, true);
        throw;
    }
    if (rec.auto_remove) teardown_container(storage_, containers_, rec, true);
    return Outcome{status, start_error_};
}

int Supervisor::supervise(const std::string& id, int ready_fd, bool await_attach) {
    ContainerRecord rec = containers_.load(id);
    rec.supervisor_pid = ::getpid();
    rec.supervisor_start = runtime::process_start_time(rec.supervisor_pid);
    rec.boot_id = current_boot_id();
    containers_.save(rec);
    auto backoff = std::chrono::milliseconds(100);
    int status = 125;
    for (;;) {
        try {
            status = run_once(rec, Attach{false, await_attach}, ready_fd);
            await_attach = false;
        } catch (const Error& e) {
            status = 125;
            break;
        }
        ready_fd = -1;
        rec = containers_.load(id);
        const RestartPolicy& p = rec.restart;
        bool again = !rec.stop_requested &&
                     (p.name == "always" || p.name == "unless-stopped" ||
                      (p.name == "on-failure" && status != 0 && (p.max_retries == 0 || rec.restart_count < p.max_retries)));
        if (!again) break;
        rec.status = "restarting";
        rec.restart_count++;
        containers_.save(rec);
        std::this_thread::sleep_for(backoff);
        backoff = std::min(backoff * 2, std::chrono::milliseconds(10000));
        rec = containers_.load(id);
        if (rec.stop_requested) {
            rec.status = "exited";
            containers_.save(rec);
            break;
        }
    }
    rec = containers_.load(id);
    rec.supervisor_pid = 0;
    containers_.save(rec);
    if (rec.auto_remove) teardown_container(storage_, containers_, rec, true);
    // A unit from `generate systemd` restarts on failure: a stop asked for is not one.
    return rec.stop_requested ? 0 : status;
}

}  // namespace minirun::engine
