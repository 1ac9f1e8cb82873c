// cgroup v2 device control: cgroup2 has no devices.allow, so (like runc and crun) we
// compile the rules into a BPF_PROG_TYPE_CGROUP_DEVICE program and attach it to
// the container's cgroup directory.
#include <fcntl.h>
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstring>
#include <vector>

#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/runtime/cgroups.hpp"

namespace minirun::runtime {

namespace {

// --- instruction encoding (the kernel's filter.h macros are not uapi) ----------

bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
    bpf_insn i{};
    i.code = code;
    i.dst_reg = dst & 0xf;
    i.src_reg = src & 0xf;
    i.off = off;
    i.imm = imm;
    return i;
}
bpf_insn load_u32(uint8_t dst, uint8_t src, int16_t off) { return insn(BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0); }
bpf_insn alu_imm(uint8_t op, uint8_t dst, int32_t imm) { return insn(BPF_ALU64 | op | BPF_K, dst, 0, 0, imm); }
bpf_insn mov_reg(uint8_t dst, uint8_t src) { return insn(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0); }
bpf_insn jne_imm(uint8_t dst, int32_t imm, int16_t skip) { return insn(BPF_JMP | BPF_JNE | BPF_K, dst, 0, skip, imm); }
bpf_insn exit_insn() { return insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }

// Registers after the prologue: r2 device type, r3 access, r4 major, r5 minor.
constexpr uint8_t R0 = 0, R1 = 1, R2 = 2, R3 = 3, R4 = 4, R5 = 5;

std::vector<bpf_insn> prologue() {
    return {
        load_u32(R2, R1, offsetof(bpf_cgroup_dev_ctx, access_type)),
        alu_imm(BPF_AND, R2, 0xffff),
        load_u32(R3, R1, offsetof(bpf_cgroup_dev_ctx, access_type)),
        alu_imm(BPF_RSH, R3, 16),
        load_u32(R4, R1, offsetof(bpf_cgroup_dev_ctx, major)),
        load_u32(R5, R1, offsetof(bpf_cgroup_dev_ctx, minor)),
    };
}

int32_t device_number(const std::optional<int64_t>& v, const char* what) {
    if (*v > INT32_MAX) throw Error(std::string("cgroup: device ") + what + " " + std::to_string(*v) + " is too large");
    return static_cast<int32_t>(*v);
}

int32_t access_mask(const std::string& access) {
    int32_t mask = 0;
    for (char c : access.empty() ? std::string("rwm") : access) {
        if (c == 'r') mask |= BPF_DEVCG_ACC_READ;
        else if (c == 'w') mask |= BPF_DEVCG_ACC_WRITE;
        else if (c == 'm') mask |= BPF_DEVCG_ACC_MKNOD;
        else throw Error("cgroup: invalid device rule access \"" + access + "\"");
    }
    return mask;
}

// One rule: a run of "jump past the end unless it matches" tests, then return.
std::vector<bpf_insn> rule_block(const DeviceRule& r) {
    std::vector<bpf_insn> tests;  // jump offsets patched once the block length is known
    if (r.type == "b" || r.type == "c") {
        tests.push_back(jne_imm(R2, r.type == "b" ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR, 0));
    } else {
        throw Error("cgroup: invalid device rule type \"" + r.type + "\"");
    }
    int32_t mask = access_mask(r.access);
    if (mask != (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD)) {
        // Matches only when the requested access is a subset of the rule's.
        tests.push_back(mov_reg(R1, R3));
        tests.push_back(alu_imm(BPF_AND, R1, ~mask));
        tests.push_back(jne_imm(R1, 0, 0));
    }
    if (r.major && *r.major >= 0) tests.push_back(jne_imm(R4, device_number(r.major, "major"), 0));
    if (r.minor && *r.minor >= 0) tests.push_back(jne_imm(R5, device_number(r.minor, "minor"), 0));
    tests.push_back(alu_imm(BPF_MOV, R0, r.allow ? 1 : 0));
    tests.push_back(exit_insn());
    for (size_t i = 0; i < tests.size(); ++i) {
        if (tests[i].code == (BPF_JMP | BPF_JNE | BPF_K)) tests[i].off = static_cast<int16_t>(tests.size() - i - 1);
    }
    return tests;
}

// v1 semantics: a type-"a" rule resets the default and drops earlier exceptions;
// among the rest the last match wins, so blocks are emitted newest first.
std::vector<bpf_insn> compile(const std::vector<DeviceRule>& rules) {
    bool default_allow = true;
    std::vector<const DeviceRule*> exceptions;
    for (auto& r : rules) {
        if (r.type.empty() || r.type == "a") {
            default_allow = r.allow;
            exceptions.clear();
        } else {
            exceptions.push_back(&r);
        }
    }
    auto prog = prologue();
    for (auto it = exceptions.rbegin(); it != exceptions.rend(); ++it) {
        auto block = rule_block(**it);
        prog.insert(prog.end(), block.begin(), block.end());
    }
    prog.push_back(alu_imm(BPF_MOV, R0, default_allow ? 1 : 0));
    prog.push_back(exit_insn());
    return prog;
}

// --- bpf() syscall -------------------------------------------------------------

long bpf(int cmd, bpf_attr& attr) { return ::syscall(SYS_bpf, cmd, &attr, sizeof attr); }

// Loads quietly first; only a failure is retried with the verifier log for the error.
fs::UniqueFd load(const std::vector<bpf_insn>& prog) {
    static const char license[] = "Apache";
    std::string log;
    for (int attempt = 0; attempt < 2; ++attempt) {
        bpf_attr attr{};
        attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
        attr.insns = reinterpret_cast<uintptr_t>(prog.data());
        attr.insn_cnt = static_cast<uint32_t>(prog.size());
        attr.license = reinterpret_cast<uintptr_t>(license);
        if (attempt == 1) {
            log.assign(1 << 16, '\0');
            attr.log_buf = reinterpret_cast<uintptr_t>(log.data());
            attr.log_size = static_cast<uint32_t>(log.size());
            attr.log_level = 1;
        }
        fs::UniqueFd fd(static_cast<int>(bpf(BPF_PROG_LOAD, attr)));
        if (fd) return fd;
        if (attempt == 1 || errno == EPERM || errno == ENOSYS) break;
    }
    int err = errno;
    log.resize(std::strlen(log.c_str()));
    throw Error(errno_message("cgroup: load device BPF program", err) + (log.empty() ? "" : ": " + log));
}

struct Attached {
    std::vector<uint32_t> ids;
    uint32_t flags = 0;
};

Attached query(int cgroup_fd) {
    Attached out;
    out.ids.resize(64);
    bpf_attr attr{};
    attr.query.target_fd = static_cast<uint32_t>(cgroup_fd);
    attr.query.attach_type = BPF_CGROUP_DEVICE;
    attr.query.prog_ids = reinterpret_cast<uintptr_t>(out.ids.data());
    attr.query.prog_cnt = static_cast<uint32_t>(out.ids.size());
    if (bpf(BPF_PROG_QUERY, attr) != 0) throw_errno("cgroup: query device BPF programs");
    out.ids.resize(attr.query.prog_cnt);
    out.flags = attr.query.attach_flags;
    return out;
}

void attach(int cgroup_fd, int prog_fd, uint32_t flags) {
    bpf_attr attr{};
    attr.target_fd = static_cast<uint32_t>(cgroup_fd);
    attr.attach_bpf_fd = static_cast<uint32_t>(prog_fd);
    attr.attach_type = BPF_CGROUP_DEVICE;
    attr.attach_flags = flags;
    if (bpf(BPF_PROG_ATTACH, attr) != 0) throw_errno("cgroup: attach device BPF program");
}

void detach(int cgroup_fd, uint32_t prog_id) {
    bpf_attr attr{};
    attr.prog_id = prog_id;
    fs::UniqueFd prog(static_cast<int>(bpf(BPF_PROG_GET_FD_BY_ID, attr)));
    if (!prog) {
        if (errno == ENOENT) return;  // already gone
        throw_errno("cgroup: open device BPF program " + std::to_string(prog_id));
    }
    attr = bpf_attr{};
    attr.target_fd = static_cast<uint32_t>(cgroup_fd);
    attr.attach_bpf_fd = static_cast<uint32_t>(prog.get());
    attr.attach_type = BPF_CGROUP_DEVICE;
    if (bpf(BPF_PROG_DETACH, attr) != 0 && errno != ENOENT) throw_errno("cgroup: detach device BPF program");
}

}  // namespace

void apply_device_bpf(const std::string& v2_dir, const std::vector<DeviceRule>& rules) {
    fs::UniqueFd prog = load(compile(rules));
    fs::UniqueFd cg(::open(v2_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!cg) throw_errno("cgroup: open " + v2_dir);
    Attached old = query(cg.get());
    if (!old.ids.empty() && !(old.flags & BPF_F_ALLOW_MULTI)) {
        attach(cg.get(), prog.get(), old.flags);  // single-program mode: attaching replaces
        return;
    }
    // Attach the new program before detaching the old ones so there is no window
    // without a policy (all attached programs must allow an access).
    attach(cg.get(), prog.get(), BPF_F_ALLOW_MULTI);
    for (uint32_t id : old.ids) detach(cg.get(), id);
}

}  // namespace minirun::runtime
