#include "minirun/runtime/process_setup.hpp"

#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>

#include "minirun/common/error.hpp"
#include "minirun/common/log.hpp"
#include "minirun/runtime/seccomp.hpp"
#include "minirun/common/process.hpp"

namespace minirun::runtime {

namespace {

const std::map<std::string, int>& rlimit_names() {
    static const std::map<std::string, int> m{
        {"RLIMIT_AS", RLIMIT_AS},           {"RLIMIT_CORE", RLIMIT_CORE},       {"RLIMIT_CPU", RLIMIT_CPU},
        {"RLIMIT_DATA", RLIMIT_DATA},       {"RLIMIT_FSIZE", RLIMIT_FSIZE},     {"RLIMIT_LOCKS", RLIMIT_LOCKS},
        {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
        {"RLIMIT_NOFILE", RLIMIT_NOFILE},   {"RLIMIT_NPROC", RLIMIT_NPROC},     {"RLIMIT_RSS", RLIMIT_RSS},
        {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},   {"RLIMIT_RTTIME", RLIMIT_RTTIME},   {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
        {"RLIMIT_STACK", RLIMIT_STACK}};
    return m;
}

cap_value_t cap_number(const std::string& name, bool& ok) {
    cap_value_t v = 0;
    std::string lower = name;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    ok = cap_from_name(lower.c_str(), &v) == 0 && v <= cap_max_bits() - 1;
    return v;
}

void set_flag(cap_t caps, cap_flag_t flag, const std::vector<int>& values) {
    std::vector<cap_value_t> v(values.begin(), values.end());
    if (!v.empty() && cap_set_flag(caps, flag, static_cast<int>(v.size()), v.data(), CAP_SET) != 0)
        throw_errno("set capability flags");
}

void drop_bounding(const std::vector<int>& keep) {
    for (int c = 0; c < static_cast<int>(cap_max_bits()); ++c) {
        if (std::find(keep.begin(), keep.end(), c) != keep.end()) continue;
        if (::prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0 && errno != EINVAL)
            throw_errno("drop capability " + std::to_string(c) + " from the bounding set");
    }
}

void apply_capabilities(const Capabilities& caps) {
    cap_t c = cap_init();
    if (!c) throw_errno("cap_init");
    try {
        set_flag(c, CAP_EFFECTIVE, capability_numbers(caps.effective));
        set_flag(c, CAP_PERMITTED, capability_numbers(caps.permitted));
        set_flag(c, CAP_INHERITABLE, capability_numbers(caps.inheritable));
        if (cap_set_proc(c) != 0) throw_errno("set capabilities");
    } catch (...) {
        cap_free(c);
        throw;
    }
    cap_free(c);
    ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    // An ambient capability must also be permitted and inheritable; bundles that list it
    // without (`runc spec` writes such) are run as runc and crun run them: that one is skipped.
    for (int a : capability_numbers(caps.ambient))
        if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, a, 0, 0) != 0 && errno != EPERM)
            throw_errno("raise ambient capability " + std::to_string(a));
}

void load_seccomp(const SeccompFilter* filter) {
    if (filter) filter->load();
}

}  // namespace

std::vector<int> capability_numbers(const std::vector<std::string>& names) {
    std::vector<int> out;
    for (auto& n : names) {
        bool ok = false;
        cap_value_t v = cap_number(n, ok);
        if (!ok) {
            log::warn("unknown capability " + n + " ignored");
            continue;
        }
        out.push_back(v);
    }
    return out;
}

std::vector<std::string> known_capabilities() {
    std::vector<std::string> out;
    for (int c = 0; c < static_cast<int>(cap_max_bits()); ++c) {
        char* n = cap_to_name(c);
        std::string s = n;
        cap_free(n);
        for (auto& ch : s) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        out.push_back(s);
    }
    return out;
}

void apply_rlimits(const std::vector<Rlimit>& limits) {
    for (auto& l : limits) {
        auto it = rlimit_names().find(l.type);
        if (it == rlimit_names().end()) throw Error("unknown rlimit " + l.type);
        rlimit r{static_cast<rlim_t>(l.soft), static_cast<rlim_t>(l.hard)};
        if (::setrlimit(it->second, &r) == 0) continue;
        int err = errno;
        rlimit cur{};
        ::getrlimit(it->second, &cur);
        if (err == EPERM)
            throw Error("setrlimit " + l.type + " to " + std::to_string(l.soft) + ":" + std::to_string(l.hard) +
                        ": exceeds the hard limit " + std::to_string(cur.rlim_max) +
                        " (raising it needs CAP_SYS_RESOURCE, which this host does not grant)");
        throw_errno("setrlimit " + l.type, err);
    }
}

namespace {

// Raw system calls for this thread only (see become_root in the header).
void set_groups(const std::vector<gid_t>& groups) {
    if (::syscall(SYS_setgroups, groups.size(), groups.data()) != 0) throw_errno("setgroups");
}
void set_gid(gid_t gid) {
    if (::syscall(SYS_setresgid, gid, gid, gid) != 0) throw_errno("setgid " + std::to_string(gid));
}
void set_uid(uid_t uid) {
    if (::syscall(SYS_setresuid, uid, uid, uid) != 0) throw_errno("setuid " + std::to_string(uid));
}

}  // namespace

void become_root() {
    set_gid(0);
    set_uid(0);
}

void apply_identity(const Process& p, const SeccompFilter* filter, bool setgroups_allowed, SeccompLoad when) {
    Capabilities caps = p.capabilities.value_or(Capabilities{});
    if (p.capabilities) drop_bounding(capability_numbers(caps.bounding));
    if (setgroups_allowed) {
        set_groups({p.user.additional_gids.begin(), p.user.additional_gids.end()});
    }
    // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: do it while we have it.
    if (!p.no_new_privileges) load_seccomp(filter);
    if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) throw_errno("keep capabilities");
    set_gid(p.user.gid);
    set_uid(p.user.uid);
    ::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
    if (p.user.umask) ::umask(*p.user.umask);
    if (p.capabilities) apply_capabilities(caps);
    if (p.no_new_privileges) {
        if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) throw_errno("set no_new_privs");
        if (when == SeccompLoad::now) load_seccomp(filter);
    }
}

