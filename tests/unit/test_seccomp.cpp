// Seccomp filters, checked by loading them for real: the parent builds the filter
// (as the runtime does before clone), a forked child sets no_new_privs, loads it
// and tries syscalls, and reports through its exit status.
#include <doctest/doctest.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "minirun/common/error.hpp"
#include "minirun/runtime/seccomp.hpp"

using namespace minirun;
using namespace minirun::runtime;

namespace {

constexpr int kLoadFailed = 120;
constexpr int kNnpFailed = 121;

struct ChildResult {
    bool exited = false;
    int code = -1;
    int signal = 0;
};

// Forks; the child sets no_new_privs, loads `filter`, runs `body` and exits with
// its return value (0 = every check passed, otherwise the failed check's number).
ChildResult run_filtered(const SeccompFilter& filter, const std::function<int()>& body) {
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        struct rlimit no_core {0, 0};
        ::setrlimit(RLIMIT_CORE, &no_core);  // SIGSYS would dump core otherwise
        if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) ::_exit(kNnpFailed);
        if (filter.try_load() != 0) ::_exit(kLoadFailed);
        ::_exit(body());
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    ChildResult r;
    if (WIFEXITED(status)) {
        r.exited = true;
        r.code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        r.signal = WTERMSIG(status);
    }
    return r;
}

// A syscall's outcome as "0" or the errno it failed with.
int err_of(long rc) { return rc < 0 ? errno : 0; }

SeccompSyscall rule(std::vector<std::string> names, std::string action, std::optional<unsigned> err = {},
                    std::vector<SeccompArg> args = {}) {
    SeccompSyscall s;
    s.names = std::move(names);
    s.action = std::move(action);
    s.errno_ret = err;
    s.args = std::move(args);
    return s;
}

SeccompArg arg(unsigned index, uint64_t value, std::string op, uint64_t value_two = 0) {
    SeccompArg a;
    a.index = index;
    a.value = value;
    a.value_two = value_two;
    a.op = std::move(op);
    return a;
}

Seccomp allow_by_default(std::vector<SeccompSyscall> rules) {
    Seccomp s;
    s.default_action = "SCMP_ACT_ALLOW";
    s.syscalls = std::move(rules);
    return s;
}

std::string build_error(const Seccomp& cfg) {
    try {
        SeccompFilter::build(cfg);
    } catch (const Error& e) {
        return e.what();
    }
    return "(no error)";
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

bool allows(const Seccomp& s, const std::string& name) {
    return std::any_of(s.syscalls.begin(), s.syscalls.end(), [&](const SeccompSyscall& r) {
        return r.action == "SCMP_ACT_ALLOW" && contains(r.names, name);
    });
}

// Docker's default capability set (no CAP_SYS_ADMIN, no CAP_SYS_PTRACE).
const std::vector<std::string> kDockerCaps = {
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID",       "CAP_FOWNER",         "CAP_MKNOD",
    "CAP_NET_RAW", "CAP_SETGID",     "CAP_SETUID",       "CAP_SETFCAP",        "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
};

}  // namespace

TEST_CASE("seccomp: ERRNO with a custom errnoRet, other syscalls unaffected") {
    auto filter = SeccompFilter::build(allow_by_default({
        rule({"getcwd"}, "SCMP_ACT_ERRNO", ENOMSG),
        rule({"mkdir", "mkdirat"}, "SCMP_ACT_ERRNO", EXDEV),
        rule({"chdir"}, "SCMP_ACT_ERRNO"),  // errnoRet absent: EPERM
    }));
    CHECK_FALSE(filter.empty());
    auto r = run_filtered(filter, [] {
        char buf[256];
        if (err_of(::syscall(SYS_getcwd, buf, sizeof buf)) != ENOMSG) return 1;
        if (err_of(::mkdir("/tmp/minirun-seccomp-never", 0700)) != EXDEV) return 2;
        if (err_of(::chdir("/")) != EPERM) return 3;
        if (::getpid() <= 0) return 4;
        if (err_of(::fchdir(-1)) != EBADF) return 5;  // reached the kernel
        return 0;
    });
    CHECK(r.exited);
    CHECK(r.code == 0);
}

