// `create`: the runtime side (parent) and the container's init up to execve.
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/keyctl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>
#include <utility>

#include "create_internal.hpp"
#include "minirun/common/error.hpp"
#include "minirun/common/process.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/common/log.hpp"
#include "minirun/runtime/cgroups.hpp"
#include "minirun/runtime/console.hpp"
#include "minirun/runtime/container.hpp"
#include "minirun/runtime/hooks.hpp"
#include "minirun/runtime/mounts.hpp"
#include "minirun/runtime/process_setup.hpp"
#include "minirun/runtime/seccomp.hpp"
#include "minirun/runtime/security_labels.hpp"
#include "namespaces.hpp"
#include "sync_channel.hpp"

extern char** environ;

namespace minirun::runtime {

namespace stdfs = std::filesystem;

namespace {

struct InitContext {
    const Spec* spec = nullptr;
    RootfsPlan plan;
    const SeccompFilter* filter = nullptr;
    SyncChannel sync;
    int fifo_fd = -1;  // opened O_RDWR by the runtime: the init may not reach the state dir
    bool no_pivot = false;
    bool no_new_keyring = false;
    bool new_userns = false;
    bool new_cgroupns = false;
    int console_fd = -1;
    int preserve_fds = 0;
    int stdio[3] = {-1, -1, -1};
    std::vector<NamespaceJoin>* joins = nullptr;
    std::vector<LabelWrite> labels;  // AppArmor / SELinux exec attributes
};

void reset_signals() {
    struct sigaction sa {};
    sa.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; ++s) ::sigaction(s, &sa, nullptr);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

void write_sysctls(const std::map<std::string, std::string>& sysctl) {
    for (auto& [key, value] : sysctl) {
        if (key.find("..") != std::string::npos || key.find('/') != std::string::npos)
            throw Error("invalid sysctl " + key);
        std::string path = "/proc/sys/" + key;
        std::replace(path.begin() + 10, path.end(), '.', '/');
        fs::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
        if (!fd) throw_errno("sysctl " + key);
        fs::write_all(fd.get(), value.data(), value.size(), "sysctl " + key);
    }
}

// Everything the init does, in order. Errors travel to the runtime as ErrorRecords.
void init_steps(InitContext& c) {
    const Process& proc = *c.spec->process;
    for (int i = 0; i < 3; ++i)
        if (c.stdio[i] >= 0 && ::dup2(c.stdio[i], i) < 0) throw_errno("set up stdio");
    c.sync.expect(SyncType::Go, "go");
    if (c.new_userns) become_root();
    join_all(*c.joins);
    Kernel& k = host_kernel();
    if (c.new_cgroupns && k.unshare(CLONE_NEWCGROUP) != 0) throw_errno("create cgroup namespace");
    if (!c.spec->hostname.empty() && k.sethostname(c.spec->hostname.data(), c.spec->hostname.size()) != 0)
        throw_errno("set hostname");
    if (!c.spec->domainname.empty() && k.setdomainname(c.spec->domainname.data(), c.spec->domainname.size()) != 0)
        throw_errno("set domainname");
    prepare_rootfs(c.plan, k);
    c.sync.send(SyncType::Hooks);
    std::string state = c.sync.expect(SyncType::HooksDone, "hooks");
    run_hooks(c.spec->hooks.create_container, "createContainer", state);
    fs::UniqueFd fifo(c.fifo_fd);
    enter_rootfs(c.plan, c.no_pivot, k);
    make_cwd(proc.cwd);  // before the root may become read-only
    write_sysctls(c.spec->linux.sysctl);  // before /proc/sys becomes read-only
    finish_rootfs(*c.spec, k);
    if (proc.terminal) {
        setup_console(c.console_fd, proc.console_size);
        ::close(c.console_fd);
    }
    if (!c.no_new_keyring && ::syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, nullptr) < 0 && errno != ENOSYS &&
        errno != EPERM)
        throw_errno("create session keyring");
    apply_rlimits(proc.rlimits);
    enter_cwd(proc.cwd);
    std::string exe = find_executable(proc);
    cloexec_fds_from(3 + c.preserve_fds);  // before any filter: close_range may be refused
    write_security_labels(c.labels);  // as root, before ready: an unknown label fails create
    // Ids, capabilities and no_new_privs before ready: a step the host refuses fails
    // `create` (runtime spec), not the container after `start`. setgroups stays allowed in
    // a new user namespace: root writes gid_map without "deny".
    apply_identity(proc, c.filter, true, SeccompLoad::before_exec);
    // From here the init must outlive the runtime that created it: stop tying it to its
    // parent *before* saying ready (the parent may exit the moment it hears it).
    ::prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
    c.sync.send(SyncType::Ready);
    if (fifo) {
        // Blocks until `start` writes its byte. Holding the fifo open read-write keeps
        // it from ever reporting EOF, and lets `start` see ENXIO once we are gone.
        char b;
        while (::read(fifo.get(), &b, 1) < 0)
            if (errno != EINTR) throw_errno("wait for start");
        fifo.reset();
    }
    if (!c.spec->hooks.start_container.empty())
        run_hooks(c.spec->hooks.start_container, "startContainer", state_with_status(state, "created"));
    load_deferred_seccomp(proc, c.filter);
    reset_signals();
    auto argv = to_exec_array(proc.args);
    auto envp = to_exec_array(proc.env);
    ::execve(exe.c_str(), argv.data(), envp.data());
    int err = errno;
    throw ExecError(errno_message("exec " + exe, err), err);
}

[[noreturn]] void init_main(InitContext& c) {
    ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);  // CVE-2019-5736: nobody opens /proc/<us>/exe
    ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    ::signal(SIGPIPE, SIG_IGN);
    int code = 1;
    try {
        init_steps(c);
    } catch (const std::exception& e) {
        auto* exec_error = dynamic_cast<const ExecError*>(&e);
        code = exec_error ? exec_error->status() : 1;
        if (!c.sync.send_error(ErrorRecord::of(e, code))) {
            // The runtime already returned (after create): tell the container's stderr.
            std::string line = std::string("minirun: ") + e.what() + "\n";
            (void)!::write(2, line.data(), line.size());
        }
    }
    ::_exit(code);
}

