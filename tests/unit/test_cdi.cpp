// CDI: spec parsing (JSON and YAML, one schema), validation messages, resolution (common
// edits once, the last spec wins), Docker's --gpus syntax, and the NVIDIA host fallback.
#include <doctest/doctest.h>

#include <fstream>

#include "minirun/cdi/cdi.hpp"
#include "minirun/common/error.hpp"
#include "scratch_dir.hpp"

using namespace minirun;
using namespace minirun::cdi;
namespace stdfs = std::filesystem;

namespace {

const char* kYaml = R"(cdiVersion: "0.6.0"
kind: vendor.com/device
containerEdits:
  env: [COMMON=1]
devices:
  - name: a
    containerEdits:
      deviceNodes: [{path: /dev/a, hostPath: /dev/null, permissions: rw}]
      hooks: [{hookName: createContainer, path: /bin/true, args: [true], timeout: 5}]
  - name: b
    containerEdits:
      mounts: [{hostPath: /etc/b, containerPath: /b, options: [ro]}]
)";

}  // namespace

TEST_CASE("cdi: a YAML spec and the same in JSON") {
    Spec y = parse_spec(kYaml, "v.yaml");
    CHECK(y.kind == "vendor.com/device");
    REQUIRE(y.devices.size() == 2);
    CHECK(y.devices[0].first == "a");
    CHECK(y.devices[0].second.device_nodes[0].host_path == "/dev/null");
    CHECK(y.devices[0].second.hooks[0].timeout == 5);
    CHECK(y.devices[1].second.mounts[0].options == std::vector<std::string>{"ro"});
    CHECK(y.edits.env == std::vector<std::string>{"COMMON=1"});
    Spec j = parse_spec(R"({"cdiVersion":"0.5.0","kind":"vendor.com/device","devices":[{"name":"a","containerEdits":{"env":["X=1"]}}]})",
                        "v.json");
    CHECK(j.devices[0].second.env == std::vector<std::string>{"X=1"});
}

TEST_CASE("cdi: invalid specs name the file and the problem") {
    auto err = [](const std::string& text) {
        try {
            parse_spec(text, "f.yaml");
        } catch (const Error& e) {
            return std::string(e.what());
        }
        return std::string("accepted");
    };
    CHECK(err("kind: a.com/b\ndevices: [{name: x}]\n") == "CDI spec f.yaml: missing \"cdiVersion\"");
    CHECK(err("cdiVersion: '0.6.0'\nkind: nodomain/b\ndevices: [{name: x}]\n") ==
          "CDI spec f.yaml: kind \"nodomain/b\" is not vendor.com/class");
    CHECK(err("cdiVersion: '0.6.0'\nkind: a.com/b\ndevices: []\n") == "CDI spec f.yaml: no devices");
    CHECK(err("cdiVersion: '0.6.0'\nkind: a.com/b\ndevices: [{name: x}, {name: x}]\n") ==
          "CDI spec f.yaml: device \"x\" is defined twice");
    CHECK(err("cdiVersion: '0.6.0'\nkind: a.com/b\ndevices: [{name: x, containerEdits: {env: [NOEQUALS]}}]\n") ==
          "CDI spec f.yaml: env entry \"NOEQUALS\" is not KEY=VALUE");
    CHECK(err("cdiVersion: '0.6.0'\nkind: a.com/b\ndevices: [{name: x, containerEdits: {hooks: [{hookName: later, path: /x}]}}]\n") ==
          "CDI spec f.yaml: hook /x: unknown hookName \"later\"");
    CHECK(err("cdiVersion: '0.6.0'\nkind: a.com/b\ndevices: [{name: x, containerEdits: {deviceNodes: [{path: /d, permissions: rwx}]}}]\n") ==
          "CDI spec f.yaml: device /d: permissions \"rwx\" are not a subset of rwm");
    CHECK(err("{not json") .starts_with("CDI spec f.yaml: not valid JSON or YAML"));
}

