// Seccomp profile files (`--security-opt seccomp=FILE`): Docker's format resolved for this
// host and the container's capabilities into an OCI linux.seccomp object, which the
// runtime's own parser then validates.
#include <sys/utsname.h>

#include <algorithm>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "minirun/common/error.hpp"
#include "minirun/runtime/seccomp.hpp"
#include "minirun/runtime/spec.hpp"

namespace minirun::runtime {

namespace {

using json = nlohmann::json;

struct Host {
    std::string arch;
    int kernel_major = 0, kernel_minor = 0;
    const std::vector<std::string>* caps = nullptr;
};

bool contains(const json& list, const std::string& s) {
    if (!list.is_array()) return false;
    return std::any_of(list.begin(), list.end(), [&](const json& e) { return e.is_string() && e.get<std::string>() == s; });
}

// "4.8" (or "5.10.0") against the running kernel.
bool kernel_at_least(const Host& h, const std::string& version, const std::string& where) {
    int major = 0, minor = 0;
    if (std::sscanf(version.c_str(), "%d.%d", &major, &minor) < 1) throw Error(where + ": invalid minKernel \"" + version + "\"");
    return h.kernel_major != major ? h.kernel_major > major : h.kernel_minor >= minor;
}

// Docker's rule: every `includes` condition must hold, no `excludes` condition may.
bool rule_applies(const json& rule, const Host& h, const std::string& where) {
    auto has_cap = [&](const json& c) { return c.is_string() && std::count(h.caps->begin(), h.caps->end(), c.get<std::string>()); };
    if (const auto in = rule.find("includes"); in != rule.end() && in->is_object()) {
        if (auto a = in->find("arches"); a != in->end() && a->is_array() && !a->empty() && !contains(*a, h.arch)) return false;
        if (auto c = in->find("caps"); c != in->end() && c->is_array() && !std::all_of(c->begin(), c->end(), has_cap)) return false;
        if (auto k = in->find("minKernel"); k != in->end() && k->is_string() && !kernel_at_least(h, *k, where)) return false;
    }
    if (const auto ex = rule.find("excludes"); ex != rule.end() && ex->is_object()) {
        if (auto a = ex->find("arches"); a != ex->end() && contains(*a, h.arch)) return false;
        if (auto c = ex->find("caps"); c != ex->end() && c->is_array() && std::any_of(c->begin(), c->end(), has_cap)) return false;
        if (auto k = ex->find("minKernel"); k != ex->end() && k->is_string() && kernel_at_least(h, *k, where)) return false;
    }
    return true;
}

// The OCI object; `filter` false keeps every rule, so that validation errors carry the
// file's own indices.
json to_oci(const json& p, const Host& h, const std::string& source, bool filter) {
    if (!p.is_object()) throw Error(source + ": a seccomp profile must be a JSON object");
    json out = json::object();
    for (const char* key : {"defaultAction", "defaultErrnoRet", "flags", "listenerPath"})
        if (p.contains(key)) out[key] = p[key];
    bool has_arches = p.contains("architectures") && p["architectures"].is_array() && !p["architectures"].empty();
    bool has_map = p.contains("archMap") && p["archMap"].is_array() && !p["archMap"].empty();
    if (has_arches && has_map) throw Error(source + ": use either architectures or archMap, not both");
    if (has_arches) out["architectures"] = p["architectures"];
    if (has_map) {
        json arches = json::array();
        for (const auto& m : p["archMap"]) {
            if (!m.is_object() || m.value("architecture", "") != h.arch) continue;
            arches.push_back(h.arch);
            if (auto sub = m.find("subArchitectures"); sub != m.end() && sub->is_array())
                for (const auto& s : *sub) arches.push_back(s);
        }
        out["architectures"] = arches;
    }
    if (p.contains("syscalls")) {
        if (!p["syscalls"].is_array()) throw Error(source + ": syscalls: must be an array");
        json calls = json::array();
        for (size_t i = 0; i < p["syscalls"].size(); ++i) {
            const json& r = p["syscalls"][i];
            std::string where = source + ": syscalls[" + std::to_string(i) + "]";
            if (!r.is_object()) throw Error(where + ": must be an object");
            if (filter && !rule_applies(r, h, where)) continue;
            json c = json::object();
            if (r.contains("name") && r.contains("names")) throw Error(where + ": use either name or names, not both");
            c["names"] = r.contains("name") ? json::array({r["name"]}) : r.value("names", json::array());
            for (const char* key : {"action", "errnoRet", "args"})
                if (r.contains(key) && !r[key].is_null()) c[key] = r[key];
            calls.push_back(c);
        }
        out["syscalls"] = calls;
    }
    return out;
}

}  // namespace

Seccomp seccomp_from_profile(const std::string& json_text, const std::string& source,
                             const std::vector<std::string>& capabilities) {
    json p = json::parse(json_text, nullptr, false);
    if (p.is_discarded()) throw Error(source + ": not valid JSON");
    Host h;
    h.arch = seccomp_native_arch();
    h.caps = &capabilities;
    utsname u{};
    if (::uname(&u) == 0) std::sscanf(u.release, "%d.%d", &h.kernel_major, &h.kernel_minor);
    parse_seccomp_document(to_oci(p, h, source, false).dump(), source);  // the file's indices in errors
    return parse_seccomp_document(to_oci(p, h, source, true).dump(), source);
}

}  // namespace minirun::runtime
