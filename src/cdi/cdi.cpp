#include "minirun/cdi/cdi.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"

namespace minirun::cdi {

namespace stdfs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr uint64_t kMaxSpecBytes = 4ull << 20;

bool valid_vendor(std::string_view v) {
    // A DNS-like name with at least one dot: "nvidia.com", "example.org".
    if (v.empty() || v.find('.') == std::string_view::npos || v.front() == '.' || v.back() == '.') return false;
    return std::all_of(v.begin(), v.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-'; });
}

bool valid_class(std::string_view c) {
    if (c.empty() || !std::isalnum(static_cast<unsigned char>(c.front()))) return false;
    return std::all_of(c.begin(), c.end(), [](char ch) { return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '.' || ch == '-'; });
}

bool valid_device_name(std::string_view n) {
    if (n.empty() || !std::isalnum(static_cast<unsigned char>(n.front()))) return false;
    return std::all_of(n.begin(), n.end(), [](char ch) {
        return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '.' || ch == ':' || ch == '-';
    });
}

bool valid_kind(std::string_view kind) {
    auto slash = kind.find('/');
    return slash != std::string_view::npos && valid_vendor(kind.substr(0, slash)) && valid_class(kind.substr(slash + 1));
}

// YAML as the JSON it spells (CDI's YAML and JSON forms are one schema).
json yaml_to_json(const YAML::Node& n) {
    switch (n.Type()) {
    case YAML::NodeType::Map: {
        json o = json::object();
        for (auto it = n.begin(); it != n.end(); ++it) o[it->first.as<std::string>()] = yaml_to_json(it->second);
        return o;
    }
    case YAML::NodeType::Sequence: {
        json a = json::array();
        for (auto it = n.begin(); it != n.end(); ++it) a.push_back(yaml_to_json(*it));
        return a;
    }
    case YAML::NodeType::Scalar: {
        // Unquoted numbers (timeout, major, fileMode) stay numbers; the rest are strings.
        const std::string& s = n.Scalar();
        if (n.Tag() != "!" && !s.empty() && s.find_first_not_of("0123456789") == std::string::npos && s.size() < 10)
            return std::stoi(s);
        return s;
    }
    default:
        return nullptr;
    }
}

struct Reader {
    const std::string& file;
    [[noreturn]] void fail(const std::string& why) const {
        throw Error("CDI spec " + file + ": " + why, ErrorKind::InvalidArgument);
    }
    std::string str(const json& o, const char* key, bool required) const {
        auto it = o.find(key);
        if (it == o.end() || it->is_null()) {
            if (required) fail(std::string("missing \"") + key + "\"");
            return {};
        }
        if (!it->is_string()) fail(std::string("\"") + key + "\" is not a string");
        return it->get<std::string>();
    }
    std::vector<std::string> strings(const json& o, const char* key) const {
        std::vector<std::string> out;
        auto it = o.find(key);
        if (it == o.end() || it->is_null()) return out;
        if (!it->is_array()) fail(std::string("\"") + key + "\" is not a list");
        for (auto& v : *it) {
            if (!v.is_string()) fail(std::string("\"") + key + "\" holds a non-string");
            out.push_back(v.get<std::string>());
        }
        return out;
    }
    std::string absolute(const json& o, const char* key, bool required) const {
        std::string p = str(o, key, required);
        if (!p.empty() && p[0] != '/') fail(std::string("\"") + key + "\" " + p + " is not an absolute path");
        return p;
    }
    ContainerEdits edits(const json& o) const {
        ContainerEdits e;
        if (o.is_null()) return e;
        if (!o.is_object()) fail("containerEdits is not an object");
        e.env = strings(o, "env");
        for (auto& kv : e.env)
            if (kv.find('=') == std::string::npos || kv[0] == '=') fail("env entry \"" + kv + "\" is not KEY=VALUE");
        for (auto& d : o.value("deviceNodes", json::array())) {
            DeviceNode n{absolute(d, "path", true), absolute(d, "hostPath", false), str(d, "permissions", false)};
            if (n.permissions.find_first_not_of("rwm") != std::string::npos)
                fail("device " + n.path + ": permissions \"" + n.permissions + "\" are not a subset of rwm");
            e.device_nodes.push_back(std::move(n));
        }
        for (auto& m : o.value("mounts", json::array()))
            e.mounts.push_back({absolute(m, "hostPath", true), absolute(m, "containerPath", true), strings(m, "options")});
        static const std::set<std::string> stages = {"prestart",        "createRuntime", "createContainer",
                                                     "startContainer", "poststart",     "poststop"};
        for (auto& h : o.value("hooks", json::array())) {
            Hook hook{str(h, "hookName", true), absolute(h, "path", true), strings(h, "args"), strings(h, "env"), {}};
            if (!stages.count(hook.hook_name)) fail("hook " + hook.path + ": unknown hookName \"" + hook.hook_name + "\"");
            if (auto t = h.find("timeout"); t != h.end() && !t->is_null()) {
                if (!t->is_number_integer() || t->get<int>() <= 0) fail("hook " + hook.path + ": timeout is not a positive integer");
                hook.timeout = t->get<int>();
            }
            e.hooks.push_back(std::move(hook));
        }
        return e;
    }
};

}  // namespace

void ContainerEdits::append(const ContainerEdits& o) {
    env.insert(env.end(), o.env.begin(), o.env.end());
    device_nodes.insert(device_nodes.end(), o.device_nodes.begin(), o.device_nodes.end());
    mounts.insert(mounts.end(), o.mounts.begin(), o.mounts.end());
    hooks.insert(hooks.end(), o.hooks.begin(), o.hooks.end());
}

bool is_qualified_name(std::string_view text) {
    auto eq = text.find('=');
    return eq != std::string_view::npos && valid_kind(text.substr(0, eq)) && valid_device_name(text.substr(eq + 1));
}

Spec parse_spec(std::string_view text, const std::string& file) {
    Reader r{file};
    json doc;
    auto first = text.find_first_not_of(" \t\r\n");
    try {
        if (first != std::string_view::npos && text[first] == '{')
            doc = json::parse(text);
        else
            doc = yaml_to_json(YAML::Load(std::string(text)));
    } catch (const std::exception& e) {
        r.fail(std::string("not valid JSON or YAML: ") + e.what());
    }
    if (!doc.is_object()) r.fail("not a spec object");
    r.str(doc, "cdiVersion", true);
    Spec s;
    s.file = file;
    s.kind = r.str(doc, "kind", true);
    if (!valid_kind(s.kind)) r.fail("kind \"" + s.kind + "\" is not vendor.com/class");
    auto devices = doc.value("devices", json());
    if (!devices.is_array() || devices.empty()) r.fail("no devices");
    std::set<std::string> seen;
    for (auto& d : devices) {
        if (!d.is_object()) r.fail("a device is not an object");
        std::string name = r.str(d, "name", true);
        if (!valid_device_name(name)) r.fail("device name \"" + name + "\" is invalid");
        if (!seen.insert(name).second) r.fail("device \"" + name + "\" is defined twice");
        s.devices.emplace_back(name, r.edits(d.value("containerEdits", json())));
    }
    s.edits = r.edits(doc.value("containerEdits", json()));
    return s;
}

Registry Registry::load(const std::vector<std::string>& dirs) {
    Registry reg;
    reg.dirs_ = dirs;
    for (auto& dir : dirs) {
        std::error_code ec;
        std::vector<stdfs::path> files;
        for (auto& e : stdfs::directory_iterator(dir, ec)) {
            auto ext = e.path().extension();
            if ((ext == ".json" || ext == ".yaml" || ext == ".yml") && e.is_regular_file()) files.push_back(e.path());
        }
        std::sort(files.begin(), files.end());
        for (auto& f : files) reg.add(parse_spec(fs::read_file(f, kMaxSpecBytes), f.string()));
    }
    return reg;
}

void Registry::add(Spec spec) { specs_.push_back(std::move(spec)); }

bool Registry::has_kind(const std::string& kind) const {
    return std::any_of(specs_.begin(), specs_.end(), [&](const Spec& s) { return s.kind == kind; });
}

ContainerEdits Registry::resolve(const std::vector<std::string>& names) const {
    ContainerEdits out;
    std::vector<const Spec*> used;
    std::vector<std::string> missing;
    for (auto& name : names) {
        if (!is_qualified_name(name)) throw Error("invalid CDI device name \"" + name + "\": use vendor.com/class=name",
                                                  ErrorKind::InvalidArgument);
        auto eq = name.find('=');
        std::string kind = name.substr(0, eq), dev = name.substr(eq + 1);
        // The last spec defining it wins (a later directory overrides an earlier one).
        const Spec* from = nullptr;
        const ContainerEdits* edits = nullptr;
        for (auto& s : specs_) {
            if (s.kind != kind) continue;
            for (auto& [n, e] : s.devices)
                if (n == dev) from = &s, edits = &e;
        }
        if (!edits) {
            missing.push_back(name);
            continue;
        }
        if (std::find(used.begin(), used.end(), from) == used.end()) {
            used.push_back(from);
            out.append(from->edits);
        }
        out.append(*edits);
    }
    if (!missing.empty()) {
        std::string list, where;
        for (auto& m : missing) list += (list.empty() ? "" : ", ") + m;
        for (auto& d : dirs_) where += (where.empty() ? "" : ", ") + d;
        throw Error("unresolvable CDI devices " + list + " (no spec defines them" + (where.empty() ? "" : " in " + where) + ")",
                    ErrorKind::NotFound);
    }
    return out;
}

std::vector<std::string> Registry::device_names(const std::string& kind) const {
    std::vector<std::string> out;
    for (auto& s : specs_) {
        if (s.kind != kind) continue;
        for (auto& [n, e] : s.devices) {
            std::string full = kind + "=" + n;
            if (n != "all" && std::find(out.begin(), out.end(), full) == out.end()) out.push_back(full);
        }
    }
    return out;
}

std::vector<std::string> gpu_devices(const std::string& value, const Registry& registry) {
    const std::string kind = "nvidia.com/gpu";
    auto bad = [&](const std::string& why) {
        return Error("invalid --gpus \"" + value + "\": " + why, ErrorKind::InvalidArgument);
    };
    std::string text = value;
    if (text.size() >= 2 && text.front() == '"' && text.back() == '"') text = text.substr(1, text.size() - 2);
    std::vector<std::string> out;
    std::optional<size_t> count;
    // Docker's syntax: comma-separated key=value, where device= takes the rest of its list.
    size_t pos = 0;
    while (pos < text.size()) {
        size_t comma = text.find(',', pos);
        std::string part = text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
        pos = comma == std::string::npos ? text.size() : comma + 1;
        if (part == "all") {
            out.push_back(kind + "=all");
        } else if (!part.empty() && part.find_first_not_of("0123456789") == std::string::npos) {
            count = std::stoul(part);
        } else if (part.starts_with("count=")) {
            std::string n = part.substr(6);
            if (n == "all") out.push_back(kind + "=all");
            else if (!n.empty() && n.find_first_not_of("0123456789") == std::string::npos) count = std::stoul(n);
            else throw bad("count is a number or all");
        } else if (part.starts_with("device=")) {
            std::string ids = part.substr(7);
            if (pos < text.size()) ids += "," + text.substr(pos), pos = text.size();  // the list's own commas
            size_t p = 0;
            while (p <= ids.size()) {
                size_t c = ids.find(',', p);
                std::string id = ids.substr(p, c == std::string::npos ? std::string::npos : c - p);
                if (!valid_device_name(id)) throw bad("device \"" + id + "\" is not a device id");
                out.push_back(kind + "=" + id);
                if (c == std::string::npos) break;
                p = c + 1;
            }
        } else if (part.starts_with("capabilities=") || part.starts_with("driver=") || part.starts_with("options=")) {
            // Docker's device-request fields; CDI devices carry what they need.
        } else {
            throw bad("use all, a count, or device=ID[,ID…]");
        }
    }
    if (count) {
        auto names = registry.device_names(kind);
        if (*count > names.size())
            throw Error("--gpus " + value + ": " + std::to_string(*count) + " GPUs asked, " + std::to_string(names.size()) +
                            " found",
                        ErrorKind::NotFound);
        out.insert(out.end(), names.begin(), names.begin() + static_cast<long>(*count));
    }
    if (out.empty()) throw bad("no GPU asked for");
    return out;
}

std::optional<Spec> nvidia_host_spec(const std::string& root) {
    stdfs::path r = root;
    auto at = [&](const std::string& p) { return r / p.substr(1); };
    std::error_code ec;
    if (!stdfs::exists(at("/dev/nvidiactl"), ec)) return std::nullopt;
    Spec s;
    s.file = "(the host's NVIDIA driver)";
    s.kind = "nvidia.com/gpu";
    for (const char* node : {"/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools", "/dev/nvidia-modeset"})
        if (stdfs::exists(at(node), ec)) s.edits.device_nodes.push_back({node, "", "rw"});
    // GPUs: /dev/nvidia0, /dev/nvidia1, … (not nvidiactl, nvidia-uvm).
    std::vector<std::pair<int, std::string>> gpus;
    for (auto& e : stdfs::directory_iterator(at("/dev"), ec)) {
        std::string name = e.path().filename().string();
        std::string digits = name.starts_with("nvidia") ? name.substr(6) : "";
        if (!digits.empty() && digits.size() < 6 && digits.find_first_not_of("0123456789") == std::string::npos)
            gpus.emplace_back(std::stoi(digits), "/dev/" + name);
    }
    std::sort(gpus.begin(), gpus.end());
    ContainerEdits all;
    for (auto& [index, path] : gpus) {
        ContainerEdits one;
        one.device_nodes.push_back({path, "", "rw"});
        one.env.push_back("NVIDIA_VISIBLE_DEVICES=" + std::to_string(index));
        s.devices.emplace_back(std::to_string(index), one);
        all.device_nodes.push_back({path, "", "rw"});
    }
    all.env.push_back("NVIDIA_VISIBLE_DEVICES=all");
    s.devices.emplace_back("all", all);
    // The driver's user-space half, bound read-only where the host keeps it: what
    // nvidia-smi and CUDA programs load (NVIDIA's toolkit mounts the same set).
    static const std::vector<std::string> libs = {"libnvidia-ml.so",         "libcuda.so",       "libnvidia-ptxjitcompiler.so",
                                                  "libnvidia-nvvm.so",       "libnvidia-cfg.so", "libnvidia-gpucomp.so",
                                                  "libnvidia-allocator.so",  "libcudadebugger.so"};
    std::set<std::string> bound;
    for (const char* dir : {"/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib/aarch64-linux-gnu", "/usr/lib"}) {
        std::vector<std::string> found;
        for (auto& e : stdfs::directory_iterator(at(dir), ec)) {
            std::string name = e.path().filename().string();
            for (auto& lib : libs)
                if (name.starts_with(lib) && !bound.count(name)) found.push_back(name);
        }
        std::sort(found.begin(), found.end());
        for (auto& name : found) {
            bound.insert(name);
            std::string path = std::string(dir) + "/" + name;
            s.edits.mounts.push_back({path, path, {"ro", "nosuid", "nodev", "bind"}});
        }
    }
    for (const char* bin : {"/usr/bin/nvidia-smi", "/usr/bin/nvidia-debugdump"})
        if (stdfs::exists(at(bin), ec)) s.edits.mounts.push_back({bin, bin, {"ro", "nosuid", "nodev", "bind"}});
    return s;
}

}  // namespace minirun::cdi
