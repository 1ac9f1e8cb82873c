#include "namespaces.hpp"

#include <linux/sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

#include "minirun/common/error.hpp"

namespace minirun::runtime {

int namespace_flag(const std::string& t) {
    if (t == "pid") return CLONE_NEWPID;
    if (t == "network") return CLONE_NEWNET;
    if (t == "mount") return CLONE_NEWNS;
    if (t == "ipc") return CLONE_NEWIPC;
    if (t == "uts") return CLONE_NEWUTS;
    if (t == "user") return CLONE_NEWUSER;
    if (t == "cgroup") return CLONE_NEWCGROUP;
    if (t == "time") return CLONE_NEWTIME;
    throw Error("unknown namespace type \"" + t + "\"");
}

const char* proc_ns_name(const std::string& t) {
    if (t == "network") return "net";
    if (t == "mount") return "mnt";
    return t.c_str();
}

void order_joins(std::vector<NamespaceJoin>& joins) {
    auto rank = [](int flag) { return flag == CLONE_NEWUSER ? 0 : flag == CLONE_NEWNS ? 2 : 1; };
    std::stable_sort(joins.begin(), joins.end(),
                     [&](const NamespaceJoin& a, const NamespaceJoin& b) { return rank(a.flag) < rank(b.flag); });
}

void join_all(std::vector<NamespaceJoin>& joins) {
    for (auto& j : joins)
        if (::setns(j.fd.get(), j.flag) != 0) throw_errno("join " + j.type + " namespace");
}

long clone3_process(unsigned long flags, int cgroup_fd, bool* placed) {
    clone_args args{};
    args.flags = flags;
    args.exit_signal = SIGCHLD;
    if (placed) *placed = false;
    if (cgroup_fd >= 0) {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = static_cast<uint64_t>(cgroup_fd);
        long pid = ::syscall(SYS_clone3, &args, sizeof args);
        if (pid >= 0) {
            if (placed && pid > 0) *placed = true;
            return pid;
        }
        // E2BIG/EINVAL: a kernel without the flag; EBUSY/EOPNOTSUPP: a cgroup it cannot
        // take the process into directly. The caller migrates it instead.
        args.flags &= ~static_cast<uint64_t>(CLONE_INTO_CGROUP);
        args.cgroup = 0;
    }
    return ::syscall(SYS_clone3, &args, sizeof args);
}

}  // namespace minirun::runtime
