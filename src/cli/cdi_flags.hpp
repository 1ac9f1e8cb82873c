#pragma once
// `run --device vendor.com/class=name` and `--gpus`: CDI devices resolved into the
// request's plain fields (device nodes, binds, env, hooks) before the engine sees it.
#include <string>

#include "minirun/engine/run_request.hpp"

namespace minirun::cli {

// Takes the CDI names out of r.devices, adds the --gpus devices (an nvidia.com/gpu spec,
// else the host's NVIDIA driver found directly), and applies their edits to `r`. Spec
// directories: $MINIRUN_CDI_SPEC_DIRS (colon-separated), else /etc/cdi and /var/run/cdi.
void apply_cdi_devices(engine::RunRequest& r, const std::string& gpus);

}  // namespace minirun::cli