TEST_CASE("cdi: resolution applies a spec's common edits once, unknown devices are listed") {
    Registry r;
    r.add(parse_spec(kYaml, "v.yaml"));
    ContainerEdits e = r.resolve({"vendor.com/device=a", "vendor.com/device=b"});
    CHECK(e.env == std::vector<std::string>{"COMMON=1"});
    CHECK(e.device_nodes.size() == 1);
    CHECK(e.mounts.size() == 1);
    CHECK(e.hooks.size() == 1);
    CHECK_THROWS_WITH_AS(r.resolve({"vendor.com/device=z", "other.org/x=1"}),
                         "unresolvable CDI devices vendor.com/device=z, other.org/x=1 (no spec defines them)", Error);
    CHECK_THROWS_WITH_AS(r.resolve({"not-a-name"}), "invalid CDI device name \"not-a-name\": use vendor.com/class=name", Error);
    CHECK(is_qualified_name("nvidia.com/gpu=0"));
    CHECK(is_qualified_name("nvidia.com/gpu=GPU-1234:5"));
    CHECK_FALSE(is_qualified_name("/dev/sda"));
    CHECK_FALSE(is_qualified_name("/dev/sda:/dev/x=y"));
}

TEST_CASE("cdi: --gpus as Docker reads it") {
    Registry r;
    r.add(parse_spec(R"({"cdiVersion":"0.5.0","kind":"nvidia.com/gpu","devices":[{"name":"0"},{"name":"1"},{"name":"all"}]})",
                     "n.json"));
    using V = std::vector<std::string>;
    CHECK(gpu_devices("all", r) == V{"nvidia.com/gpu=all"});
    CHECK(gpu_devices("2", r) == V{"nvidia.com/gpu=0", "nvidia.com/gpu=1"});
    CHECK(gpu_devices("count=1,capabilities=utility", r) == V{"nvidia.com/gpu=0"});
    CHECK(gpu_devices("device=1", r) == V{"nvidia.com/gpu=1"});
    CHECK(gpu_devices("\"device=0,1\"", r) == V{"nvidia.com/gpu=0", "nvidia.com/gpu=1"});
    CHECK(gpu_devices("capabilities=compute,device=GPU-abc", r) == V{"nvidia.com/gpu=GPU-abc"});
    CHECK_THROWS_WITH_AS(gpu_devices("3", r), "--gpus 3: 3 GPUs asked, 2 found", Error);
    CHECK_THROWS_WITH_AS(gpu_devices("x", r), "invalid --gpus \"x\": use all, a count, or device=ID[,ID…]", Error);
    CHECK_THROWS_AS(gpu_devices("device=", r), Error);
}

TEST_CASE("cdi: the NVIDIA driver's files found on a host without a spec") {
    test::ScratchDir dir("cdi-nvidia");
    auto touch = [&](const std::string& p) {
        stdfs::create_directories((dir.p / p).parent_path());
        std::ofstream(dir.p / p) << "x";
    };
    CHECK_FALSE(nvidia_host_spec(dir.p.string()));  // no /dev/nvidiactl: no GPUs
    for (auto p : {"dev/nvidiactl", "dev/nvidia-uvm", "dev/nvidia0", "dev/nvidia1", "dev/nvidia-caps",
                   "usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1", "usr/lib/x86_64-linux-gnu/libcuda.so.550.1",
                   "usr/lib/x86_64-linux-gnu/libc.so.6", "usr/bin/nvidia-smi"})
        touch(p);
    auto s = nvidia_host_spec(dir.p.string());
    REQUIRE(s);
    CHECK(s->kind == "nvidia.com/gpu");
    REQUIRE(s->devices.size() == 3);
    CHECK(s->devices[0].first == "0");
    CHECK(s->devices[1].first == "1");
    CHECK(s->devices[2].first == "all");
    CHECK(s->devices[2].second.device_nodes.size() == 2);
    REQUIRE(s->edits.device_nodes.size() == 2);  // nvidiactl and nvidia-uvm
    std::vector<std::string> mounted;
    for (auto& m : s->edits.mounts) mounted.push_back(m.container_path);
    CHECK(mounted == std::vector<std::string>{"/usr/lib/x86_64-linux-gnu/libcuda.so.550.1",
                                              "/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1", "/usr/bin/nvidia-smi"});
    Registry r;
    r.add(*s);
    CHECK(gpu_devices("1", r) == std::vector<std::string>{"nvidia.com/gpu=0"});
}
