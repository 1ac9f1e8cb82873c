// The runtime verbs over create.cpp's init: start, run, state, kill, delete, list,
// ps, pause/resume, update.
#include <fcntl.h>
#include <sys/mount.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include "create_internal.hpp"
#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/common/log.hpp"
#include "minirun/runtime/cgroups.hpp"
#include "minirun/runtime/container.hpp"
#include "minirun/runtime/hooks.hpp"
#include "minirun/runtime/mounts.hpp"
#include "minirun/runtime/seccomp.hpp"
#include "minirun/common/time.hpp"
#include "minirun/common/process.hpp"
#include "sync_channel.hpp"

namespace minirun::runtime {

namespace stdfs = std::filesystem;

namespace {

// The saved config's hooks of one kind. Most configs have none: then the config (20 KB
// with Docker's seccomp profile) is not parsed again. "\u" may spell a key escaped.
std::vector<Hook> saved_hooks(const std::string& config, std::vector<Hook> Hooks::*kind, std::string_view name) {
    if (config.find(name) == std::string::npos && config.find("\\u") == std::string::npos) return {};
    return parse_spec(config).hooks.*kind;
}

void write_pid_file(const std::string& path, pid_t pid) {
    if (path.empty()) return;
    fs::write_file_atomic(stdfs::absolute(path), std::to_string(pid), 0644, false);
}

bool wait_gone(pid_t pid, unsigned long long start, std::chrono::milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (process_alive(pid, start)) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
}

pid_t g_forward_pid = 0;
void forward_signal(int sig) {
    if (g_forward_pid > 0) ::kill(g_forward_pid, sig);
}

}  // namespace

int wait_status(pid_t pid) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return -1;
    }
    return exit_status_of(status);
}

int parse_signal(const std::string& text) {
    if (text.empty()) throw Error("empty signal");
    if (std::isdigit(static_cast<unsigned char>(text[0]))) {
        int n = std::atoi(text.c_str());
        if (n <= 0 || n >= NSIG) throw Error("invalid signal " + text);
        return n;
    }
    std::string name = text;
    for (auto& ch : name) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    if (name.rfind("SIG", 0) == 0) name = name.substr(3);
    for (int s = 1; s < SIGRTMIN; ++s) {
        const char* abbrev = sigabbrev_np(s);
        if (abbrev && name == abbrev) return s;
    }
    if (name.rfind("RTMIN", 0) == 0 || name.rfind("RTMAX", 0) == 0) {
        int off = name.size() > 5 ? std::atoi(name.c_str() + 5) : 0;
        return name[2] == 'M' && name[3] == 'I' ? SIGRTMIN + std::abs(off) : SIGRTMAX - std::abs(off);
    }
    throw Error("unknown signal \"" + text + "\"");
}

Runtime::Runtime(std::string state_root) : store_(std::move(state_root)) {}

