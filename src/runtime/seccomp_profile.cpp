// Docker's default seccomp profile, expressed as code: what moby's
// profiles/seccomp default profile allows, for a given capability set, arch and
// kernel. Everything not listed fails with EPERM. The allow-list is grouped by
// subsystem here; the gates (capabilities, arches, minimum kernel) and the
// argument filters carry the profile's semantics:
//   * namespace / mount / kernel-wide syscalls need CAP_SYS_ADMIN (or a narrower cap);
//   * clone may not create namespaces without CAP_SYS_ADMIN, and clone3 (whose
//     flags live in memory seccomp cannot inspect) fails with ENOSYS so libcs
//     fall back to clone;
//   * personality only with the handful of harmless personas;
//   * socket for every family except AF_VSOCK.
#include "minirun/runtime/seccomp.hpp"

#include <sys/utsname.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <initializer_list>
#include <optional>
#include <string>
#include <utility>
#include <vector>
#include <string_view>

namespace minirun::runtime {
namespace {

using Names = std::initializer_list<const char*>;

// ---- The unconditional allow-list, by subsystem -------------------------------------

constexpr const char* kFileSyscalls[] = {
    // paths, descriptors
    "open", "openat", "openat2", "creat", "close", "close_range", "dup", "dup2", "dup3", "fcntl", "fcntl64", "flock",
    "name_to_handle_at",
    // data
    "read", "readv", "pread64", "preadv", "preadv2", "write", "writev", "pwrite64", "pwritev", "pwritev2", "lseek",
    "_llseek", "readahead", "fadvise64", "fadvise64_64", "fallocate", "truncate", "truncate64", "ftruncate",
    "ftruncate64", "fsync", "fdatasync", "sync", "syncfs", "sync_file_range", "copy_file_range", "sendfile",
    "sendfile64", "splice", "tee", "vmsplice",
    // metadata
    "access", "faccessat", "faccessat2", "stat", "stat64", "lstat", "lstat64", "fstat", "fstat64", "fstatat64",
    "newfstatat", "statx", "statfs", "statfs64", "fstatfs", "fstatfs64", "chmod", "fchmod", "fchmodat", "chown",
    "chown32", "fchown", "fchown32", "fchownat", "lchown", "lchown32", "umask", "utime", "utimes", "utimensat",
    "utimensat_time64", "futimesat",
    // directories and names
    "chdir", "fchdir", "getcwd", "getdents", "getdents64", "mkdir", "mkdirat", "mknod", "mknodat", "rmdir", "link",
    "linkat", "symlink", "symlinkat", "unlink", "unlinkat", "rename", "renameat", "renameat2", "readlink",
    "readlinkat",
    // extended attributes
    "getxattr", "lgetxattr", "fgetxattr", "setxattr", "lsetxattr", "fsetxattr", "listxattr", "llistxattr",
    "flistxattr", "removexattr", "lremovexattr", "fremovexattr",
    // change notification
    "inotify_init", "inotify_init1", "inotify_add_watch", "inotify_rm_watch", "fanotify_mark",
    "ioctl",
};

constexpr const char* kEventSyscalls[] = {
    "select", "_newselect", "pselect6", "pselect6_time64", "poll", "ppoll", "ppoll_time64", "epoll_create",
    "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_wait", "epoll_wait_old", "epoll_pwait", "epoll_pwait2",
    "eventfd", "eventfd2", "signalfd", "signalfd4", "timerfd_create", "timerfd_gettime", "timerfd_gettime64",
    "timerfd_settime", "timerfd_settime64", "pipe", "pipe2",
    // asynchronous I/O
    "io_setup", "io_destroy", "io_submit", "io_cancel", "io_getevents", "io_pgetevents", "io_pgetevents_time64",
    "io_uring_setup", "io_uring_enter", "io_uring_register",
};

constexpr const char* kProcessSyscalls[] = {
    "execve", "execveat", "exit", "exit_group", "fork", "vfork", "wait4", "waitid", "waitpid", "kill", "tkill",
    "tgkill", "getpid", "getppid", "gettid", "getpgid", "setpgid", "getpgrp", "getsid", "setsid", "pidfd_open",
    "pidfd_send_signal", "process_mrelease", "prctl", "seccomp", "restart_syscall", "rseq", "set_tid_address",
    "set_robust_list", "get_robust_list", "set_thread_area", "get_thread_area", "capget", "capset", "uname",
    "sysinfo", "getcpu", "getrandom", "membarrier",
    // landlock only ever narrows what the caller may do
    "landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self",
    // limits and scheduling
    "getrlimit", "setrlimit", "ugetrlimit", "prlimit64", "getrusage", "getpriority", "setpriority", "ioprio_get",
    "ioprio_set", "sched_yield", "sched_getaffinity", "sched_setaffinity", "sched_getattr", "sched_setattr",
    "sched_getparam", "sched_setparam", "sched_getscheduler", "sched_setscheduler", "sched_get_priority_max",
    "sched_get_priority_min", "sched_rr_get_interval", "sched_rr_get_interval_time64",
};

constexpr const char* kCredentialSyscalls[] = {
    "getuid", "getuid32", "geteuid", "geteuid32", "getgid", "getgid32", "getegid", "getegid32", "getresuid",
    "getresuid32", "getresgid", "getresgid32", "getgroups", "getgroups32", "setuid", "setuid32", "setgid",
    "setgid32", "setreuid", "setreuid32", "setregid", "setregid32", "setresuid", "setresuid32", "setresgid",
    "setresgid32", "setfsuid", "setfsuid32", "setfsgid", "setfsgid32", "setgroups", "setgroups32",
};

constexpr const char* kMemorySyscalls[] = {
    "brk", "mmap", "mmap2", "munmap", "mremap", "mprotect", "madvise", "mincore", "msync", "mlock", "mlock2",
    "mlockall", "munlock", "munlockall", "remap_file_pages", "memfd_create", "memfd_secret", "pkey_alloc",
    "pkey_free", "pkey_mprotect", "futex", "futex_time64", "futex_waitv",
};

constexpr const char* kSignalTimeSyscalls[] = {
    "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend",
    "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sigaltstack", "sigprocmask", "sigreturn",
    "pause", "alarm",
    // clocks and timers (reading; setting the clock needs CAP_SYS_TIME)
    "time", "gettimeofday", "clock_gettime", "clock_gettime64", "clock_getres", "clock_getres_time64",
    "clock_nanosleep", "clock_nanosleep_time64", "nanosleep", "clock_adjtime", "clock_adjtime64", "adjtimex", "times",
    "getitimer", "setitimer", "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime", "timer_gettime64",
    "timer_settime", "timer_settime64",
};

constexpr const char* kNetworkIpcSyscalls[] = {
    // socket itself is argument-filtered below
    "socketpair", "socketcall", "bind", "connect", "listen", "accept", "accept4", "getsockname", "getpeername",
    "getsockopt", "setsockopt", "shutdown", "send", "sendto", "sendmsg", "sendmmsg", "recv", "recvfrom", "recvmsg",
    "recvmmsg", "recvmmsg_time64",
    // System V IPC and POSIX message queues (namespaced by the IPC namespace)
    "ipc", "msgget", "msgctl", "msgsnd", "msgrcv", "semget", "semctl", "semop", "semtimedop", "semtimedop_time64",
    "shmget", "shmat", "shmdt", "shmctl", "mq_open", "mq_unlink", "mq_notify", "mq_getsetattr", "mq_timedsend",
    "mq_timedsend_time64", "mq_timedreceive", "mq_timedreceive_time64",
};

// ---- Host description ----------------------------------------------------------------

struct Host {
    std::string arch;                       // moby's arch words: amd64 arm64 arm x86 s390x ppc64le riscv64 …
    std::vector<std::string> seccomp_arches;  // native first, then the compat arches it can run
    int kernel_major = 0, kernel_minor = 0;
};

Host host() {
    Host h;
#if defined(__x86_64__)
#if defined(__ILP32__)
    h.arch = "x32";
#else
    h.arch = "amd64";
#endif
    h.seccomp_arches = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
#elif defined(__i386__)
    h.arch = "x86";
    h.seccomp_arches = {"SCMP_ARCH_X86"};
#elif defined(__aarch64__)
    h.arch = "arm64";
    h.seccomp_arches = {"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"};
#elif defined(__arm__)
    h.arch = "arm";
    h.seccomp_arches = {"SCMP_ARCH_ARM"};
#elif defined(__s390x__)
    h.arch = "s390x";
    h.seccomp_arches = {"SCMP_ARCH_S390X", "SCMP_ARCH_S390"};
#elif defined(__s390__)
    h.arch = "s390";
    h.seccomp_arches = {"SCMP_ARCH_S390"};
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    h.arch = "ppc64le";
    h.seccomp_arches = {"SCMP_ARCH_PPC64LE"};
#elif defined(__powerpc64__)
    h.arch = "ppc64";
    h.seccomp_arches = {"SCMP_ARCH_PPC64"};
#elif defined(__riscv) && __riscv_xlen == 64
    h.arch = "riscv64";
    h.seccomp_arches = {"SCMP_ARCH_RISCV64"};
#elif defined(__mips__) && defined(_ABI64) && _MIPS_SIM == _ABI64 && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    h.arch = "mips64le";
    h.seccomp_arches = {"SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64N32"};
#elif defined(__mips__) && defined(_ABI64) && _MIPS_SIM == _ABI64
    h.arch = "mips64";
    h.seccomp_arches = {"SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64N32"};
#else
    h.arch = "unknown";
    std::string native = seccomp_native_arch();
    if (!native.empty()) h.seccomp_arches = {native};
#endif
    struct utsname u {};
    if (::uname(&u) == 0) std::sscanf(u.release, "%d.%d", &h.kernel_major, &h.kernel_minor);
    return h;
}

std::string normalize_cap(std::string c) {
    std::transform(c.begin(), c.end(), c.begin(), [](unsigned char ch) { return std::toupper(ch); });
    if (c.rfind("CAP_", 0) != 0) c = "CAP_" + c;
    return c;
}

// ---- Profile assembly ----------------------------------------------------------------

class ProfileBuilder {
public:
    ProfileBuilder(const std::vector<std::string>& caps, Host h) : host_(std::move(h)) {
        for (const auto& c : caps) caps_.push_back(normalize_cap(c));
    }