TEST_CASE("seccomp: argument filters") {
    SUBCASE("one condition: socket(AF_INET6) denied, AF_INET allowed") {
        auto filter = SeccompFilter::build(allow_by_default({
            rule({"socket"}, "SCMP_ACT_ERRNO", EACCES, {arg(0, AF_INET6, "SCMP_CMP_EQ")}),
        }));
        auto r = run_filtered(filter, [] {
            if (err_of(::socket(AF_INET6, SOCK_STREAM, 0)) != EACCES) return 1;
            int fd = ::socket(AF_INET, SOCK_STREAM, 0);
            if (fd < 0) return 2;
            ::close(fd);
            return 0;
        });
        CHECK(r.code == 0);
    }
    SUBCASE("only personality(0xffffffff) denied") {
        auto filter = SeccompFilter::build(allow_by_default({
            rule({"personality"}, "SCMP_ACT_ERRNO", EPERM, {arg(0, 0xffffffff, "SCMP_CMP_EQ")}),
        }));
        auto r = run_filtered(filter, [] {
            if (err_of(::syscall(SYS_personality, 0xffffffffUL)) != EPERM) return 1;
            if (::syscall(SYS_personality, 0UL) < 0) return 2;  // PER_LINUX: allowed
            return 0;
        });
        CHECK(r.code == 0);
    }
    SUBCASE("conditions on different arguments are ANDed") {
        auto filter = SeccompFilter::build(allow_by_default({
            rule({"socket"}, "SCMP_ACT_ERRNO", EACCES,
                 {arg(0, AF_INET, "SCMP_CMP_EQ"), arg(1, SOCK_DGRAM, "SCMP_CMP_EQ")}),
        }));
        auto r = run_filtered(filter, [] {
            if (err_of(::socket(AF_INET, SOCK_DGRAM, 0)) != EACCES) return 1;
            int fd = ::socket(AF_INET, SOCK_STREAM, 0);
            if (fd < 0) return 2;
            ::close(fd);
            fd = ::socket(AF_UNIX, SOCK_DGRAM, 0);
            if (fd < 0) return 3;
            ::close(fd);
            return 0;
        });
        CHECK(r.code == 0);
    }
    SUBCASE("several conditions on one argument are ORed (one rule each, as runc)") {
        auto filter = SeccompFilter::build(allow_by_default({
            rule({"socket"}, "SCMP_ACT_ERRNO", EACCES,
                 {arg(0, AF_INET, "SCMP_CMP_EQ"), arg(0, AF_INET6, "SCMP_CMP_EQ")}),
        }));
        auto r = run_filtered(filter, [] {
            if (err_of(::socket(AF_INET, SOCK_STREAM, 0)) != EACCES) return 1;
            if (err_of(::socket(AF_INET6, SOCK_STREAM, 0)) != EACCES) return 2;
            int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
            if (fd < 0) return 3;
            ::close(fd);
            return 0;
        });
        CHECK(r.code == 0);
    }
    SUBCASE("MASKED_EQ and range operators") {
        auto filter = SeccompFilter::build(allow_by_default({
            // deny when the SOCK_NONBLOCK bit is set in the type
            rule({"socket"}, "SCMP_ACT_ERRNO", EACCES, {arg(1, SOCK_NONBLOCK, "SCMP_CMP_MASKED_EQ", SOCK_NONBLOCK)}),
            rule({"dup"}, "SCMP_ACT_ERRNO", ENOTTY, {arg(0, 100, "SCMP_CMP_GE")}),
        }));
        auto r = run_filtered(filter, [] {
            if (err_of(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0)) != EACCES) return 1;
            int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
            if (fd < 0) return 2;
            ::close(fd);
            if (err_of(::syscall(SYS_dup, 100)) != ENOTTY) return 3;
            if (err_of(::syscall(SYS_dup, 99)) != EBADF) return 4;
            return 0;
        });
        CHECK(r.code == 0);
    }
}

