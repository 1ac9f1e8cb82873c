#pragma once
// Seccomp filters from the OCI config (linux.seccomp), built with libseccomp.
//
// The split matters: build() runs in the parent (allocates, talks to libseccomp,
// compiles the rules to classic BPF); load() runs in the container child between
// clone() and execve() and only issues one raw seccomp(2) syscall on the prepared
// program — no allocation, no libseccomp, no locks.
#include "minirun/runtime/spec.hpp"

#include <linux/filter.h>

#include <cstdint>
#include <string>
#include <vector>

namespace minirun::runtime {

class SeccompFilter {
public:
    SeccompFilter() = default;
    SeccompFilter(const SeccompFilter&) = default;
    SeccompFilter& operator=(const SeccompFilter&) = default;
    SeccompFilter(SeccompFilter&&) noexcept = default;
    SeccompFilter& operator=(SeccompFilter&&) noexcept = default;
    ~SeccompFilter() = default;

    // Compiles cfg. Throws minirun::Error naming the bad field
    // ("linux.seccomp.syscalls[2].action: unknown action \"SCMP_ACT_FOO\"") for an
    // unknown action, architecture, operator or flag, an argument index > 5, an
    // errnoRet that does not fit, SCMP_ACT_NOTIFY as default action or on write(2),
    // or SCMP_ACT_NOTIFY without listenerPath. Unknown syscall names are skipped,
    // as runc does (they may not exist on this kernel or arch). Rules whose action
    // equals the default action are skipped. The native arch is always included.
    static SeccompFilter build(const Seccomp& cfg);
    // build(), remembered in `cache_dir` under a digest of the config, libseccomp's version
    // and the native arch: compiling Docker's profile takes libseccomp ~10 ms, reading the
    // program back well under one. A missing or damaged entry is simply rebuilt.
    static SeccompFilter build_cached(const Seccomp& cfg, const std::string& cache_dir);

    // Installs the filter on the calling thread (TSYNC: all threads). The caller
    // must have set no_new_privs or hold CAP_SYS_ADMIN. Async-signal-safe: one
    // seccomp(SECCOMP_SET_MODE_FILTER) syscall on memory prepared by build().
    // Returns 0 or a negative errno; never throws, never allocates.
    int try_load() const noexcept;
    // try_load(), throwing minirun::Error on failure (for callers that may throw).
    void load() const;

    // The user-notification fd created by the last successful load() when the
    // filter uses SCMP_ACT_NOTIFY (the caller sends it to listenerPath and closes
    // it); -1 otherwise. Valid in the process that called load().
    int notify_fd() const noexcept { return notify_fd_; }

    bool empty() const noexcept { return program_.empty(); }
    bool uses_notify() const noexcept { return uses_notify_; }
    // The seccomp(2) flags load() passes (SECCOMP_FILTER_FLAG_*).
    unsigned int load_flags() const noexcept { return flags_; }
    const std::vector<sock_filter>& program() const noexcept { return program_; }

private:
    std::vector<sock_filter> program_;
    unsigned int flags_ = 0;
    bool uses_notify_ = false;
    mutable int notify_fd_ = -1;
};

// For `features`: the names this build accepts, sorted.
std::vector<std::string> seccomp_supported_actions();
std::vector<std::string> seccomp_supported_operators();
std::vector<std::string> seccomp_supported_archs();
std::vector<std::string> seccomp_supported_flags();

// The SCMP_ARCH_* name of the architecture this binary runs on ("SCMP_ARCH_X86_64").
std::string seccomp_native_arch();

// Docker's default profile (moby profiles/seccomp semantics) for a container
// holding `capabilities` ("CAP_SYS_ADMIN" …) on this host's arch and kernel:
// default SCMP_ACT_ERRNO (EPERM); an allow-list of ordinary syscalls;
// capability-gated syscalls (CAP_SYS_ADMIN: mount, unshare, setns, clone with
// namespace flags …; CAP_SYS_PTRACE: ptrace …); argument-filtered rules
// (personality values, clone without namespace flags, socket except AF_VSOCK);
// clone3 → ENOSYS without CAP_SYS_ADMIN so libcs fall back to clone.
Seccomp docker_default_seccomp(const std::vector<std::string>& capabilities);

// A seccomp profile file as `docker run --security-opt seccomp=FILE` takes it: Docker's
// format (archMap entries for this arch with their sub-architectures; each syscall rule's
// includes/excludes of caps, arches and minKernel applied for `capabilities` on this
// host; "name" or "names") or a plain OCI linux.seccomp object. Throws Error naming
// `source` and the field for anything malformed.
Seccomp seccomp_from_profile(const std::string& json_text, const std::string& source,
                             const std::vector<std::string>& capabilities);

}  // namespace minirun::runtime
