#include "cdi_flags.hpp"

#include <algorithm>
#include <cstdlib>

#include "minirun/cdi/cdi.hpp"
#include "minirun/common/error.hpp"
#include "minirun/common/strings.hpp"

namespace minirun::cli {

namespace {

std::vector<std::string> spec_dirs() {
    const char* env = std::getenv("MINIRUN_CDI_SPEC_DIRS");
    if (!env || !*env) return {"/etc/cdi", "/var/run/cdi"};
    std::vector<std::string> out;
    for (auto& dir : split(env, ':'))
        if (!dir.empty()) out.push_back(dir);
    return out;
}

}  // namespace

void apply_cdi_devices(engine::RunRequest& r, const std::string& gpus) {
    std::vector<std::string> names;
    std::erase_if(r.devices, [&](const std::string& d) {
        if (!cdi::is_qualified_name(d)) return false;
        names.push_back(d);
        return true;
    });
    if (names.empty() && gpus.empty()) return;
    auto registry = cdi::Registry::load(spec_dirs());
    if (!gpus.empty()) {
        if (!registry.has_kind("nvidia.com/gpu")) {
            auto host = cdi::nvidia_host_spec();
            if (!host)
                throw Error("--gpus " + gpus + ": no NVIDIA GPU here (no nvidia.com/gpu CDI spec, no /dev/nvidiactl)",
                            ErrorKind::NotFound);
            registry.add(std::move(*host));
        }
        auto gpu_names = cdi::gpu_devices(gpus, registry);
        names.insert(names.end(), gpu_names.begin(), gpu_names.end());
    }
    cdi::ContainerEdits edits = registry.resolve(names);
    for (auto& d : edits.device_nodes) {
        std::string host = d.host_path.empty() ? d.path : d.host_path;
        r.devices.push_back(host + ":" + d.path + ":" + (d.permissions.empty() ? "rwm" : d.permissions));
    }
    for (auto& m : edits.mounts) {
        engine::MountRequest b;
        b.kind = engine::MountRequest::Kind::Bind;
        b.source = m.host_path;
        b.destination = m.container_path;
        b.read_only = std::find(m.options.begin(), m.options.end(), "ro") != m.options.end();
        b.source_must_exist = true;
        b.spec = m.host_path + ":" + m.container_path + (b.read_only ? ":ro" : "");
        r.mounts.push_back(std::move(b));
    }
    r.env.insert(r.env.end(), edits.env.begin(), edits.env.end());
    for (auto& h : edits.hooks) r.hooks.push_back({h.hook_name, h.path, h.args, h.env, h.timeout});
}

}  // namespace minirun::cli