namespace {

// As runc: whatever the rules say, mknod is allowed and the default devices and the
// config's own devices are usable.
Resources with_default_devices(const Spec& spec) {
    Resources r = *spec.linux.resources;
    if (r.devices.empty()) return r;
    auto allow = [&](const char* type, std::optional<int64_t> major, std::optional<int64_t> minor, const char* access) {
        r.devices.push_back(DeviceRule{true, type, major, minor, access});
    };
    allow("c", std::nullopt, std::nullopt, "m");
    allow("b", std::nullopt, std::nullopt, "m");
    for (auto [major, minor] : {std::pair{1, 3}, {1, 5}, {1, 7}, {1, 8}, {1, 9}, {5, 0}, {5, 1}, {5, 2}, {10, 200}})
        allow("c", major, minor, "rwm");
    allow("c", 136, std::nullopt, "rwm");  // /dev/pts/*
    for (auto& d : spec.linux.devices) allow(d.type == "b" ? "b" : "c", d.major, d.minor, "rwm");
    return r;
}

// A container without its own mount namespace mounted into ours (under its rootfs): those
// mounts go when it does. The marker in its state dir says so, so delete needs no config parse.
std::string shared_mounts_marker(const StateStore& store, const std::string& id) {
    return store.dir(id) + "/shared-mounts";
}

void take_down_shared_mounts(const std::string& rootfs) {
    if (rootfs.empty()) return;
    std::string info;
    try {
        info = fs::read_file("/proc/self/mountinfo", 64 << 20);
    } catch (const Error& e) {
        log::warn(e.what());
        return;
    }
    for (auto& m : mounts_under(rootfs, info))
        if (::umount2(m.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
            log::warn(errno_message("unmount " + m, errno));
}

struct CreateResult {
    CreatedProcess proc;
    ContainerState state;
    Hooks hooks;
};

CreateResult do_create(StateStore& store, const CreateOptions& opts) {
    log::debug("create " + opts.id + ": start");
    store.reserve(opts.id);
    log::debug("reserved");
    CgroupMounts cgroup_mounts = read_cgroup_mounts();
    std::optional<Cgroup> cgroup;
    CreatedProcess proc;
    std::string shared_rootfs;  // set when the init mounts into our namespace
    try {
        std::string bundle = stdfs::canonical(opts.bundle).string();
        std::string config_text = fs::read_file(bundle + "/config.json", 16 << 20);
        log::debug("config read");
        Spec spec = parse_spec(config_text);
        log::debug("config parsed");

        if (!spec.process) throw Error("config.json: process is required");
        cgroup = Cgroup::create(cgroup_mounts, spec.linux.cgroups_path, opts.id);
        log::debug("cgroup created");
        if (spec.linux.resources) cgroup->apply(with_default_devices(spec));
        log::debug("cgroup limits applied");
        std::optional<SeccompFilter> filter;
        if (spec.linux.seccomp) filter = SeccompFilter::build_cached(*spec.linux.seccomp, store.root() + "/.seccomp-cache");
        log::debug("seccomp filter ready");
        ContainerState state;
        state.id = opts.id;
        state.bundle = bundle;
        state.created = rfc3339_now();
        state.annotations = spec.annotations;
        state.cgroup_path = spec.linux.cgroups_path;
        state.config = config_text;
        proc = create_process(store, opts, spec, bundle, *cgroup, filter ? &*filter : nullptr);
        // The init mounts only after "go" (finish_create): marked before it can.
        if (!spec.has_namespace("mount")) {
            shared_rootfs = proc.rootfs;
            fs::write_file_atomic(shared_mounts_marker(store, opts.id), shared_rootfs, 0600, false);
        }
        log::debug("init cloned");
        state.rootfs = proc.rootfs;
        finish_create(store, proc, spec, state, *cgroup);
        log::debug("init ready");
        write_pid_file(opts.pid_file, proc.pid);
        return {std::move(proc), state, spec.hooks};
    } catch (...) {
        if (proc.pid > 0) {
            ::kill(proc.pid, SIGKILL);
            ::waitpid(proc.pid, nullptr, 0);
        }
        if (cgroup) {
            try {
                cgroup->destroy(true);
            } catch (const Error& e) {
                log::warn(e.what());
            }
        }
        if (!shared_rootfs.empty()) take_down_shared_mounts(shared_rootfs);
        store.remove(opts.id);
        throw;
    }
}

}  // namespace

pid_t Runtime::create(const CreateOptions& opts) { return do_create(store_, opts).proc.pid; }

void Runtime::start(const std::string& id) {
    ContainerState s = store_.load(id);
    if (s.status != "created") throw Error("cannot start container " + id + ": it is " + s.status + ", not created");
    start_created(s, std::nullopt);
}

void Runtime::start_created(ContainerState s, const std::optional<Hooks>& hooks) {
    const std::string& id = s.id;
    // The init blocks reading the fifo; no reader left means it died.
    fs::UniqueFd fifo(::open(store_.fifo_path(id).c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
    if (!fifo) {
        if (errno == ENXIO) throw Error("container " + id + " init exited before starting");
        throw_errno("open exec fifo of " + id);
    }
    if (::write(fifo.get(), "0", 1) != 1) throw_errno("signal container " + id + " to start");
    ::unlink(store_.fifo_path(id).c_str());
    try {
        std::vector<Hook> poststart = hooks ? hooks->poststart : saved_hooks(s.config, &Hooks::poststart, "poststart");
        s.status = "running";
        if (!poststart.empty()) run_hooks_warning_only(poststart, "poststart", state_to_json(s));
    } catch (const Error& e) {
        log::warn(e.what());
    }
}

StartedContainer Runtime::create_and_start(const CreateOptions& opts) {
    CreateResult created = do_create(store_, opts);
    start_created(created.state, created.hooks);
    StartedContainer out;
    out.pid = created.proc.pid;
    SyncChannel ch{created.proc.sync.get()};
    // EOF: the init exec'd; a message: it failed on the way.
    if (auto msg = ch.recv(); msg && msg->type == SyncType::Failed) {
        out.exec_failure = failure_of(*msg);
        out.exec_failure->status = wait_status(created.proc.pid);
    }
    return out;
}

int Runtime::run(const CreateOptions& opts, bool detach) {
    StartedContainer c = create_and_start(opts);
    if (c.exec_failure) {
        remove(opts.id, true);
        ErrorRecord r = *c.exec_failure;
        r.message += " (status " + std::to_string(r.status) + ")";
        throw InitError(r, r.status);
    }
    if (detach) return 0;
    g_forward_pid = c.pid;
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH}) ::signal(sig, forward_signal);
    log::debug("started");
    int status = wait_status(c.pid);
    log::debug("exited");
    g_forward_pid = 0;
    remove(opts.id, true);
    log::debug("removed");
    return status;
}

ContainerState Runtime::state(const std::string& id) const { return store_.load(id); }

void Runtime::kill(const std::string& id, int signal, bool all) {
    ContainerState s = store_.load(id);
    if (all) {
        Cgroup::open(s.cgroup_path, id).kill_all(signal);
        return;
    }
    if (s.status == "stopped") throw Error("container " + id + " is not running");
    if (::kill(s.pid, signal) != 0) throw_errno("kill container " + id);
}

void Runtime::remove(const std::string& id, bool force) {
    if (!store_.exists(id)) {
        if (force) return;
        throw Error("container " + id + " does not exist");
    }
    ContainerState s = store_.load(id);
    log::debug("delete: state loaded");
    if ((s.status == "running" || s.status == "paused") && !force)
        throw Error("cannot delete container " + id + " that is not stopped: " + s.status);
    std::optional<Cgroup> cg;
    try {
        cg = Cgroup::open(s.cgroup_path, id);
    } catch (const Error&) {
    }
    log::debug("delete: cgroup opened");
    if (s.status != "stopped") {
        if (cg && s.status == "paused") cg->thaw();
        ::kill(s.pid, SIGKILL);
        if (cg) cg->kill_all(SIGKILL);
        if (!wait_gone(s.pid, s.pid_start_time, std::chrono::seconds(10)))
            throw Error("container " + id + " did not stop after SIGKILL");
    }
    if (cg) cg->destroy(true);
    std::string marker = shared_mounts_marker(store_, id);
    if (::access(marker.c_str(), F_OK) == 0) take_down_shared_mounts(fs::read_file(marker, 1 << 16));
    try {
        auto poststop = saved_hooks(s.config, &Hooks::poststop, "poststop");
        s.status = "stopped";
        if (!poststop.empty()) run_hooks_warning_only(poststop, "poststop", state_to_json(s));
    } catch (const Error& e) {
        log::warn(e.what());
    }
    store_.remove(id);
}

std::vector<ContainerState> Runtime::list() const {
    std::vector<ContainerState> out;
    for (auto& id : store_.ids()) {
        try {
            out.push_back(store_.load(id));
        } catch (const Error& e) {
            log::warn(e.what());
        }
    }
    return out;
}

std::vector<pid_t> Runtime::processes(const std::string& id) const {
    ContainerState s = store_.load(id);
    return Cgroup::open(s.cgroup_path, id).pids();
}

void Runtime::pause(const std::string& id) {
    ContainerState s = store_.load(id);
    if (s.status != "running") throw Error("container " + id + " is not running");
    Cgroup::open(s.cgroup_path, id).freeze();
}

void Runtime::resume(const std::string& id) {
    ContainerState s = store_.load(id);
    if (s.status != "paused") throw Error("container " + id + " is not paused");
    Cgroup::open(s.cgroup_path, id).thaw();
}

void Runtime::update(const std::string& id, const Resources& r) {
    ContainerState s = store_.load(id);
    Cgroup::open(s.cgroup_path, id).apply(r);
}

}  // namespace minirun::runtime
