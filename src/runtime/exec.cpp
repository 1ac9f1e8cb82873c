// `exec`: a new process inside a running container, joining its namespaces and cgroup.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "minirun/common/error.hpp"
#include "minirun/common/process.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/common/log.hpp"
#include "minirun/runtime/cgroups.hpp"
#include "minirun/runtime/console.hpp"
#include "minirun/runtime/container.hpp"
#include "minirun/runtime/process_setup.hpp"
#include "minirun/runtime/seccomp.hpp"
#include "minirun/runtime/security_labels.hpp"
#include "namespaces.hpp"
#include "sync_channel.hpp"

namespace minirun::runtime {

namespace {

// runc's rules: the container's process is the template, flags override it.
Process exec_process(const ExecOptions& o, const Spec& spec) {
    if (!o.process_file.empty()) return parse_process(fs::read_file(o.process_file, 16 << 20));
    Process p = spec.process.value_or(Process{});
    if (o.args.empty()) throw Error("exec: no command given");
    p.args = o.args;
    p.terminal = o.tty;
    for (auto& e : o.env) {
        auto key = e.substr(0, e.find('=') + 1);
        std::erase_if(p.env, [&](const std::string& x) { return x.rfind(key, 0) == 0; });
        p.env.push_back(e);
    }
    if (!o.cwd.empty()) p.cwd = o.cwd;
    if (!o.user.empty()) {
        auto colon = o.user.find(':');
        p.user.uid = static_cast<uid_t>(std::stoul(o.user.substr(0, colon)));
        p.user.gid = colon == std::string::npos ? 0 : static_cast<gid_t>(std::stoul(o.user.substr(colon + 1)));
        p.user.additional_gids.clear();
        if (o.additional_gids)
            for (unsigned g : *o.additional_gids) p.user.additional_gids.push_back(static_cast<gid_t>(g));
    }
    if (!o.caps.empty()) {
        if (!p.capabilities) p.capabilities = Capabilities{};
        for (auto& c : o.caps)
            for (auto* set : {&p.capabilities->bounding, &p.capabilities->effective, &p.capabilities->permitted})
                set->push_back(c);
    }
    if (o.no_new_privs) p.no_new_privileges = true;
    return p;
}

bool same_namespace(pid_t pid, const char* name) {
    struct stat a {}, b {};
    std::string theirs = "/proc/" + std::to_string(pid) + "/ns/" + name;
    std::string ours = std::string("/proc/self/ns/") + name;
    return ::stat(theirs.c_str(), &a) == 0 && ::stat(ours.c_str(), &b) == 0 && a.st_ino == b.st_ino &&
           a.st_dev == b.st_dev;
}

}  // namespace

int Runtime::exec(const ExecOptions& o) {
    ContainerState s = store_.load(o.id);
    if (s.status != "running" && s.status != "created")
        throw Error("cannot exec in container " + o.id + ": it is " + s.status);
    Spec spec = parse_spec(s.config);
    Process proc = exec_process(o, spec);
    if (proc.args.empty()) throw Error("exec: process.args is empty");
    std::optional<SeccompFilter> filter;
    if (spec.linux.seccomp) filter = SeccompFilter::build_cached(*spec.linux.seccomp, store_.root() + "/.seccomp-cache");
    Cgroup cgroup = Cgroup::open(s.cgroup_path, o.id);
    fs::UniqueFd console;
    if (proc.terminal && !o.console_socket.empty()) console.reset(connect_console_socket(o.console_socket));
    if (proc.terminal && o.console_socket.empty() && o.detach)
        throw Error("exec: a terminal for a detached process needs --console-socket");

    // Open every namespace of the init that differs from ours; pid is entered by forking.
    std::vector<NamespaceJoin> joins;
    fs::UniqueFd pidns, own_pidns;
    bool joins_user = false;
    for (const char* type : {"user", "ipc", "uts", "network", "pid", "cgroup", "time", "mount"}) {
        std::string t = type;
        const char* name = proc_ns_name(t);
        std::string path = "/proc/" + std::to_string(s.pid) + "/ns/" + name;
        if (same_namespace(s.pid, name)) continue;
        fs::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd) {
            if (errno == ENOENT) continue;
            throw_errno("open " + path);
        }
        if (t == "pid") {
            pidns = std::move(fd);
            continue;
        }
        if (t == "user") joins_user = true;
        joins.push_back({namespace_flag(t), t, std::move(fd)});
    }
    order_joins(joins);
    if (pidns) {
        own_pidns.reset(::open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC));
        if (::setns(pidns.get(), CLONE_NEWPID) != 0) throw_errno("join pid namespace of " + o.id);
    }
    std::vector<LabelWrite> labels;
    if (!proc.apparmor_profile.empty() || !proc.selinux_label.empty())
        labels = plan_security_labels(proc, probe_security_host());
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) throw_errno("socketpair");
    fs::UniqueFd parent_end(sv[0]), child_end(sv[1]);
    pid_t pid = ::fork();
    if (pid < 0) throw_errno("fork");
    if (pid == 0) {
        ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);  // CVE-2019-5736
        ::signal(SIGPIPE, SIG_IGN);
        SyncChannel ch{child_end.get()};
        int code = 1;
        try {
            auto go = ch.recv();
            if (!go || go->type != SyncType::Go) ::_exit(1);
            join_all(joins);
            if (joins_user) become_root();
            if (proc.terminal) {
                setup_console(console ? console.get() : -1, proc.console_size);
            }
            apply_rlimits(proc.rlimits);
            enter_cwd(proc.cwd);
            std::string exe = find_executable(proc);
            cloexec_fds_from(3 + o.preserve_fds);
            write_security_labels(labels);
            apply_identity(proc, filter ? &*filter : nullptr, !joins_user);
            struct sigaction sa {};
            sa.sa_handler = SIG_DFL;
            for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &sa, nullptr);
            auto argv = to_exec_array(proc.args);
            auto envp = to_exec_array(proc.env);
            ::execve(exe.c_str(), argv.data(), envp.data());
            int err = errno;
            throw ExecError(errno_message("exec " + exe, err), err);
        } catch (const std::exception& e) {
            auto* exec_error = dynamic_cast<const ExecError*>(&e);
            code = exec_error ? exec_error->status() : 1;
            ch.send_error(ErrorRecord::of(e, code));
        }
        ::_exit(code);
    }
    if (own_pidns) ::setns(own_pidns.get(), CLONE_NEWPID);
    child_end.reset();
    SyncChannel ch{parent_end.get()};
    try {
        cgroup.add_process(pid);
    } catch (const Error& e) {
        ::kill(pid, SIGKILL);
        wait_status(pid);
        throw;
    }
    ch.send(SyncType::Go);
    if (auto msg = ch.recv(); msg && msg->type == SyncType::Failed) {
        int status = wait_status(pid);
        ErrorRecord r = failure_of(*msg);
        r.message += " (status " + std::to_string(status) + ")";
        throw InitError(r, status);
    }
    if (!o.pid_file.empty()) fs::write_file_atomic(std::filesystem::absolute(o.pid_file), std::to_string(pid), 0644);
    if (o.detach) return 0;
    return wait_status(pid);
}

}  // namespace minirun::runtime
