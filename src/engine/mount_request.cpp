// Parsing -v, --mount and --tmpfs into MountRequests (see mount_request.hpp).
#include "minirun/engine/mount_request.hpp"

#include <cctype>
#include <map>
#include <sstream>

#include "minirun/common/names.hpp"
#include "minirun/common/error.hpp"

namespace minirun::engine {

namespace {

void check_volume_name(const std::string& name) {
    if (!is_valid_object_name(name))
        throw Error("invalid volume name \"" + name +
                        "\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed; for a host directory give a path (/abs or ./rel)",
                    ErrorKind::InvalidArgument);
}

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    for (std::string p; std::getline(ss, p, sep);) out.push_back(p);
    return out;
}

}  // namespace

bool is_bind_source(const std::string& src) { return !src.empty() && (src[0] == '.' || src.find('/') != std::string::npos); }

MountRequest parse_volume_flag(const std::string& spec) {
    auto bad = [&](const std::string& why) {
        return Error("invalid volume \"" + spec + "\"" + (why.empty() ? "" : ": " + why), ErrorKind::InvalidArgument);
    };
    std::vector<std::string> parts = split(spec, ':');
    if (parts.empty() || parts.size() > 3) throw bad("");
    if (parts.size() == 3 && parts[2] != "ro" && parts[2] != "rw" && parts[2] != "z" && parts[2] != "Z")
        throw bad("unknown mode " + parts[2]);
    MountRequest m;
    m.spec = spec;
    m.read_only = parts.size() == 3 && parts[2] == "ro";
    m.destination = parts.size() == 1 ? parts[0] : parts[1];
    if (parts.size() > 1) {
        m.source = parts[0];
        if (m.source.empty()) throw bad("empty source");
        if (!is_bind_source(m.source)) check_volume_name(m.source);
    }
    m.kind = is_bind_source(m.source) ? MountRequest::Kind::Bind : MountRequest::Kind::Volume;
    if (m.destination.empty() || m.destination[0] != '/') throw bad("the destination must be absolute");
    return m;
}

MountRequest parse_mount_flag(const std::string& spec) {
    auto bad = [&](const std::string& why) { return Error("invalid --mount \"" + spec + "\": " + why, ErrorKind::InvalidArgument); };
    std::map<std::string, std::string> kv;
    bool ro = false;
    for (auto& p : split(spec, ',')) {
        auto eq = p.find('=');
        if (eq == std::string::npos) {
            if (p == "readonly" || p == "ro") ro = true;
            else throw bad(p);
            continue;
        }
        std::string k = p.substr(0, eq);
        if (k == "src") k = "source";
        if (k == "dst" || k == "target") k = "destination";
        kv[k] = p.substr(eq + 1);
    }
    if (kv["readonly"] == "true" || kv["ro"] == "true") ro = true;
    std::string type = kv.count("type") ? kv["type"] : "volume";
    if (kv["destination"].empty()) throw bad("no destination");
    if (type == "tmpfs") {
        MountRequest m;
        m.kind = MountRequest::Kind::Tmpfs;
        m.destination = kv["destination"];
        m.tmpfs_options = {"nosuid", "nodev"};
        if (kv.count("tmpfs-size")) m.tmpfs_options.push_back("size=" + kv["tmpfs-size"]);
        if (kv.count("tmpfs-mode")) m.tmpfs_options.push_back("mode=" + kv["tmpfs-mode"]);
        return m;
    }
    if (type != "bind" && type != "volume") throw bad("type must be bind, volume or tmpfs");
    if (type == "bind" && kv["source"].empty()) throw bad("a bind needs a source");
    std::string src = kv["source"];
    // A relative bind source is a path; a volume source is a name.
    if (type == "bind" && !is_bind_source(src)) src = "./" + src;
    MountRequest m = parse_volume_flag((src.empty() ? "" : src + ":") + kv["destination"] + (ro ? ":ro" : ""));
    m.source_must_exist = type == "bind";
    return m;
}

MountRequest parse_tmpfs_flag(const std::string& spec) {
    auto colon = spec.find(':');
    MountRequest m;
    m.kind = MountRequest::Kind::Tmpfs;
    m.destination = spec.substr(0, colon);
    m.tmpfs_options = {"nosuid", "nodev", "noexec"};
    if (colon != std::string::npos)
        for (auto& o : split(spec.substr(colon + 1), ',')) m.tmpfs_options.push_back(o);
    return m;
}

MountRequest anonymous_volume(const std::string& destination) {
    MountRequest m;
    m.kind = MountRequest::Kind::Volume;
    m.destination = m.spec = destination;
    return m;
}

}  // namespace minirun::engine