TEST_CASE("seccomp: KILL_PROCESS, KILL and TRAP end the child with SIGSYS") {
    for (const char* action : {"SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP"}) {
        CAPTURE(action);
        auto filter = SeccompFilter::build(allow_by_default({rule({"getppid"}, action)}));
        auto r = run_filtered(filter, [] {
            ::syscall(SYS_getppid);
            return 7;  // not reached
        });
        CHECK_FALSE(r.exited);
        CHECK(r.signal == SIGSYS);
    }
}

TEST_CASE("seccomp: default ALLOW with a deny list, unknown names skipped") {
    auto filter = SeccompFilter::build(allow_by_default({
        rule({"no_such_syscall_xyz", "unshare", "mount", "umount2"}, "SCMP_ACT_ERRNO", EPERM),
        rule({"getpid"}, "SCMP_ACT_ALLOW"),  // same as the default: skipped, no error
        rule({"getppid"}, "SCMP_ACT_LOG"),
    }));
    auto r = run_filtered(filter, [] {
        if (err_of(::unshare(CLONE_NEWNS)) != EPERM) return 1;
        if (err_of(::mount("none", "/nonexistent-minirun", "tmpfs", 0, nullptr)) != EPERM) return 2;
        if (err_of(::umount2("/nonexistent-minirun", 0)) != EPERM) return 3;
        if (::getpid() <= 0) return 4;
        if (::getppid() <= 0) return 5;  // LOG lets it through
        return 0;
    });
    CHECK(r.code == 0);
}