    bool has(std::string_view cap) const { return std::find(caps_.begin(), caps_.end(), cap) != caps_.end(); }
    bool on(Names arches) const {
        return std::any_of(arches.begin(), arches.end(), [&](const char* a) { return host_.arch == a; });
    }
    bool kernel_at_least(int major, int minor) const {
        return host_.kernel_major > major || (host_.kernel_major == major && host_.kernel_minor >= minor);
    }

    template <size_t N>
    void allow(const char* const (&names)[N]) {
        add(std::vector<std::string>(std::begin(names), std::end(names)), "SCMP_ACT_ALLOW", {}, {});
    }
    void allow(Names names, std::vector<SeccompArg> args = {}) {
        add(std::vector<std::string>(names.begin(), names.end()), "SCMP_ACT_ALLOW", {}, std::move(args));
    }
    void deny(Names names, unsigned err) {
        add(std::vector<std::string>(names.begin(), names.end()), "SCMP_ACT_ERRNO", err, {});
    }

    Seccomp finish() && {
        out_.default_action = "SCMP_ACT_ERRNO";
        out_.default_errno_ret = 1;  // EPERM
        out_.architectures = host_.seccomp_arches;
        return std::move(out_);
    }

private:
    void add(std::vector<std::string> names, const char* action, std::optional<unsigned> err,
             std::vector<SeccompArg> args) {
        SeccompSyscall s;
        s.names = std::move(names);
        s.action = action;
        s.errno_ret = err;
        s.args = std::move(args);
        out_.syscalls.push_back(std::move(s));
    }