void load_deferred_seccomp(const Process& p, const SeccompFilter* filter) {
    if (p.no_new_privileges) load_seccomp(filter);
}

void cloexec_fds_from(int first) {
    if (::syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;
    for (int fd = first; fd < 65536; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
}

std::string find_executable(const Process& p) {
    if (p.args.empty()) throw Error("process.args is empty");
    const std::string& name = p.args[0];
    if (name.find('/') != std::string::npos) {
        // Checked here, before the init reports ready: `create` fails, not the later start.
        struct stat st {};
        if (::stat(name.c_str(), &st) != 0) {
            int err = errno;
            throw ExecError(errno_message("exec: \"" + name + "\": stat " + name, err), err);
        }
        if (!S_ISREG(st.st_mode) || !(st.st_mode & 0111))
            throw ExecError("exec: \"" + name + "\": permission denied", EACCES);
        return name;
    }
    std::string path = kDefaultPath;
    for (auto& e : p.env)
        if (e.rfind("PATH=", 0) == 0) path = e.substr(5);
    size_t start = 0;
    while (start <= path.size()) {
        size_t end = path.find(':', start);
        std::string dir = path.substr(start, end == std::string::npos ? std::string::npos : end - start);
        std::string cand = (dir.empty() ? "." : dir) + "/" + name;
        struct stat st {};
        if (::stat(cand.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111)) return cand;
        if (end == std::string::npos) break;
        start = end + 1;
    }
    throw ExecError("exec: \"" + name + "\": executable file not found in $PATH", ENOENT);
}

void make_cwd(const std::string& cwd) {
    struct stat st {};
    if (cwd.empty() || ::stat(cwd.c_str(), &st) == 0) return;
    for (size_t i = 1; i <= cwd.size(); ++i)
        if (i == cwd.size() || cwd[i] == '/') ::mkdir(cwd.substr(0, i).c_str(), 0755);
}

void enter_cwd(const std::string& cwd) {
    if (cwd.empty() || cwd[0] != '/') throw Error("process.cwd \"" + cwd + "\" is not absolute");
    if (::chdir(cwd.c_str()) != 0) throw_errno("chdir to cwd " + cwd);
    char buf[4096];
    // A cwd inherited from outside the root shows up as "(unreachable)/…".
    if (!::getcwd(buf, sizeof buf) || buf[0] != '/') throw Error("working directory " + cwd + " is outside the container root");
}

}  // namespace minirun::runtime
