// linux.seccomp → classic BPF, compiled in the parent with libseccomp and loaded
// in the child with one raw seccomp(2) call. Rule semantics follow runc's
// libcontainer/seccomp: unknown syscall names are skipped, rules with the default
// action are skipped, several conditions on the same argument index become one
// rule per condition (OR) instead of one rule with all of them (AND).
#include "minirun/runtime/seccomp.hpp"

#include "minirun/common/error.hpp"
#include "minirun/common/log.hpp"
#include "minirun/common/fs.hpp"

#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string_view>

#ifndef SECCOMP_FILTER_FLAG_TSYNC_ESRCH
#define SECCOMP_FILTER_FLAG_TSYNC_ESRCH (1UL << 4)
#endif

namespace minirun::runtime {
namespace {

constexpr std::string_view kField = "linux.seccomp";

struct ArchName {
    std::string_view name;
    uint32_t token;
};

constexpr std::array kArches{
    ArchName{"SCMP_ARCH_X86", SCMP_ARCH_X86},
    ArchName{"SCMP_ARCH_X86_64", SCMP_ARCH_X86_64},
    ArchName{"SCMP_ARCH_X32", SCMP_ARCH_X32},
    ArchName{"SCMP_ARCH_ARM", SCMP_ARCH_ARM},
    ArchName{"SCMP_ARCH_AARCH64", SCMP_ARCH_AARCH64},
    ArchName{"SCMP_ARCH_MIPS", SCMP_ARCH_MIPS},
    ArchName{"SCMP_ARCH_MIPS64", SCMP_ARCH_MIPS64},
    ArchName{"SCMP_ARCH_MIPS64N32", SCMP_ARCH_MIPS64N32},
    ArchName{"SCMP_ARCH_MIPSEL", SCMP_ARCH_MIPSEL},
    ArchName{"SCMP_ARCH_MIPSEL64", SCMP_ARCH_MIPSEL64},
    ArchName{"SCMP_ARCH_MIPSEL64N32", SCMP_ARCH_MIPSEL64N32},
    ArchName{"SCMP_ARCH_PPC", SCMP_ARCH_PPC},
    ArchName{"SCMP_ARCH_PPC64", SCMP_ARCH_PPC64},
    ArchName{"SCMP_ARCH_PPC64LE", SCMP_ARCH_PPC64LE},
    ArchName{"SCMP_ARCH_S390", SCMP_ARCH_S390},
    ArchName{"SCMP_ARCH_S390X", SCMP_ARCH_S390X},
    ArchName{"SCMP_ARCH_PARISC", SCMP_ARCH_PARISC},
    ArchName{"SCMP_ARCH_PARISC64", SCMP_ARCH_PARISC64},
    ArchName{"SCMP_ARCH_RISCV64", SCMP_ARCH_RISCV64},
};

struct OpName {
    std::string_view name;
    scmp_compare op;
};

constexpr std::array kOps{
    OpName{"SCMP_CMP_NE", SCMP_CMP_NE},   OpName{"SCMP_CMP_LT", SCMP_CMP_LT},
    OpName{"SCMP_CMP_LE", SCMP_CMP_LE},   OpName{"SCMP_CMP_EQ", SCMP_CMP_EQ},
    OpName{"SCMP_CMP_GE", SCMP_CMP_GE},   OpName{"SCMP_CMP_GT", SCMP_CMP_GT},
    OpName{"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};

struct FlagName {
    std::string_view name;
    unsigned int flag;
};

constexpr std::array kFlags{
    FlagName{"SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC},
    FlagName{"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG},
    FlagName{"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW},
};

constexpr std::array<std::string_view, 9> kActions{
    "SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO",     "SCMP_ACT_KILL",   "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_LOG",   "SCMP_ACT_NOTIFY",    "SCMP_ACT_TRACE",  "SCMP_ACT_TRAP",
};

std::string in_quotes(std::string_view s) { return "\"" + std::string(s) + "\""; }

[[noreturn]] void fail(const std::string& field, const std::string& reason) {
    throw Error(std::string(kField) + field + ": " + reason);
}

uint32_t parse_action(const std::string& name, const std::optional<unsigned>& errno_ret, const std::string& field) {
    auto data = [&](unsigned dflt) -> uint32_t {
        unsigned v = errno_ret.value_or(dflt);
        if (v > 0xffff) fail(field, "errnoRet " + std::to_string(v) + " out of range (0-65535)");
        return v;
    };
    if (name == "SCMP_ACT_ALLOW") return SCMP_ACT_ALLOW;
    if (name == "SCMP_ACT_ERRNO") return SCMP_ACT_ERRNO(data(EPERM));
    // runc traces with EPERM as the message when errnoRet is absent.
    if (name == "SCMP_ACT_TRACE") return SCMP_ACT_TRACE(data(EPERM));
    if (name == "SCMP_ACT_KILL" || name == "SCMP_ACT_KILL_THREAD") return SCMP_ACT_KILL_THREAD;
    if (name == "SCMP_ACT_KILL_PROCESS") return SCMP_ACT_KILL_PROCESS;
    if (name == "SCMP_ACT_TRAP") return SCMP_ACT_TRAP;
    if (name == "SCMP_ACT_LOG") return SCMP_ACT_LOG;
    if (name == "SCMP_ACT_NOTIFY") return SCMP_ACT_NOTIFY;
    if (name.empty()) fail(field, "missing action");
    fail(field, "unknown action " + in_quotes(name));
}

scmp_compare parse_op(const std::string& name, const std::string& field) {
    for (const auto& o : kOps)
        if (o.name == name) return o.op;
    fail(field, "unknown operator " + in_quotes(name));
}

uint32_t parse_arch(const std::string& name, const std::string& field) {
    for (const auto& a : kArches)
        if (a.name == name) return a.token;
    fail(field, "unknown architecture " + in_quotes(name));
}

unsigned int parse_flag(const std::string& name, const std::string& field) {
    for (const auto& f : kFlags)
        if (f.name == name) return f.flag;
    fail(field, "unknown flag " + in_quotes(name));
}

class Ctx {
public:
    explicit Ctx(uint32_t default_action) : ctx_(seccomp_init(default_action)) {
        if (!ctx_) fail(".defaultAction", "libseccomp rejected the default action (not supported by this kernel?)");
    }
    ~Ctx() { seccomp_release(ctx_); }
    Ctx(const Ctx&) = delete;
    Ctx& operator=(const Ctx&) = delete;
    scmp_filter_ctx get() const { return ctx_; }

private:
    scmp_filter_ctx ctx_;
};

class Fd {
public:
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }

private:
    int fd_;
};

std::vector<sock_filter> export_bpf(scmp_filter_ctx ctx) {
    Fd fd(::memfd_create("minirun-seccomp", MFD_CLOEXEC));
    if (fd.get() < 0) throw_errno("seccomp: memfd_create");
    if (int rc = seccomp_export_bpf(ctx, fd.get()); rc < 0) throw_errno("seccomp: seccomp_export_bpf", -rc);
    struct stat st {};
    if (::fstat(fd.get(), &st) < 0) throw_errno("seccomp: fstat");
    auto size = static_cast<size_t>(st.st_size);
    if (size == 0 || size % sizeof(sock_filter) != 0)
        throw Error("seccomp: exported BPF has odd size " + std::to_string(size));
    std::vector<sock_filter> prog(size / sizeof(sock_filter));
    auto* out = reinterpret_cast<char*>(prog.data());
    size_t done = 0;
    while (done < size) {
        ssize_t n = ::pread(fd.get(), out + done, size - done, static_cast<off_t>(done));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_errno("seccomp: reading exported BPF");
        if (n == 0) throw Error("seccomp: exported BPF truncated");
        done += static_cast<size_t>(n);
    }
    if (prog.size() > BPF_MAXINSNS)
        throw Error("seccomp: filter compiles to " + std::to_string(prog.size()) + " BPF instructions; the kernel allows " +
                    std::to_string(BPF_MAXINSNS));
    return prog;
}

std::vector<std::string> names_of(auto const& table) {
    std::vector<std::string> out;
    for (const auto& e : table) out.emplace_back(e.name);
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

SeccompFilter SeccompFilter::build(const Seccomp& cfg) {
    if (cfg.default_action.empty()) fail(".defaultAction", "missing");
    const uint32_t default_action = parse_action(cfg.default_action, cfg.default_errno_ret, ".defaultAction");
    if (default_action == SCMP_ACT_NOTIFY) fail(".defaultAction", "SCMP_ACT_NOTIFY cannot be the default action");

    // Validate everything before touching libseccomp so errors name the config field.
    std::vector<uint32_t> arches;
    for (size_t i = 0; i < cfg.architectures.size(); ++i)
        arches.push_back(parse_arch(cfg.architectures[i], ".architectures[" + std::to_string(i) + "]"));

    SeccompFilter f;
    for (size_t i = 0; i < cfg.flags.size(); ++i)
        f.flags_ |= parse_flag(cfg.flags[i], ".flags[" + std::to_string(i) + "]");

    struct Rule {
        uint32_t action;
        std::vector<scmp_arg_cmp> conds;
        bool split;  // one rule per condition (several conditions on one argument)
    };
    std::vector<Rule> rules(cfg.syscalls.size());
    for (size_t i = 0; i < cfg.syscalls.size(); ++i) {
        const auto& sc = cfg.syscalls[i];
        const std::string field = ".syscalls[" + std::to_string(i) + "]";
        if (sc.names.empty()) fail(field + ".names", "empty");
        Rule& r = rules[i];
        r.action = parse_action(sc.action, sc.errno_ret, field + ".action");
        if (r.action == SCMP_ACT_NOTIFY) {
            f.uses_notify_ = true;
            // The notify fd is sent to the listener with sendmsg, not write, but runc
            // forbids write too: a filter that traps write can deadlock the runtime's
            // own logging in the child.
            if (std::find(sc.names.begin(), sc.names.end(), "write") != sc.names.end())
                fail(field + ".action", "SCMP_ACT_NOTIFY cannot be used for the write syscall");
        }
        std::array<unsigned, 6> per_index{};
        for (size_t j = 0; j < sc.args.size(); ++j) {
            const auto& a = sc.args[j];
            const std::string afield = field + ".args[" + std::to_string(j) + "]";
            if (a.index >= per_index.size())
                fail(afield + ".index", "argument index " + std::to_string(a.index) + " out of range (0-5)");
            scmp_compare op = parse_op(a.op, afield + ".op");
            ++per_index[a.index];
            r.conds.push_back(scmp_arg_cmp{a.index, op, a.value, a.value_two});
        }
        r.split = std::any_of(per_index.begin(), per_index.end(), [](unsigned n) { return n > 1; });
    }
    if (f.uses_notify_) {
        if (cfg.listener_path.empty()) fail(".listenerPath", "required when SCMP_ACT_NOTIFY is used");
        f.flags_ |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
        // TSYNC and NEW_LISTENER exclude each other unless TSYNC failures report
        // ESRCH instead of a thread id (what libseccomp does too).
        if (f.flags_ & SECCOMP_FILTER_FLAG_TSYNC) f.flags_ |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
    }

    Ctx ctx(default_action);
    // A binary tree over syscall numbers instead of a linear list: Docker's profile
    // becomes a few hundred instructions fewer per syscall, and the kernel's load-time
    // pass that evaluates the filter for every syscall number gets that much cheaper.
    if (int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2); rc < 0)
        log::debug(std::string("seccomp: no binary-tree optimisation: ") + std::strerror(-rc));
    for (size_t i = 0; i < arches.size(); ++i) {
        int rc = seccomp_arch_add(ctx.get(), arches[i]);
        // EEXIST: the native arch is always there. EDOM: an arch of the other
        // endianness cannot share a filter with the native one — and cannot run on
        // this kernel either, so there is nothing to filter (runc fails here; one
        // config listing every arch should work on every host).
        if (rc < 0 && rc != -EEXIST && rc != -EDOM)
            fail(".architectures[" + std::to_string(i) + "]",
                 "cannot add " + in_quotes(cfg.architectures[i]) + ": " + std::strerror(-rc));
    }

    for (size_t i = 0; i < cfg.syscalls.size(); ++i) {
        const auto& sc = cfg.syscalls[i];
        const Rule& r = rules[i];
        if (r.action == default_action) continue;  // libseccomp rejects these; they are no-ops anyway
        for (const auto& name : sc.names) {
            int nr = seccomp_syscall_resolve_name(name.c_str());
            if (nr == __NR_SCMP_ERROR) continue;  // unknown here: skip, as runc does
            auto add = [&](const scmp_arg_cmp* conds, unsigned n) {
                int rc = seccomp_rule_add_array(ctx.get(), r.action, nr, n, conds);
                if (rc < 0)
                    fail(".syscalls[" + std::to_string(i) + "]",
                         "adding rule for " + in_quotes(name) + ": " + std::strerror(-rc));
            };
            if (r.conds.empty()) {
                add(nullptr, 0);
            } else if (r.split) {
                for (const auto& c : r.conds) add(&c, 1);
            } else {
                add(r.conds.data(), static_cast<unsigned>(r.conds.size()));
            }
        }
    }

    f.program_ = export_bpf(ctx.get());
    return f;
}

namespace {

std::string cache_key(const Seccomp& cfg) {
    const scmp_version* v = seccomp_version();
    std::string k = "v2|" + std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->micro) +
                    "|" + std::to_string(seccomp_arch_native()) + "|" + cfg.default_action + "|" +
                    std::to_string(cfg.default_errno_ret.value_or(~0u)) + "|" + cfg.listener_path + "|";
    for (auto& a : cfg.architectures) k += a + ",";
    k += "|";
    for (auto& f : cfg.flags) k += f + ",";
    for (auto& sc : cfg.syscalls) {
        k += "\n" + sc.action + "|" + std::to_string(sc.errno_ret.value_or(~0u)) + "|";
        for (auto& n : sc.names) k += n + ",";
        for (auto& a : sc.args)
            k += "|" + std::to_string(a.index) + " " + a.op + " " + std::to_string(a.value) + " " + std::to_string(a.value_two);
    }
    return k;
}

// The file name: FNV-1a of the key. The file holds the key itself, compared on load, so a
// name collision can never hand a container someone else's filter.
std::string cache_name(const std::string& key) {
    uint64_t h = 1469598103934665603ull;
    for (unsigned char c : key) h = (h ^ c) * 1099511628211ull;
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
    return buf;
}

struct CacheHeader {
    char magic[8];
    uint32_t flags;
    uint32_t uses_notify;
    uint32_t count;
    uint32_t key_size;
};

}  // namespace

SeccompFilter SeccompFilter::build_cached(const Seccomp& cfg, const std::string& cache_dir) {
    const std::string key = cache_key(cfg);
    const std::string path = cache_dir + "/" + cache_name(key) + ".bpf";
    try {
        std::string data = fs::read_file(path, sizeof(CacheHeader) + key.size() + BPF_MAXINSNS * sizeof(sock_filter));
        CacheHeader h{};
        if (data.size() >= sizeof h) {
            std::memcpy(&h, data.data(), sizeof h);
            if (std::memcmp(h.magic, "MRSECCMP", 8) == 0 && h.count > 0 && h.count <= BPF_MAXINSNS &&
                h.key_size == key.size() && data.size() == sizeof h + key.size() + h.count * sizeof(sock_filter) &&
                data.compare(sizeof h, key.size(), key) == 0) {
                SeccompFilter f;
                f.flags_ = h.flags;
                f.uses_notify_ = h.uses_notify != 0;
                f.program_.resize(h.count);
                std::memcpy(f.program_.data(), data.data() + sizeof h + key.size(), h.count * sizeof(sock_filter));
                return f;
            }
        }
    } catch (const Error&) {
        // not cached yet
    }
    SeccompFilter f = build(cfg);
    try {
        CacheHeader h{};
        std::memcpy(h.magic, "MRSECCMP", 8);
        h.flags = f.flags_;
        h.uses_notify = f.uses_notify_;
        h.count = static_cast<uint32_t>(f.program_.size());
        h.key_size = static_cast<uint32_t>(key.size());
        std::string data(reinterpret_cast<const char*>(&h), sizeof h);
        data += key;
        data.append(reinterpret_cast<const char*>(f.program_.data()), f.program_.size() * sizeof(sock_filter));
        fs::mkdir_p(cache_dir, 0700);
        fs::write_file_atomic(path, data, 0600, /*durable=*/false);
    } catch (const Error&) {
        // a read-only state dir: no cache, no harm
    }
    return f;
}

int SeccompFilter::try_load() const noexcept {
    if (program_.empty()) return -EINVAL;
    sock_fprog prog{};
    prog.len = static_cast<unsigned short>(program_.size());
    prog.filter = const_cast<sock_filter*>(program_.data());
    long rc = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags_, &prog);
    if (rc < 0) return -errno;
    if (flags_ & SECCOMP_FILTER_FLAG_NEW_LISTENER) {
        notify_fd_ = static_cast<int>(rc);
    } else if (rc > 0) {
        return -ESRCH;  // TSYNC: rc is the id of a thread that could not be synchronised
    }
    return 0;
}

void SeccompFilter::load() const {
    if (program_.empty()) throw Error("seccomp: no filter to load");
    if (int rc = try_load(); rc < 0) throw_errno("seccomp: loading filter", -rc);
}

std::vector<std::string> seccomp_supported_actions() {
    std::vector<std::string> out(kActions.begin(), kActions.end());
    std::sort(out.begin(), out.end());
    return out;
}
std::vector<std::string> seccomp_supported_operators() { return names_of(kOps); }
std::vector<std::string> seccomp_supported_archs() { return names_of(kArches); }
std::vector<std::string> seccomp_supported_flags() { return names_of(kFlags); }

std::string seccomp_native_arch() {
    uint32_t native = seccomp_arch_native();
    for (const auto& a : kArches)
        if (a.token == native) return std::string(a.name);
    return {};
}

}  // namespace minirun::runtime
