// From an image and run options to a created container (container_create.hpp): its
// record, mounted rootfs, volumes and config.json.
#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/common/log.hpp"
#include "minirun/common/names.hpp"
#include "minirun/common/process.hpp"
#include "minirun/common/time.hpp"
#include "minirun/engine/container_create.hpp"

#include "minirun/engine/volumes.hpp"
#include "minirun/engine/image_config.hpp"
#include "minirun/engine/logs.hpp"
#include "minirun/engine/rootfs.hpp"
#include "minirun/engine/run_options.hpp"
#include "minirun/engine/spec_builder.hpp"
#include "minirun/image/manifest.hpp"
#include "minirun/image/reference.hpp"
#include "minirun/image/store.hpp"
#include "minirun/image/stored_image.hpp"
#include "minirun/registry/pull.hpp"
#include "minirun/runtime/state.hpp"
#include "bridge_glue.hpp"

namespace minirun::engine {

namespace stdfs = std::filesystem;


namespace {

runtime::Mount bind_mount(const std::string& src, const std::string& dst, bool ro) {
    runtime::Mount m{dst, "bind", src, {"rbind", "rprivate"}};
    if (ro) m.options.push_back("ro");
    return m;
}

}  // namespace

namespace {
// A --device's node as the host has it: type, numbers and mode, for the container's /dev.
runtime::Device host_device(const DeviceRequest& d) {
    struct stat st {};
    if (::stat(d.host_path.c_str(), &st) != 0)
        throw Error("error gathering device information while adding custom device \"" + d.host_path + "\": " +
                        std::strerror(errno),
                    ErrorKind::InvalidArgument);
    if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
        throw Error("--device " + d.host_path + ": not a device node", ErrorKind::InvalidArgument);
    runtime::Device dev;
    dev.path = d.container_path;
    dev.type = S_ISCHR(st.st_mode) ? "c" : "b";
    dev.major = major(st.st_rdev);
    dev.minor = minor(st.st_rdev);
    dev.file_mode = st.st_mode & 07777;
    dev.uid = st.st_uid;
    dev.gid = st.st_gid;
    return dev;
}
}  // namespace

ContainerRecord create_container(const stdfs::path& storage_, const registry::RegistryOptions& registry_,
                                 ContainerStore& containers_, const RunRequest& req) {
    log::debug("create: start");
    image::Store store(storage_);
    CheckedRunOptions opt = check_run_options(req, ::sysconf(_SC_NPROCESSORS_ONLN));
    std::vector<network::PortMapping>& ports = opt.ports;
    if (!req.name.empty()) {
        if (!is_valid_object_name(req.name)) throw Error("invalid container name \"" + req.name + "\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
        containers_.check_name_free(req.name);
    }
    check_network_exists(storage_, req.network);
    for (auto& extra : req.extra_networks) {
        if (req.network == "host" || req.network == "none" || extra.network == "host" || extra.network == "none")
            throw Error("container cannot be connected to multiple networks with one of the networks in host or none mode",
                        ErrorKind::InvalidArgument);
        check_network_exists(storage_, extra.network);
    }

    // The image: pulled as --pull says.
    registry::PullOptions po;
    po.registry = registry_;
    po.progress = req.quiet_pull ? registry::ProgressMode::quiet : registry::ProgressMode::automatic;
    if (!req.platform.empty()) po.platform = image::Platform::parse(req.platform);
    image::ImageRecord img = registry::ensure_image(store, req.image, opt.pull, po, [&](const image::Reference& ref) {
        if (req.on_pull) req.on_pull(ref.familiar());
    });
    image::StoredImage stored = image::load_stored_image(store, img);
    image::require_layers(store, stored);
    const image::ContainerConfig& ic = stored.config.config;
    log::debug("image config loaded");
    if (req.publish_all) {
        // -P: every EXPOSEd port on a random host port.
        std::vector<std::string> exposed;
        for (auto& e : ic.exposed_ports) exposed.push_back(e);  // "80/tcp": random host port
        auto more = parse_published_ports(exposed);
        ports.insert(ports.end(), more.begin(), more.end());
        check_ports_on_network(req.network, more);
    }

    ContainerRecord rec;
    rec.id = ContainerStore::new_id();
    rec.image = req.image;
    rec.image_name = img.name;
    rec.image_id = stored.id();
    rec.created = rfc3339_now();
    rec.restart = opt.restart;
    rec.auto_remove = req.remove;
    rec.network = req.network;
    rec.labels = opt.labels;
    rec.stop_signal = !req.stop_signal.empty() ? req.stop_signal : !ic.stop_signal.empty() ? ic.stop_signal : "SIGTERM";
    rec.stop_timeout = req.stop_timeout.value_or(10);
    rec.log_driver = req.log_driver;
    rec.log_opts = opt.log_opts;
    rec.tty = req.tty;
    rec.interactive = req.interactive;
    rec.hostname = req.hostname.empty() ? rec.id.substr(0, 12) : req.hostname;
    rec.ports = ports;
    rec.network_aliases = req.network_aliases;
    rec.extra_networks = req.extra_networks;
    rec.requested_ip = req.ip;
    rec.requested_mac = req.mac_address;
    rec.links = req.links;
    for (auto& l : req.links) containers_.find(l.substr(0, l.find(':')));  // "no such container" now, not at start
    rec.extra_hosts = req.add_hosts;
    rec.dns = req.dns;
    rec.dns_search = req.dns_search;
    rec.dns_options = req.dns_options;
    rec.health = effective_health(req.health, health_from_image(ic.healthcheck));
    std::string dir = containers_.dir(rec.id);
    // The name is taken atomically here, next to the record's first write: two runs that
    // both passed the early check above cannot both get it.
    if (req.name.empty()) {
        rec.name = containers_.claim_free_name(rec.id);
    } else {
        containers_.claim_name(req.name, rec.id);
        rec.name = req.name;
    }
    containers_.save_claimed(rec, /*create=*/true);
    container_event(containers_, rec, "create");
    try {
        rec.layers = stored.config.diff_ids;
        mount_rootfs((storage_ / "layers").string(), stored.config.diff_ids, dir);
        log::debug("rootfs mounted");
        std::string rootfs = dir + "/rootfs";

        RunSettings s;
        s.args = container_command(req, ic);
        if (s.args.empty()) throw CreateRefused("no command specified for " + req.image, 125);
        rec.command = s.args;
        if (req.init) {
            s.args.insert(s.args.begin(), {"/run/minirun-init", "--"});
            s.mounts.push_back(bind_mount(fs::self_exe_dir().string() + "/minirun-init", "/run/minirun-init", true));
        }
        s.user = resolve_user(rootfs, req.user.empty() ? ic.user : req.user);
        s.env = container_env(req, ic, rec.hostname, s.user.home);
        s.cwd = !req.workdir.empty() ? req.workdir : !ic.working_dir.empty() ? ic.working_dir : "/";
        if (s.cwd[0] != '/') throw Error("invalid --workdir \"" + s.cwd + "\": must be absolute");
        s.tty = req.tty;
        // The pty gets our terminal's size before the process runs (a first `stty size`
        // must not see 0 0); later changes follow through SIGWINCH in the foreground.
        winsize ws{};
        if (req.tty && ::isatty(STDIN_FILENO) && ::ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
            s.tty_rows = ws.ws_row, s.tty_cols = ws.ws_col;
        s.hostname = rec.hostname;
        s.read_only = req.read_only;
        s.privileged = req.privileged;
        s.cap_add = req.cap_add;
        s.cap_drop = req.cap_drop;
        s.memory = opt.memory_bytes;
        s.cpus = opt.cpus;
        s.pids_limit = req.pids_limit;
        s.cgroups_path = "/minirun/" + rec.id;
        s.annotations = rec.labels;
        s.no_new_privileges = opt.no_new_privileges;
        s.seccomp_unconfined = opt.seccomp_unconfined;
        s.seccomp_profile = opt.seccomp_profile;
        s.seccomp_profile_source = opt.seccomp_profile_source;
        s.rlimits = opt.rlimits;
        s.sysctl = opt.sysctls;
        s.shm_bytes = opt.shm_bytes;
        s.memory_swap = opt.memory_swap_bytes;
        s.memory_reservation = opt.memory_reservation_bytes;
        s.cpuset_cpus = opt.cpuset_cpus;
        s.cpuset_mems = opt.cpuset_mems;
        s.cpu_shares = opt.cpu_shares;
        s.oom_score_adj = opt.oom_score_adj;
        for (auto& g : req.group_add) {
            unsigned gid = resolve_group(rootfs, g);
            if (std::find(s.user.additional_gids.begin(), s.user.additional_gids.end(), gid) == s.user.additional_gids.end())
                s.user.additional_gids.push_back(gid);
        }
        for (auto& d : opt.devices) {
            auto node = host_device(d);
            s.devices.push_back(node);
            s.device_rules.push_back({true, node.type, node.major, node.minor, d.permissions});
        }
        s.device_rules.insert(s.device_rules.end(), opt.device_rules.begin(), opt.device_rules.end());
        for (auto& h : req.hooks) {
            runtime::Hook hook{h.path, h.args, h.env, h.timeout};
            auto& hk = s.hooks;
            auto* list = h.stage == "prestart"         ? &hk.prestart
                         : h.stage == "createRuntime"  ? &hk.create_runtime
                         : h.stage == "createContainer" ? &hk.create_container
                         : h.stage == "startContainer" ? &hk.start_container
                         : h.stage == "poststart"      ? &hk.poststart
                         : h.stage == "poststop"       ? &hk.poststop
                                                       : nullptr;
            if (!list) throw Error("unknown hook stage \"" + h.stage + "\"", ErrorKind::InvalidArgument);
            list->push_back(std::move(hook));
        }
        s.host_network = req.network == "host";
        if (!s.host_network) s.netns_path = dir + "/netns";
        // Volumes and mounts.
        VolumeStore volumes(storage_);
        std::vector<std::string> mounted;
        auto add_mount = [&](MountRequest m) {
            if (m.kind == MountRequest::Kind::Tmpfs) {
                s.mounts.push_back({m.destination, "tmpfs", "tmpfs", m.tmpfs_options});
                return;
            }
            bool anonymous = m.kind == MountRequest::Kind::Volume && m.source.empty();
            if (anonymous) m.source = rec.id.substr(0, 12) + "-" + std::to_string(mounted.size());
            if (m.kind == MountRequest::Kind::Bind) {
                std::string abs = stdfs::absolute(m.source).lexically_normal().string();
                if (abs.size() > 1 && abs.back() == '/') abs.pop_back();
                if (!stdfs::exists(abs)) {
                    if (m.source_must_exist) throw Error("invalid mount config: bind source path does not exist: " + abs);
                    fs::mkdir_p(abs);
                }
                s.mounts.push_back(bind_mount(abs, m.destination, m.read_only));
            } else {
                auto [path, fresh] = volumes.ensure(m.source, anonymous);
                if (fresh) seed_volume(rootfs, m.destination, path);
                s.mounts.push_back(bind_mount(path, m.destination, m.read_only));
                rec.volumes.push_back(m.source);
            }
            rec.mounts.push_back(m.spec);
            mounted.push_back(m.destination);
        };
        for (auto& m : req.mounts) add_mount(m);
        // The image's VOLUMEs become anonymous volumes unless something is mounted there.
        for (auto& v : ic.volumes)
            if (std::find(mounted.begin(), mounted.end(), v) == mounted.end()) add_mount(anonymous_volume(v));
        for (auto f : {"hosts", "hostname", "resolv.conf"}) {
            fs::write_file_atomic(dir + "/" + f, "", 0644, false);
            // A user's own bind over one of these files wins over the generated one.
            std::string target = std::string("/etc/") + f;
            if (std::find(mounted.begin(), mounted.end(), target) == mounted.end())
                s.mounts.push_back(bind_mount(dir + "/" + f, target, false));
        }
        fs::write_file_atomic(dir + "/config.json", build_config_json(s), 0600, false);
        log::debug("config.json written");
        containers_.save(rec);
    } catch (...) {
        try {
            unmount_rootfs(dir);
        } catch (...) {
        }
        containers_.remove(rec.id);
        throw;
    }
    return rec;
}

}  // namespace minirun::engine
