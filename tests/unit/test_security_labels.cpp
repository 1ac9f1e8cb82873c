// AppArmor and SELinux exec labels: which attribute file gets which text on which host,
// and what is refused. The writes themselves need a host with the module (see
// tests/integration/test_runtime_config.sh, which runs them where AppArmor is enabled).
#include <doctest/doctest.h>

#include <filesystem>

#include "minirun/common/error.hpp"
#include "minirun/runtime/security_labels.hpp"

using namespace minirun;
using namespace minirun::runtime;

namespace {
Process with_profile(const std::string& profile, const std::string& selinux = "") {
    Process p;
    p.args = {"true"};
    p.apparmor_profile = profile;
    p.selinux_label = selinux;
    return p;
}
}  // namespace

TEST_CASE("security labels: AppArmor's exec attribute, per-LSM where the kernel has it") {
    SecurityHost host;
    host.apparmor = true;
    host.apparmor_per_lsm = true;
    host.apparmor_profiles = {"docker-default", "containers-default-0.50.1"};
    CHECK(plan_security_labels(with_profile("docker-default"), host) ==
          std::vector<LabelWrite>{{"/proc/self/attr/apparmor/exec", "exec docker-default"}});
    host.apparmor_per_lsm = false;  // before Linux 5.8: the shared attribute
    CHECK(plan_security_labels(with_profile("containers-default-0.50.1"), host) ==
          std::vector<LabelWrite>{{"/proc/self/attr/exec", "exec containers-default-0.50.1"}});
    CHECK(plan_security_labels(with_profile("unconfined"), host).empty());
    CHECK(plan_security_labels(with_profile(""), host).empty());
    try {
        plan_security_labels(with_profile("nosuch"), host);
        FAIL("an unknown profile was accepted");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::NotFound);
        CHECK(std::string(e.what()) == "apparmor profile \"nosuch\" is not loaded on this host (see aa-status)");
    }
}

TEST_CASE("security labels: a host without the module runs unconfined, and SELinux gets its label") {
    SecurityHost none;
    CHECK(plan_security_labels(with_profile("docker-default", "system_u:system_r:container_t:s0"), none).empty());
    SecurityHost selinux;
    selinux.selinux = true;
    CHECK(plan_security_labels(with_profile("", "system_u:system_r:container_t:s0:c1,c2"), selinux) ==
          std::vector<LabelWrite>{{"/proc/self/attr/exec", "system_u:system_r:container_t:s0:c1,c2"}});
    // The probe agrees with the files it reads.
    SecurityHost here = probe_security_host();
    CHECK(here.selinux == std::filesystem::exists("/sys/fs/selinux/enforce"));
    if (!here.apparmor) CHECK(here.apparmor_profiles.empty());
}

TEST_CASE("security labels: a failed write names the file") {
    CHECK_THROWS_WITH_AS(write_security_labels({{"/nonexistent/attr/exec", "exec x"}}),
                         doctest::Contains("open /nonexistent/attr/exec"), Error);
    CHECK_NOTHROW(write_security_labels({}));
}