TEST_CASE("seccomp: filter flags reach seccomp(2)") {
    Seccomp cfg = allow_by_default({rule({"getcwd"}, "SCMP_ACT_ERRNO", ENOMSG)});
    cfg.flags = {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"};
    auto filter = SeccompFilter::build(cfg);
    CHECK(filter.load_flags() == (SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_SPEC_ALLOW));
    auto r = run_filtered(filter, [] {
        char buf[64];
        return err_of(::syscall(SYS_getcwd, buf, sizeof buf)) == ENOMSG ? 0 : 1;
    });
    CHECK(r.code == 0);
}

TEST_CASE("seccomp: explicit architectures, native always included") {
    Seccomp cfg = allow_by_default({rule({"getcwd"}, "SCMP_ACT_ERRNO", ENOMSG)});
    // A foreign arch only: the native one must still be in the filter, or every
    // syscall would hit the bad-arch action and kill the child.
    cfg.architectures = {seccomp_native_arch() == "SCMP_ARCH_AARCH64" ? "SCMP_ARCH_X86_64" : "SCMP_ARCH_AARCH64"};
    auto filter = SeccompFilter::build(cfg);
    auto r = run_filtered(filter, [] {
        char buf[64];
        return err_of(::syscall(SYS_getcwd, buf, sizeof buf)) == ENOMSG ? 0 : 1;
    });
    CHECK(r.exited);
    CHECK(r.code == 0);

    cfg.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
    CHECK_NOTHROW(SeccompFilter::build(cfg));
}

TEST_CASE("seccomp: SCMP_ACT_NOTIFY hands a listener fd to the supervisor") {
    Seccomp cfg = allow_by_default({rule({"getppid"}, "SCMP_ACT_NOTIFY")});
    cfg.listener_path = "/run/minirun-test-listener.sock";
    auto filter = SeccompFilter::build(cfg);
    CHECK(filter.uses_notify());
    CHECK((filter.load_flags() & SECCOMP_FILTER_FLAG_NEW_LISTENER) != 0);

    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::close(sv[0]);
        if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) ::_exit(kNnpFailed);
        if (filter.try_load() != 0 || filter.notify_fd() < 0) ::_exit(kLoadFailed);
        // Send the listener over SCM_RIGHTS, as the runtime sends it to listenerPath.
        char byte = 'n';
        iovec iov{&byte, 1};
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        cmsghdr* c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        int nfd = filter.notify_fd();
        std::memcpy(CMSG_DATA(c), &nfd, sizeof nfd);
        if (::sendmsg(sv[1], &msg, 0) != 1) ::_exit(2);
        ::close(nfd);
        long v = ::syscall(SYS_getppid);  // blocks until the supervisor answers
        ::_exit(v == 4242 ? 0 : 3);
    }
    ::close(sv[1]);
    char byte = 0;
    iovec iov{&byte, 1};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = ::recvmsg(sv[0], &msg, 0);
    ::close(sv[0]);
    int listener = -1;
    if (n == 1) {
        cmsghdr* c = CMSG_FIRSTHDR(&msg);
        if (c && c->cmsg_type == SCM_RIGHTS) std::memcpy(&listener, CMSG_DATA(c), sizeof listener);
    }
    CHECK(listener >= 0);
    if (listener >= 0) {
        seccomp_notif req{};
        int rc = ::ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req);
        CHECK(rc == 0);
        CHECK(req.pid == static_cast<__u32>(pid));
        CHECK(req.data.nr == SYS_getppid);
        seccomp_notif_resp resp{};
        resp.id = req.id;
        resp.val = 4242;
        CHECK(::ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) == 0);
        ::close(listener);
    } else {
        ::kill(pid, SIGKILL);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("seccomp: bad configs are refused naming the field and value") {
    Seccomp cfg = allow_by_default({});
    cfg.default_action = "SCMP_ACT_BOGUS";
    std::string e = build_error(cfg);
    CHECK(e.find("linux.seccomp.defaultAction") != std::string::npos);
    CHECK(e.find("unknown action \"SCMP_ACT_BOGUS\"") != std::string::npos);

    cfg = allow_by_default({rule({"getpid"}, "SCMP_ACT_EXPLODE")});
    e = build_error(cfg);
    CHECK(e.find("linux.seccomp.syscalls[0].action") != std::string::npos);
    CHECK(e.find("\"SCMP_ACT_EXPLODE\"") != std::string::npos);

    cfg = allow_by_default({});
    cfg.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_VAX"};
    e = build_error(cfg);
    CHECK(e.find("linux.seccomp.architectures[1]") != std::string::npos);
    CHECK(e.find("unknown architecture \"SCMP_ARCH_VAX\"") != std::string::npos);

    cfg = allow_by_default({rule({"getpid"}, "SCMP_ACT_ALLOW"),
                            rule({"socket"}, "SCMP_ACT_ERRNO", {}, {arg(0, 1, "SCMP_CMP_ROUGHLY")})});
    e = build_error(cfg);
    CHECK(e.find("linux.seccomp.syscalls[1].args[0].op") != std::string::npos);
    CHECK(e.find("unknown operator \"SCMP_CMP_ROUGHLY\"") != std::string::npos);

    // Validation happens even when the syscall name is unknown here.
    cfg = allow_by_default({rule({"no_such_syscall_xyz"}, "SCMP_ACT_ERRNO", {}, {arg(0, 1, "SCMP_CMP_NOPE")})});
    CHECK(build_error(cfg).find("\"SCMP_CMP_NOPE\"") != std::string::npos);

    cfg = allow_by_default({});
    cfg.flags = {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_YOLO"};
    e = build_error(cfg);
    CHECK(e.find("linux.seccomp.flags[1]") != std::string::npos);
    CHECK(e.find("unknown flag \"SECCOMP_FILTER_FLAG_YOLO\"") != std::string::npos);

    cfg = allow_by_default({rule({"socket"}, "SCMP_ACT_ERRNO", {}, {arg(6, 1, "SCMP_CMP_EQ")})});
    CHECK(build_error(cfg).find("syscalls[0].args[0].index") != std::string::npos);

    cfg = allow_by_default({rule({"getpid"}, "SCMP_ACT_ERRNO", 70000)});
    CHECK(build_error(cfg).find("errnoRet 70000") != std::string::npos);

    cfg = allow_by_default({rule({}, "SCMP_ACT_ERRNO")});
    CHECK(build_error(cfg).find("syscalls[0].names") != std::string::npos);

    cfg = allow_by_default({rule({"getppid"}, "SCMP_ACT_NOTIFY")});
    CHECK(build_error(cfg).find("listenerPath") != std::string::npos);
    cfg.listener_path = "/run/l.sock";
    cfg.syscalls = {rule({"getppid", "write"}, "SCMP_ACT_NOTIFY")};
    CHECK(build_error(cfg).find("write") != std::string::npos);
    cfg = allow_by_default({});
    cfg.default_action = "SCMP_ACT_NOTIFY";
    CHECK(build_error(cfg).find("defaultAction") != std::string::npos);
    cfg.default_action = "";
    CHECK(build_error(cfg).find("defaultAction") != std::string::npos);

    SeccompFilter empty;
    CHECK(empty.empty());
    CHECK(empty.try_load() == -EINVAL);
    CHECK_THROWS_AS(empty.load(), Error);
}

TEST_CASE("seccomp: features lists") {
    auto actions = seccomp_supported_actions();
    for (const char* a : {"SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
                          "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY"})
        CHECK(contains(actions, a));
    CHECK(std::is_sorted(actions.begin(), actions.end()));
    auto ops = seccomp_supported_operators();
    CHECK(ops.size() == 7);
    CHECK(contains(ops, "SCMP_CMP_MASKED_EQ"));
    auto arches = seccomp_supported_archs();
    for (const char* a : {"SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64",
                          "SCMP_ARCH_S390X", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_RISCV64"})
        CHECK(contains(arches, a));
    CHECK(contains(arches, seccomp_native_arch()));
    auto flags = seccomp_supported_flags();
    CHECK(flags == std::vector<std::string>{"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                                            "SECCOMP_FILTER_FLAG_TSYNC"});
    // Every advertised name is accepted by build().
    for (const auto& a : actions) {
        Seccomp cfg = allow_by_default({rule({"getppid"}, a)});
        cfg.listener_path = "/run/l.sock";
        CAPTURE(a);
        CHECK_NOTHROW(SeccompFilter::build(cfg));
    }
    for (const auto& o : ops)
        CHECK_NOTHROW(SeccompFilter::build(allow_by_default({rule({"dup"}, "SCMP_ACT_ERRNO", {}, {arg(0, 1, o, 1)})})));
    for (const auto& a : arches) {
        Seccomp cfg = allow_by_default({rule({"getppid"}, "SCMP_ACT_ERRNO")});
        cfg.architectures = {a};
        CAPTURE(a);
        CHECK_NOTHROW(SeccompFilter::build(cfg));
    }
}

TEST_CASE("seccomp: docker default profile shape") {
    Seccomp plain = docker_default_seccomp(kDockerCaps);
    CHECK(plain.default_action == "SCMP_ACT_ERRNO");
    CHECK(plain.default_errno_ret == 1u);
    CHECK(contains(plain.architectures, seccomp_native_arch()));
    for (const char* n : {"read", "write", "execve", "openat", "futex", "getpid", "exit_group", "rt_sigreturn"})
        CHECK(allows(plain, n));
    for (const char* n : {"mount", "umount2", "unshare", "setns", "keyctl", "add_key", "reboot", "init_module", "bpf",
                          "kexec_load", "open_by_handle_at"})
        CHECK_FALSE(allows(plain, n));
    CHECK(allows(plain, "chroot"));  // CAP_SYS_CHROOT is in Docker's default set

    Seccomp admin = docker_default_seccomp({"CAP_SYS_ADMIN", "CAP_SYS_PTRACE", "CAP_DAC_READ_SEARCH"});
    for (const char* n : {"mount", "umount2", "unshare", "setns", "clone", "clone3", "ptrace", "kcmp",
                          "open_by_handle_at"})
        CHECK(allows(admin, n));
    CHECK_FALSE(allows(admin, "chroot"));
    CHECK_FALSE(allows(admin, "keyctl"));
    // Capability names without the prefix, in any case, count too.
    CHECK(allows(docker_default_seccomp({"sys_admin"}), "mount"));

    // Argument-filtered rules.
    auto find_args = [](const Seccomp& s, const std::string& name) {
        std::vector<SeccompArg> out;
        for (const auto& r : s.syscalls)
            if (contains(r.names, name))
                for (const auto& a : r.args) out.push_back(a);
        return out;
    };
    auto clone_args = find_args(plain, "clone");
    REQUIRE(clone_args.size() == 1);
    CHECK(clone_args[0].op == "SCMP_CMP_MASKED_EQ");
    CHECK(clone_args[0].value == 0x7E020000u);
    CHECK(clone_args[0].value_two == 0u);
    auto sock = find_args(plain, "socket");
    REQUIRE(sock.size() == 1);
    CHECK(sock[0].op == "SCMP_CMP_NE");
    CHECK(sock[0].value == 40u);
    CHECK(find_args(plain, "personality").size() == 5);
    bool clone3_enosys = std::any_of(plain.syscalls.begin(), plain.syscalls.end(), [](const SeccompSyscall& r) {
        return contains(r.names, "clone3") && r.action == "SCMP_ACT_ERRNO" && r.errno_ret == 38u;
    });
    CHECK(clone3_enosys);

    CHECK_NOTHROW(SeccompFilter::build(plain));
    CHECK_NOTHROW(SeccompFilter::build(admin));
}

TEST_CASE("seccomp: docker default profile loaded without CAP_SYS_ADMIN") {
    auto filter = SeccompFilter::build(docker_default_seccomp(kDockerCaps));
    int p[2];
    REQUIRE(::pipe(p) == 0);
    auto r = run_filtered(filter, [&] {
        // An ordinary program keeps working.
        if (::getpid() <= 0) return 1;
        if (::write(p[1], "ok", 2) != 2) return 2;
        pid_t c = ::fork();  // clone without namespace flags
        if (c < 0) return 3;
        if (c == 0) ::_exit(9);
        int st = 0;
        if (::waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st) != 9) return 4;
        int us = ::socket(AF_UNIX, SOCK_STREAM, 0);
        if (us < 0) return 5;
        ::close(us);
        if (::syscall(SYS_personality, 0xffffffffUL) < 0) return 6;
        // Denied with EPERM.
        if (err_of(::unshare(CLONE_NEWNS)) != EPERM) return 10;
        if (err_of(::mount("none", "/nonexistent-minirun", "tmpfs", 0, nullptr)) != EPERM) return 11;
        if (err_of(::setns(-1, 0)) != EPERM) return 12;  // not EBADF: never reached the kernel
        if (err_of(::syscall(SYS_keyctl, 0, 0, 0, 0, 0)) != EPERM) return 13;
        if (err_of(::syscall(SYS_add_key, "user", "k", "v", 1, 0)) != EPERM) return 14;
        if (err_of(::socket(40 /*AF_VSOCK*/, SOCK_STREAM, 0)) != EPERM) return 15;
        long cl = ::syscall(SYS_clone, CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0);
        if (cl == 0) ::_exit(99);  // the filter let it through: leave quietly
        if (cl > 0) {
            ::waitpid(static_cast<pid_t>(cl), nullptr, 0);
            return 16;
        }
        if (errno != EPERM) return 16;
        if (err_of(::syscall(SYS_personality, 0x0040000UL /*ADDR_NO_RANDOMIZE*/)) != EPERM) return 17;
        if (err_of(::syscall(SYS_umount2, "/nonexistent-minirun", 0)) != EPERM) return 18;
#ifdef SYS_clone3
        // clone3 → ENOSYS so libcs fall back to clone.
        if (err_of(::syscall(SYS_clone3, nullptr, 0)) != ENOSYS) return 19;
#endif
        // A real program: exec a shell that runs a command and exits with a code.
        char sh[] = "/bin/sh";
        char dash_c[] = "-c";
        char script[] = "x=$(echo hi); test \"$x\" = hi && exit 42";
        char* argv[] = {sh, dash_c, script, nullptr};
        ::execv(sh, argv);
        return 30;
    });
    ::close(p[1]);
    char buf[2] = {};
    CHECK(::read(p[0], buf, 2) == 2);
    ::close(p[0]);
    CHECK(r.exited);
    CHECK(r.code == 42);
}

TEST_CASE("seccomp: docker default profile with CAP_SYS_ADMIN lets namespace syscalls reach the kernel") {
    auto caps = kDockerCaps;
    caps.push_back("CAP_SYS_ADMIN");
    Seccomp cfg = docker_default_seccomp(caps);
    cfg.default_errno_ret = EACCES;  // default errnoRet is honoured
    auto filter = SeccompFilter::build(cfg);
    auto r = run_filtered(filter, [] {
        if (err_of(::setns(-1, 0)) != EBADF) return 1;  // the kernel answered
#ifdef SYS_clone3
        if (err_of(::syscall(SYS_clone3, nullptr, 0)) == ENOSYS) return 2;
#endif
        if (err_of(::syscall(SYS_keyctl, 0, 0, 0, 0, 0)) != EACCES) return 3;
        if (::getpid() <= 0) return 4;
        return 0;
    });
    CHECK(r.exited);
    CHECK(r.code == 0);
}

TEST_CASE("seccomp: Docker profile files resolved for this host and the container's capabilities") {
    std::string native = seccomp_native_arch();
    std::string profile = R"({
      "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
      "archMap": [{"architecture": ")" + native + R"(", "subArchitectures": ["SCMP_ARCH_X86"]},
                  {"architecture": "SCMP_ARCH_S390X", "subArchitectures": ["SCMP_ARCH_S390"]}],
      "syscalls": [
        {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW", "comment": "always"},
        {"name": "mount", "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
        {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_SYS_PTRACE"]}},
        {"names": ["s390_only"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["s390x"]}},
        {"names": ["newer"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "99.0"}},
        {"names": ["older"], "action": "SCMP_ACT_ALLOW", "excludes": {"minKernel": "3.0"}},
        {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
         "args": [{"index": 1, "value": 448, "valueTwo": 0, "op": "SCMP_CMP_EQ"}]}
      ]})";
    Seccomp plain = seccomp_from_profile(profile, "p.json", {});
    CHECK(plain.default_action == "SCMP_ACT_ERRNO");
    CHECK(plain.default_errno_ret == 1u);
    CHECK(plain.architectures == std::vector<std::string>{native, "SCMP_ARCH_X86"});
    std::vector<std::string> names;
    for (auto& c : plain.syscalls) names.push_back(c.names.front());
    CHECK(names == std::vector<std::string>{"read", "ptrace", "mkdir"});
    CHECK(plain.syscalls.back().errno_ret == 13u);
    REQUIRE(plain.syscalls.back().args.size() == 1);
    CHECK(plain.syscalls.back().args[0].value == 448u);

    Seccomp admin = seccomp_from_profile(profile, "p.json", {"CAP_SYS_ADMIN", "CAP_SYS_PTRACE"});
    names.clear();
    for (auto& c : admin.syscalls) names.push_back(c.names.front());
    CHECK(names == std::vector<std::string>{"read", "mount", "mkdir"});

    // A plain OCI object is a profile too.
    Seccomp oci = seccomp_from_profile(R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["chmod"],"action":"SCMP_ACT_ERRNO"}]})", "o.json", {});
    CHECK(oci.default_action == "SCMP_ACT_ALLOW");
    CHECK(oci.syscalls.size() == 1);
}

TEST_CASE("seccomp: bad profile files are refused naming the file and the rule") {
    auto refused = [](const std::string& text) {
        try {
            seccomp_from_profile(text, "/etc/p.json", {});
        } catch (const Error& e) {
            return std::string(e.what());
        }
        return std::string("accepted");
    };
    CHECK(refused("{nope") == "/etc/p.json: not valid JSON");
    CHECK(refused("[]") == "/etc/p.json: a seccomp profile must be a JSON object");
    CHECK(refused(R"({"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86"],"archMap":[{"architecture":"SCMP_ARCH_X86"}]})") ==
          "/etc/p.json: use either architectures or archMap, not both");
    // The index is the file's, even where an earlier rule does not apply here.
    std::string msg = refused(R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
        {"names":["a"],"action":"SCMP_ACT_ALLOW","includes":{"caps":["CAP_SYS_ADMIN"]}},
        {"names":["b"],"action":"SCMP_ACT_BOGUS"}]})");
    CHECK(msg.find("/etc/p.json") != std::string::npos);
    CHECK(msg.find("syscalls[1].action") != std::string::npos);
    CHECK(refused(R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"name":"a","names":["b"],"action":"SCMP_ACT_ALLOW"}]})") ==
          "/etc/p.json: syscalls[0]: use either name or names, not both");
    CHECK(refused(R"({"syscalls":[]})").find("defaultAction") != std::string::npos);
}