std::string resolve_rootfs(const std::string& bundle, const std::string& root_path) {
    stdfs::path p = root_path.empty() ? "rootfs" : root_path;
    if (p.is_relative()) p = stdfs::path(bundle) / p;
    std::error_code ec;
    auto canon = stdfs::canonical(p, ec);
    if (ec) throw Error("rootfs " + p.string() + ": " + ec.message());
    if (!stdfs::is_directory(canon)) throw Error("rootfs " + canon.string() + " is not a directory");
    return canon;
}

void write_id_maps(pid_t pid, const Spec& s) {
    auto render = [](const std::vector<IdMapping>& maps) {
        std::string out;
        for (auto& m : maps)
            out += std::to_string(m.container_id) + " " + std::to_string(m.host_id) + " " + std::to_string(m.size) + "\n";
        return out;
    };
    if (s.linux.uid_mappings.empty() || s.linux.gid_mappings.empty())
        throw Error("config.json: a user namespace needs linux.uidMappings and linux.gidMappings");
    std::string base = "/proc/" + std::to_string(pid);
    for (auto& [file, text] : {std::pair{"/uid_map", render(s.linux.uid_mappings)},
                               std::pair{"/gid_map", render(s.linux.gid_mappings)}}) {
        fs::UniqueFd fd(::open((base + file).c_str(), O_WRONLY | O_CLOEXEC));
        if (!fd || ::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
            throw_errno(std::string("write ") + (file + 1));
    }
}

std::vector<std::pair<std::string, std::string>> v1_mounts_for(const Cgroup& cg) {
    std::vector<std::pair<std::string, std::string>> out;
    std::map<std::string, std::string> seen;  // dir → mount name (co-mounted controllers)
    for (auto& [controller, dir] : cg.paths()) {
        if (controller == "unified" || controller.empty()) continue;
        if (seen.count(dir)) continue;
        // Mount under the hierarchy's own name: /sys/fs/cgroup/cpu,cpuacct → "cpu,cpuacct".
        std::string rel = dir.substr(std::string("/sys/fs/cgroup/").size());
        std::string name = rel.substr(0, rel.find('/'));
        if (name.rfind("name=", 0) == 0) continue;
        seen[dir] = name;
        out.emplace_back(name, dir);
    }
    return out;
}

// Moves a process into its cgroup, on a helper thread when asked; wait() rethrows.
class CgroupJoin {
public:
    // cg == nullptr: already there (cloned into it).
    CgroupJoin(Cgroup* cg, pid_t pid, bool background) {
        if (!cg) return;
        if (!background) {
            cg->add_process(pid);
            return;
        }
        thread_ = std::thread([this, cg, pid] {
            try {
                cg->add_process(pid);
            } catch (...) {
                error_ = std::current_exception();
            }
        });
    }
    ~CgroupJoin() {
        if (thread_.joinable()) thread_.join();
    }
    void wait() {
        if (thread_.joinable()) thread_.join();
        if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
    }

private:
    std::thread thread_;
    std::exception_ptr error_;
};

}  // namespace

