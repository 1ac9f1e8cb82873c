// AppArmor and SELinux exec labels (see security_labels.hpp).
#include "minirun/runtime/security_labels.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/common/log.hpp"
#include "minirun/common/strings.hpp"

namespace minirun::runtime {

namespace stdfs = std::filesystem;

SecurityHost probe_security_host() {
    SecurityHost h;
    std::error_code ec;
    std::ifstream enabled("/sys/module/apparmor/parameters/enabled");
    std::string flag;
    h.apparmor = enabled && std::getline(enabled, flag) && trim(flag) == "Y";
    if (h.apparmor) {
        h.apparmor_per_lsm = stdfs::exists("/proc/self/attr/apparmor", ec);
        // Lines "name (mode)"; a name may hold spaces, the mode is the last word.
        std::ifstream profiles("/sys/kernel/security/apparmor/profiles");
        for (std::string line; std::getline(profiles, line);) {
            auto paren = line.rfind(" (");
            h.apparmor_profiles.insert(paren == std::string::npos ? line : line.substr(0, paren));
        }
    }
    h.selinux = stdfs::exists("/sys/fs/selinux/enforce", ec);
    return h;
}

std::vector<LabelWrite> plan_security_labels(const Process& p, const SecurityHost& host) {
    std::vector<LabelWrite> out;
    const std::string& profile = p.apparmor_profile;
    if (!profile.empty() && profile != "unconfined") {
        if (!host.apparmor) {
            log::warn("apparmor profile " + profile + " ignored: AppArmor is not enabled on this host");
        } else {
            if (!host.apparmor_profiles.count(profile))
                throw Error("apparmor profile \"" + profile + "\" is not loaded on this host (see aa-status)",
                            ErrorKind::NotFound);
            out.push_back({host.apparmor_per_lsm ? "/proc/self/attr/apparmor/exec" : "/proc/self/attr/exec",
                           "exec " + profile});
        }
    }
    if (!p.selinux_label.empty()) {
        if (!host.selinux) log::warn("SELinux label ignored: SELinux is not enabled on this host");
        else out.push_back({"/proc/self/attr/exec", p.selinux_label});
    }
    return out;
}

void write_security_labels(const std::vector<LabelWrite>& writes) {
    for (auto& w : writes) {
        fs::UniqueFd fd(::open(w.path.c_str(), O_WRONLY | O_CLOEXEC));
        if (!fd) throw_errno("open " + w.path);
        // One write: the kernel takes the attribute from a single call.
        if (::write(fd.get(), w.text.data(), w.text.size()) != static_cast<ssize_t>(w.text.size()))
            throw_errno("set " + w.path + " to \"" + w.text + "\"");
    }
}

}  // namespace minirun::runtime