    Host host_;
    std::vector<std::string> caps_;
    Seccomp out_;
};

SeccompArg arg(unsigned index, uint64_t value, const char* op, uint64_t value_two = 0) {
    SeccompArg a;
    a.index = index;
    a.value = value;
    a.value_two = value_two;
    a.op = op;
    return a;
}

// Every namespace-creating clone flag: NEWNS NEWCGROUP NEWUTS NEWIPC NEWUSER NEWPID NEWNET.
constexpr uint64_t kCloneNamespaceFlags = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 |
                                          0x20000000 | 0x40000000;
constexpr uint64_t kAfVsock = 40;
constexpr unsigned kEnosys = 38;

}  // namespace

Seccomp docker_default_seccomp(const std::vector<std::string>& capabilities) {
    ProfileBuilder p(capabilities, host());

    p.allow(kFileSyscalls);
    p.allow(kEventSyscalls);
    p.allow(kProcessSyscalls);
    p.allow(kCredentialSyscalls);
    p.allow(kMemorySyscalls);
    p.allow(kSignalTimeSyscalls);
    p.allow(kNetworkIpcSyscalls);

    // Since 4.8 ptrace can no longer be used to bypass seccomp, so it is safe to allow.
    if (p.kernel_at_least(4, 8)) p.allow({"ptrace", "process_vm_readv", "process_vm_writev"});

    // Any address family but vsock (which is not namespaced).
    p.allow({"socket"}, {arg(0, kAfVsock, "SCMP_CMP_NE")});
    // personality: the query (0xffffffff) and the PER_LINUX / PER_LINUX32 personas,
    // optionally with UNAME26; nothing that changes address-space layout.
    for (uint64_t persona : {0x0ULL, 0x8ULL, 0x20000ULL, 0x20008ULL, 0xffffffffULL})
        p.allow({"personality"}, {arg(0, persona, "SCMP_CMP_EQ")});

    // Arch-specific helpers.
    if (p.on({"ppc64le"})) p.allow({"sync_file_range2", "swapcontext"});
    if (p.on({"arm", "arm64"}))
        p.allow({"arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint", "cacheflush", "set_tls"});
    if (p.on({"amd64", "x32"})) p.allow({"arch_prctl"});
    if (p.on({"amd64", "x32", "x86"})) p.allow({"modify_ldt"});
    if (p.on({"s390", "s390x"})) p.allow({"s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr"});
    if (p.on({"riscv64"})) p.allow({"riscv_flush_icache"});

    // Capability-gated syscalls.
    if (p.has("CAP_DAC_READ_SEARCH")) p.allow({"open_by_handle_at"});
    if (p.has("CAP_SYS_ADMIN")) {
        p.allow({"bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick", "lookup_dcookie",
                 "mount", "mount_setattr", "move_mount", "open_tree", "perf_event_open", "quotactl", "quotactl_fd",
                 "setdomainname", "sethostname", "setns", "syslog", "umount", "umount2", "unshare"});
    } else {
        // clone without any namespace flag; s390 passes the flags second.
        unsigned flags_index = p.on({"s390", "s390x"}) ? 1 : 0;
        p.allow({"clone"}, {arg(flags_index, kCloneNamespaceFlags, "SCMP_CMP_MASKED_EQ", 0)});
        p.deny({"clone3"}, kEnosys);
    }
    if (p.has("CAP_SYS_BOOT")) p.allow({"reboot"});
    if (p.has("CAP_SYS_CHROOT")) p.allow({"chroot"});
    if (p.has("CAP_SYS_MODULE")) p.allow({"init_module", "finit_module", "delete_module"});
    if (p.has("CAP_SYS_PACCT")) p.allow({"acct"});
    if (p.has("CAP_SYS_PTRACE"))
        p.allow({"ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd", "process_madvise"});
    if (p.has("CAP_SYS_RAWIO")) p.allow({"iopl", "ioperm"});
    if (p.has("CAP_SYS_TIME")) p.allow({"settimeofday", "stime", "clock_settime", "clock_settime64"});
    if (p.has("CAP_SYS_TTY_CONFIG")) p.allow({"vhangup"});
    if (p.has("CAP_SYS_NICE")) p.allow({"get_mempolicy", "set_mempolicy", "set_mempolicy_home_node", "mbind"});
    if (p.has("CAP_SYSLOG")) p.allow({"syslog"});
    if (p.has("CAP_BPF")) p.allow({"bpf"});
    if (p.has("CAP_PERFMON")) p.allow({"perf_event_open"});

    return std::move(p).finish();
}

}  // namespace minirun::runtime