CreatedProcess create_process(const StateStore& store, const CreateOptions& opts, const Spec& spec,
                              const std::string& bundle, Cgroup& cgroup, const SeccompFilter* filter) {
    if (!spec.process) throw Error("config.json: process is required");
    if (!spec.has_namespace("mount") && spec.root_readonly)
        throw Error("config.json: root.readonly needs a mount namespace (it would remount the runtime's own)",
                    ErrorKind::InvalidArgument);
    InitContext c;
    c.spec = &spec;
    c.plan.rootfs = resolve_rootfs(bundle, spec.root_path);
    c.plan.spec = &spec;
    c.plan.user_namespace = spec.has_namespace("user");
    c.plan.mount_namespace = spec.has_namespace("mount");
    if (cgroup.layout() == CgroupLayout::v2) c.plan.cgroup_v2_dir = cgroup.v2_path();
    else c.plan.cgroup_v1_dirs = v1_mounts_for(cgroup);
    c.filter = filter;
    if (!spec.process->apparmor_profile.empty() || !spec.process->selinux_label.empty())
        c.labels = plan_security_labels(*spec.process, probe_security_host());
    c.no_pivot = opts.no_pivot;
    c.no_new_keyring = opts.no_new_keyring;
    c.preserve_fds = opts.preserve_fds;
    c.stdio[0] = opts.stdin_fd;
    c.stdio[1] = opts.stdout_fd;
    c.stdio[2] = opts.stderr_fd;

    fs::UniqueFd console;
    if (spec.process->terminal) {
        if (opts.console_socket.empty()) throw Error("process.terminal is set: --console-socket is required");
        console.reset(connect_console_socket(opts.console_socket));
        c.console_fd = console.get();
    }
    // New namespaces go into clone3's flags; existing ones are joined by path.
    unsigned long flags = 0;
    std::vector<NamespaceJoin> joins;
    fs::UniqueFd own_pidns, target_pidns;
    for (auto& ns : spec.linux.namespaces) {
        int flag = namespace_flag(ns.type);
        if (ns.path.empty()) {
            if (flag == CLONE_NEWCGROUP) c.new_cgroupns = true;  // after joining the cgroup
            else flags |= static_cast<unsigned long>(flag);
            continue;
        }
        fs::UniqueFd fd(::open(ns.path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd) throw_errno("open " + ns.type + " namespace " + ns.path);
        if (flag == CLONE_NEWPID) {
            target_pidns = std::move(fd);  // pid namespaces are entered by the next child
            continue;
        }
        joins.push_back({flag, ns.type, std::move(fd)});
    }
    order_joins(joins);
    c.joins = &joins;
    c.new_userns = flags & CLONE_NEWUSER;
    if (target_pidns) {
        own_pidns.reset(::open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC));
        if (::setns(target_pidns.get(), CLONE_NEWPID) != 0) throw_errno("join pid namespace");
    }
    std::string fifo_path = store.fifo_path(opts.id);
    if (::mkfifo(fifo_path.c_str(), 0622) != 0) throw_errno("create exec fifo");
    fs::UniqueFd fifo(::open(fifo_path.c_str(), O_RDWR | O_CLOEXEC));
    if (!fifo) throw_errno("open exec fifo");
    c.fifo_fd = fifo.get();

    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) throw_errno("socketpair");
    fs::UniqueFd parent_end(sv[0]), child_end(sv[1]);
    // Pure cgroup v2: the init starts in its cgroup. (v1 hierarchies have no such clone
    // flag; there the move after clone overlaps the init's mount set-up instead.)
    fs::UniqueFd cgroup_dir;
    if (cgroup.layout() == CgroupLayout::v2)
        cgroup_dir.reset(::open(cgroup.v2_path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    bool in_cgroup = false;
    long pid = clone3_process(flags, cgroup_dir ? cgroup_dir.get() : -1, &in_cgroup);
    if (pid < 0) throw_errno("clone container init");
    if (pid == 0) {
        parent_end.reset();
        c.sync.fd = child_end.get();
        init_main(c);
    }
    if (own_pidns) ::setns(own_pidns.get(), CLONE_NEWPID);
    child_end.reset();
    CreatedProcess created{static_cast<pid_t>(pid), std::move(parent_end), c.plan.rootfs, in_cgroup};
    log::debug(in_cgroup ? "init cloned into its cgroup" : "init cloned; joins its cgroup next");
    return created;
}

void finish_create(const StateStore& store, CreatedProcess& created, const Spec& spec, ContainerState& state,
                   Cgroup& cgroup) {
    SyncChannel ch{created.sync.get()};
    pid_t pid = created.pid;
    if (spec.has_namespace("user") && !spec.find_namespace("user")->path.size()) write_id_maps(pid, spec);
    // The first cgroup.procs write on v1 waits for an RCU grace period (~10 ms here). The
    // init's mount setup does not need its cgroup, so the move overlaps with it and is
    // awaited before any hook or user code runs. A new cgroup namespace is rooted where
    // the init is when it unshares, so then the move must come first.
    CgroupJoin join(created.in_cgroup ? nullptr : &cgroup, pid, /*background=*/!spec.has_namespace("cgroup"));
    if (spec.process->oom_score_adj) {
        std::string v = std::to_string(*spec.process->oom_score_adj);
        fs::UniqueFd fd(::open(("/proc/" + std::to_string(pid) + "/oom_score_adj").c_str(), O_WRONLY | O_CLOEXEC));
        if (!fd || ::write(fd.get(), v.data(), v.size()) < 0) throw_errno("set oom_score_adj");
    }
    ch.send(SyncType::Go);
    state.pid = pid;
    state.status = "creating";
    for (;;) {
        auto msg = ch.recv();
        if (!msg) {
            int status = wait_status(pid);
            throw Error("container init exited during setup (status " + std::to_string(status) + ")");
        }
        if (msg->type == SyncType::Failed) {
            int status = wait_status(pid);
            created.pid = 0;  // reaped
            throw InitError(failure_of(*msg), status);
        }
        if (msg->type == SyncType::Hooks) {
            // Hooks see the init in its cgroup. Without any, the init goes on with its
            // pivot and masking while the move completes (awaited below, before "created").
            if (!spec.hooks.prestart.empty() || !spec.hooks.create_runtime.empty() ||
                !spec.hooks.create_container.empty())
                join.wait();
            std::string st = state_to_json(state);
            // prestart's state says "created", as crun and the runtime-tools suite have it
            // (runc says "creating"); createRuntime's says "creating".
            if (!spec.hooks.prestart.empty()) run_hooks(spec.hooks.prestart, "prestart", state_with_status(st, "created"));
            run_hooks(spec.hooks.create_runtime, "createRuntime", st);
            ch.send(SyncType::HooksDone, st);
            continue;
        }
        if (msg->type == SyncType::Ready) break;
        throw Error("unexpected message from container init (type " + std::to_string(int(msg->type)) + ")");
    }
    join.wait();
    state.pid_start_time = process_start_time(pid);
    state.status = "created";
    store.save(state);
    (void)store;
}

}  // namespace minirun::runtime
