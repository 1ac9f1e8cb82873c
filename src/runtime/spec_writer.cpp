// Spec → config.json: the inverse of parse_spec, so callers (the engine, imgbuild's RUN
// steps, `minirun-oci spec`) build a typed Spec and never hand-write runtime JSON.
// Fields come out in the runtime-spec's (runc's) order; unset optionals and empty lists
// are left out, as Go's omitempty does.
#include <nlohmann/json.hpp>

#include "minirun/runtime/spec.hpp"

namespace minirun::runtime {

namespace {

using ojson = nlohmann::ordered_json;

template <typename T>
void put_if(ojson& j, const char* key, const std::optional<T>& v) {
    if (v) j[key] = *v;
}
void put_if(ojson& j, const char* key, const std::string& v) {
    if (!v.empty()) j[key] = v;
}
template <typename T>
void put_if(ojson& j, const char* key, const std::vector<T>& v) {
    if (!v.empty()) j[key] = v;
}
void put_if(ojson& j, const char* key, const std::map<std::string, std::string>& v) {
    if (!v.empty()) j[key] = v;
}

ojson process_json(const Process& p) {
    ojson j{{"terminal", p.terminal}};
    if (p.console_size) j["consoleSize"] = {{"height", p.console_size->height}, {"width", p.console_size->width}};
    ojson user{{"uid", p.user.uid}, {"gid", p.user.gid}};
    put_if(user, "umask", p.user.umask);
    put_if(user, "additionalGids", p.user.additional_gids);
    j["user"] = user;
    j["args"] = p.args;
    put_if(j, "env", p.env);
    j["cwd"] = p.cwd.empty() ? "/" : p.cwd;
    if (p.capabilities) {
        ojson caps = ojson::object();
        put_if(caps, "bounding", p.capabilities->bounding);
        put_if(caps, "effective", p.capabilities->effective);
        put_if(caps, "inheritable", p.capabilities->inheritable);
        put_if(caps, "permitted", p.capabilities->permitted);
        put_if(caps, "ambient", p.capabilities->ambient);
        j["capabilities"] = caps;
    }
    if (!p.rlimits.empty()) {
        ojson rl = ojson::array();
        for (auto& r : p.rlimits) rl.push_back({{"type", r.type}, {"hard", r.hard}, {"soft", r.soft}});
        j["rlimits"] = rl;
    }
    if (p.no_new_privileges) j["noNewPrivileges"] = true;
    put_if(j, "apparmorProfile", p.apparmor_profile);
    put_if(j, "oomScoreAdj", p.oom_score_adj);
    put_if(j, "selinuxLabel", p.selinux_label);
    return j;
}

ojson mount_json(const Mount& m) {
    ojson j{{"destination", m.destination}};
    put_if(j, "type", m.type);
    put_if(j, "source", m.source);
    put_if(j, "options", m.options);
    return j;
}

ojson hooks_json(const std::vector<Hook>& hooks) {
    ojson list = ojson::array();
    for (auto& h : hooks) {
        ojson j{{"path", h.path}};
        put_if(j, "args", h.args);
        put_if(j, "env", h.env);
        put_if(j, "timeout", h.timeout);
        list.push_back(j);
    }
    return list;
}

ojson resources_json(const Resources& r) {
    ojson j = ojson::object();
    if (!r.devices.empty()) {
        ojson devices = ojson::array();
        for (auto& d : r.devices) {
            ojson rule{{"allow", d.allow}};
            put_if(rule, "type", d.type);
            put_if(rule, "major", d.major);
            put_if(rule, "minor", d.minor);
            put_if(rule, "access", d.access);
            devices.push_back(rule);
        }
        j["devices"] = devices;
    }
    if (r.memory) {
        ojson m = ojson::object();
        put_if(m, "limit", r.memory->limit);
        put_if(m, "reservation", r.memory->reservation);
        put_if(m, "swap", r.memory->swap);
        put_if(m, "kernel", r.memory->kernel);
        put_if(m, "kernelTCP", r.memory->kernel_tcp);
        put_if(m, "swappiness", r.memory->swappiness);
        put_if(m, "disableOOMKiller", r.memory->disable_oom_killer);
        j["memory"] = m;
    }
    if (r.cpu) {
        ojson c = ojson::object();
        put_if(c, "shares", r.cpu->shares);
        put_if(c, "quota", r.cpu->quota);
        put_if(c, "period", r.cpu->period);
        put_if(c, "realtimeRuntime", r.cpu->realtime_runtime);
        put_if(c, "realtimePeriod", r.cpu->realtime_period);
        put_if(c, "cpus", r.cpu->cpus);
        put_if(c, "mems", r.cpu->mems);
        put_if(c, "idle", r.cpu->idle);
        j["cpu"] = c;
    }
    if (r.pids_limit) j["pids"] = {{"limit", *r.pids_limit}};
    if (r.block_io) {
        ojson b = ojson::object();
        put_if(b, "weight", r.block_io->weight);
        put_if(b, "leafWeight", r.block_io->leaf_weight);
        j["blockIO"] = b;
    }
    if (!r.hugepage_limits.empty()) {
        ojson h = ojson::array();
        for (auto& l : r.hugepage_limits) h.push_back({{"pageSize", l.page_size}, {"limit", l.limit}});
        j["hugepageLimits"] = h;
    }
    if (r.network) {
        ojson n = ojson::object();
        put_if(n, "classID", r.network->class_id);
        if (!r.network->priorities.empty()) {
            ojson p = ojson::array();
            for (auto& prio : r.network->priorities) p.push_back({{"name", prio.name}, {"priority", prio.priority}});
            n["priorities"] = p;
        }
        j["network"] = n;
    }
    put_if(j, "unified", r.unified);
    return j;
}

ojson seccomp_json(const Seccomp& s) {
    ojson j{{"defaultAction", s.default_action}};
    put_if(j, "defaultErrnoRet", s.default_errno_ret);
    put_if(j, "architectures", s.architectures);
    put_if(j, "flags", s.flags);
    put_if(j, "listenerPath", s.listener_path);
    ojson syscalls = ojson::array();
    for (auto& sc : s.syscalls) {
        ojson r{{"names", sc.names}, {"action", sc.action}};
        put_if(r, "errnoRet", sc.errno_ret);
        if (!sc.args.empty()) {
            ojson args = ojson::array();
            for (auto& a : sc.args)
                args.push_back({{"index", a.index}, {"value", a.value}, {"valueTwo", a.value_two}, {"op", a.op}});
            r["args"] = args;
        }
        syscalls.push_back(r);
    }
    if (!syscalls.empty()) j["syscalls"] = syscalls;
    return j;
}

ojson id_mappings_json(const std::vector<IdMapping>& maps) {
    ojson list = ojson::array();
    for (auto& m : maps) list.push_back({{"containerID", m.container_id}, {"hostID", m.host_id}, {"size", m.size}});
    return list;
}

ojson linux_json(const Linux& l) {
    ojson j = ojson::object();
    if (!l.uid_mappings.empty()) j["uidMappings"] = id_mappings_json(l.uid_mappings);
    if (!l.gid_mappings.empty()) j["gidMappings"] = id_mappings_json(l.gid_mappings);
    put_if(j, "sysctl", l.sysctl);
    if (l.resources) j["resources"] = resources_json(*l.resources);
    put_if(j, "cgroupsPath", l.cgroups_path);
    if (!l.namespaces.empty()) {
        ojson list = ojson::array();
        for (auto& n : l.namespaces) {
            ojson ns{{"type", n.type}};
            put_if(ns, "path", n.path);
            list.push_back(ns);
        }
        j["namespaces"] = list;
    }
    if (!l.devices.empty()) {
        ojson list = ojson::array();
        for (auto& d : l.devices) {
            ojson dev{{"path", d.path}, {"type", d.type}};
            if (d.type != "p") {
                dev["major"] = d.major;
                dev["minor"] = d.minor;
            }
            put_if(dev, "fileMode", d.file_mode);
            put_if(dev, "uid", d.uid);
            put_if(dev, "gid", d.gid);
            list.push_back(dev);
        }
        j["devices"] = list;
    }
    if (l.seccomp) j["seccomp"] = seccomp_json(*l.seccomp);
    put_if(j, "rootfsPropagation", l.rootfs_propagation);
    put_if(j, "maskedPaths", l.masked_paths);
    put_if(j, "readonlyPaths", l.readonly_paths);
    put_if(j, "mountLabel", l.mount_label);
    return j;
}

}  // namespace

std::string write_spec(const Spec& s) {
    ojson j{{"ociVersion", s.oci_version.empty() ? std::string(kOciVersion) : s.oci_version}};
    if (s.process) j["process"] = process_json(*s.process);
    j["root"] = {{"path", s.root_path}, {"readonly", s.root_readonly}};
    put_if(j, "hostname", s.hostname);
    put_if(j, "domainname", s.domainname);
    ojson mounts = ojson::array();
    for (auto& m : s.mounts) mounts.push_back(mount_json(m));
    j["mounts"] = mounts;
    ojson hooks = ojson::object();
    auto put_hooks = [&](const char* key, const std::vector<Hook>& list) {
        if (!list.empty()) hooks[key] = hooks_json(list);
    };
    put_hooks("prestart", s.hooks.prestart);
    put_hooks("createRuntime", s.hooks.create_runtime);
    put_hooks("createContainer", s.hooks.create_container);
    put_hooks("startContainer", s.hooks.start_container);
    put_hooks("poststart", s.hooks.poststart);
    put_hooks("poststop", s.hooks.poststop);
    if (!hooks.empty()) j["hooks"] = hooks;
    put_if(j, "annotations", s.annotations);
    j["linux"] = linux_json(s.linux);
    return j.dump(1, '\t') + "\n";
}

}  // namespace minirun::runtime
