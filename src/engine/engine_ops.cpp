// The lifecycle verbs on existing containers: start, stop, restart, kill, rm, wait,
// exec, ps, inspect, logs, stats, top, prune; and network plumbing shared with run.
#include <fcntl.h>
#include <sys/mount.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <sys/wait.h>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/common/log.hpp"
#include "minirun/common/process.hpp"
#include "minirun/engine/container_network.hpp"
#include "minirun/engine/engine.hpp"
#include "minirun/engine/image_config.hpp"
#include "minirun/engine/logs.hpp"
#include "bridge_glue.hpp"
#include "console_relay.hpp"
#include "minirun/network/networks.hpp"
#include "minirun/engine/rootfs.hpp"
#include "minirun/runtime/cgroups.hpp"
#include "minirun/runtime/container.hpp"
#include "minirun/runtime/state.hpp"
#include "minirun/common/names.hpp"
#include "minirun/common/time.hpp"

namespace minirun::engine {

namespace stdfs = std::filesystem;
using json = nlohmann::json;

namespace {

bool alive(pid_t pid, unsigned long long start) { return pid > 0 && runtime::process_alive(pid, start); }

std::string ago(const std::string& rfc3339) {
    auto t = parse_rfc3339(rfc3339);
    return t ? human_duration(static_cast<std::int64_t>(std::time(nullptr)) - *t) : "";
}

}  // namespace

Engine::Engine(stdfs::path storage, registry::RegistryOptions registry)
    : storage_(std::move(storage)), registry_(std::move(registry)), containers_(storage_) {}

Engine::SupervisorReply Engine::spawn_supervisor(const std::string& id, bool await_attach) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno("pipe");
    fs::UniqueFd rd(fds[0]), wr(fds[1]);
    std::string exe = fs::self_exe_dir().string() + "/minirun-supervisor";
    std::string ready = std::to_string(wr.get());
    std::cout.flush();
    std::cerr.flush();
    pid_t pid = ::fork();
    if (pid < 0) throw_errno("fork supervisor");
    if (pid == 0) {
        ::fcntl(wr.get(), F_SETFD, 0);  // the ready pipe crosses the exec
        ::execl(exe.c_str(), exe.c_str(), storage_.c_str(), id.c_str(), ready.c_str(),
                await_attach ? "await-attach" : nullptr, nullptr);
        ErrorRecord failure = ErrorRecord::of(errno_error("exec " + exe, errno), 125);
        std::string err = encode_error_record(failure);
        (void)!::write(wr.get(), err.data(), err.size());
        ::_exit(127);
    }
    wr.reset();
    std::string msg;
    char buf[4096];
    for (ssize_t n; (n = ::read(rd.get(), buf, sizeof buf)) > 0;) msg.append(buf, static_cast<size_t>(n));
    ::waitpid(pid, nullptr, WNOHANG);  // it detaches (setsid) and lives on; reap only an early exit
    // "ok", or one encoded ErrorRecord
    SupervisorReply reply;
    if (msg == "ok") {
        reply.started = true;
        return reply;
    }
    reply.failure.status = 125;
    if (auto r = decode_error_record(msg)) reply.failure = *r;
    else if (msg.empty()) reply.failure.message = "the supervisor exited before starting the container";
    else reply.failure.message = "malformed reply from the supervisor";
    return reply;
}

ContainerRecord Engine::refresh(const ContainerRecord& r) const {
    ContainerRecord out = r;
    if ((out.status == "running" || out.status == "restarting") && !out.boot_id.empty() &&
        out.boot_id != current_boot_id()) {
        out.status = "exited";  // the host rebooted since: nothing of it runs
        if (out.finished_at.empty()) out.exit_code = 255;
        return out;
    }
    if (out.status == "running" && !alive(out.pid, out.pid_start)) {
        // The init is gone; a live supervisor records it in a moment, a dead one never will.
        if (!alive(out.supervisor_pid, out.supervisor_start)) {
            out.status = "exited";
            if (out.finished_at.empty()) out.exit_code = 255;
        }
    }
    return out;
}

void Engine::cleanup(ContainerRecord& rec, bool remove_dir) { teardown_container(storage_, containers_, rec, remove_dir); }

std::vector<std::string> Engine::reap_orphans() {
    std::vector<std::string> reaped;
    for (auto& r : containers_.auto_remove_records()) {
        if (!r.auto_remove || r.supervisor_pid == 0 || alive(r.supervisor_pid, r.supervisor_start)) continue;
        ContainerRecord rec = r;
        log::debug("reaping " + rec.id + ": its owner " + std::to_string(rec.supervisor_pid) + " is gone");
        try {
            cleanup(rec, true);
            reaped.push_back(rec.id);
        } catch (const Error& e) {
            log::warn("reaping container " + rec.name + ": " + e.what());
        }
    }
    return reaped;
}

void Engine::start(const std::string& name) {
    ContainerRecord rec = refresh(containers_.find(name));
    if (rec.status == "running") return;
    rec.stop_requested = false;
    rec.status = "created";
    containers_.save(rec);
    SupervisorReply reply = spawn_supervisor(rec.id);
    if (!reply.started) throw wrap_error(reply.failure.to_error(), "start " + rec.name);
}

void Engine::stop(const std::string& name, std::optional<int> timeout) {
    ContainerRecord rec = refresh(containers_.find(name));
    rec.stop_requested = true;
    containers_.save(rec);
    if (rec.status != "running" && rec.status != "restarting") return;
    int secs = timeout.value_or(rec.stop_timeout);
    int stop_sig = runtime::parse_signal(rec.stop_signal);
    container_event(containers_, rec, "kill", {{"signal", std::to_string(stop_sig)}});
    if (alive(rec.pid, rec.pid_start)) ::kill(rec.pid, stop_sig);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(secs);
    while (alive(rec.pid, rec.pid_start) && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (alive(rec.pid, rec.pid_start)) {
        container_event(containers_, rec, "kill", {{"signal", std::to_string(SIGKILL)}});
        runtime::Runtime rt((storage_ / "run").string());
        try {
            rt.kill(rec.id, SIGKILL, true);
        } catch (const Error&) {
            ::kill(rec.pid, SIGKILL);
        }
    }
    // Let the supervisor record the exit; take over if it is gone.
    for (int i = 0; i < 500; ++i) {
        ContainerRecord now = containers_.load(rec.id);
        if (now.status != "running" && now.status != "restarting") {
            container_event(containers_, now, "stop");
            return;
        }
        if (!alive(now.supervisor_pid, now.supervisor_start) && !alive(now.pid, now.pid_start)) {
            cleanup(now, false);
            now.status = "exited";
            now.exit_code = 128 + SIGKILL;
            now.finished_at = rfc3339_now();
            containers_.save(now);
            container_event(containers_, now, "die", {{"exitCode", std::to_string(now.exit_code)}});
            container_event(containers_, now, "stop");
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

void Engine::restart(const std::string& name, std::optional<int> timeout) {
    stop(name, timeout);
    // Wait for the supervisor to let go before starting a new one.
    ContainerRecord rec = containers_.find(name);
    for (int i = 0; i < 500 && alive(rec.supervisor_pid, rec.supervisor_start); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        rec = containers_.load(rec.id);
    }
    start(name);
    container_event(containers_, containers_.find(name), "restart");
}

void Engine::kill(const std::string& name, const std::string& signal) {
    ContainerRecord rec = refresh(containers_.find(name));
    if (rec.status != "running") throw Error("container " + rec.name + " is not running");
    int sig = runtime::parse_signal(signal);
    if (sig == SIGKILL || sig == SIGTERM) {
        rec.stop_requested = true;
        containers_.save(rec);
    }
    if (::kill(rec.pid, sig) != 0) throw_errno("kill " + rec.name);
    container_event(containers_, rec, "kill", {{"signal", std::to_string(sig)}});
}

bool Engine::remove_unreadable(const std::string& id) {
    if (id.size() != 64 || id.find('/') != std::string::npos || !stdfs::exists(containers_.dir(id))) return false;
    try {
        containers_.load(id);
        return false;  // readable: the ordinary path removes it
    } catch (const Error& e) {
        log::warn(std::string(e.what()) + "; removing its directory");
    }
    // The runtime's own state still knows its process and cgroup; the netns mount goes
    // with a lazy unmount. (Its address and port rules are only in the lost record.)
    try {
        runtime::Runtime((storage_ / "run").string()).remove(id, true);
    } catch (const Error& err) {
        log::debug(err.what());
    }
    ::umount2((containers_.dir(id) / "netns").c_str(), MNT_DETACH);
    try {
        unmount_rootfs(containers_.dir(id).string());
    } catch (const Error&) {
    }
    containers_.remove(id);
    return true;
}

void Engine::remove(const std::string& name, bool force, bool volumes) {
    if (force && remove_unreadable(name)) return;
    ContainerRecord rec = refresh(containers_.find(name));
    if (rec.status == "running" || rec.status == "restarting") {
        if (!force) throw Error("cannot remove running container " + rec.name + ": stop it first or use --force");
        rec.auto_remove = false;
        containers_.save(rec);
        stop(rec.id, 0);
        rec = containers_.load(rec.id);
        for (int i = 0; i < 300 && alive(rec.supervisor_pid, rec.supervisor_start); ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
            rec = containers_.load(rec.id);
        }
    }
    std::vector<std::string> vols = rec.volumes;
    cleanup(rec, true);
    if (volumes) {
        // Only anonymous volumes (named after the container) go with it, as in Docker.
        for (auto& v : vols)
            if (v.rfind(rec.id.substr(0, 12) + "-", 0) == 0) stdfs::remove_all(storage_ / "volumes" / v);
    }
}

void Engine::rename(const std::string& name, const std::string& new_name) {
    ContainerRecord rec = containers_.find(name);
    if (!is_valid_object_name(new_name))
        throw Error("invalid container name \"" + new_name + "\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
                    ErrorKind::InvalidArgument);
    if (new_name == rec.name)
        throw Error("renaming a container with the same name as its current name", ErrorKind::InvalidArgument);
    containers_.claim_name(new_name, rec.id);
    rec = containers_.load(rec.id);  // the latest, the supervisor may have written since
    std::string old_name = rec.name;
    rec.name = new_name;
    containers_.save_claimed(rec);
    containers_.release_name(old_name, rec.id);
    container_event(containers_, rec, "rename", {{"oldName", "/" + old_name}});
    ContainerNetwork(storage_, containers_).renamed(rec);
}

int Engine::wait(const std::string& name) {
    ContainerRecord rec = containers_.find(name);
    for (;;) {
        rec = refresh(containers_.load(rec.id));
        if (rec.status == "exited" || rec.status == "created" || rec.status == "dead") return rec.exit_code;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

int Engine::exec(const ExecRequest& req) {
    ContainerRecord rec = refresh(containers_.find(req.container));
    if (rec.status != "running") throw Error("container " + rec.name + " is not running");
    runtime::Runtime rt((storage_ / "run").string());
    runtime::ExecOptions o;
    o.id = rec.id;
    o.args = req.command;
    o.env = req.env;
    o.cwd = req.workdir;
    o.detach = req.detach;
    if (!req.user.empty()) {
        auto u = resolve_user((containers_.dir(rec.id) / "rootfs").string(), req.user);
        o.user = std::to_string(u.uid) + ":" + std::to_string(u.gid);
        o.additional_gids = u.additional_gids;  // `id` inside prints what Docker's exec -u does
        if (!has_env(o.env, "HOME")) o.env.push_back("HOME=" + u.home);
    }
    if (req.tty && !has_env(o.env, "TERM")) o.env.push_back("TERM=xterm");
    // A terminal for an attached exec: the pty comes back over a console socket of our
    // own and a relay thread carries it while the runtime waits for the process.
    std::optional<ConsoleListener> console;
    fs::UniqueFd stop_r, stop_w;
    std::thread relay;
    if (req.tty && !req.detach) {
        console.emplace(console_path(containers_.dir(rec.id).string(), "exec-" + fs::unique_suffix().substr(0, 8) + ".sock"));
        o.tty = true;
        o.console_socket = console->path;
        int p[2];
        if (::pipe2(p, O_CLOEXEC) != 0) throw_errno("pipe");
        stop_r.reset(p[0]), stop_w.reset(p[1]);
        relay = std::thread(relay_terminal, std::ref(*console), stop_r.get(), req.interactive);
    }
    auto stop_relay = [&] {
        if (!relay.joinable()) return;
        (void)!::write(stop_w.get(), "x", 1);
        relay.join();
    };
    if (!req.interactive) {
        int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        ::dup2(null, STDIN_FILENO);
        ::close(null);
    }
    if (req.detach) {
        int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
        for (int i = 0; i < 3; ++i) ::dup2(null, i);
        ::close(null);
    }
    try {
        int status = rt.exec(o);
        stop_relay();
        return status;
    } catch (...) {
        stop_relay();
        throw;
    }
}

// The supervisor's health.json ("" while there is none yet).
std::string Engine::read_health(const std::string& id) const {
    try {
        return fs::read_file(containers_.dir(id) / "health.json", 1 << 20);
    } catch (const Error&) {
        return "";
    }
}

std::string Engine::health_status(const ContainerRecord& rec) const {
    if (!rec.health || rec.status != "running") return "";
    json h = json::parse(read_health(rec.id), nullptr, false);
    return h.is_object() ? h.value("Status", "starting") : "starting";
}

void Engine::wait_healthy(const std::string& name, double timeout_s) {
    ContainerRecord rec = containers_.find(name);
    if (!containers_.load(rec.id).health) throw Error("container " + rec.name + " has no health check");
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
    for (;;) {
        rec = refresh(containers_.load(rec.id));
        std::string h = health_status(rec);
        if (h == "healthy") return;
        if (rec.status != "running" && rec.status != "restarting")
            throw Error("container " + rec.name + " is " + rec.status + " (exit code " + std::to_string(rec.exit_code) + ")");
        if (h == "unhealthy") throw Error("container " + rec.name + " is unhealthy" + last_health_output(rec));
        if (timeout_s > 0 && std::chrono::steady_clock::now() > deadline)
            throw Error("container " + rec.name + " did not become healthy within " + std::to_string(static_cast<int>(timeout_s)) +
                        "s (health: " + (h.empty() ? "none" : h) + ")" + last_health_output(rec));
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
}

std::string Engine::last_health_output(const ContainerRecord& rec) const {
    json h = json::parse(read_health(rec.id), nullptr, false);
    if (!h.is_object() || !h["Log"].is_array() || h["Log"].empty()) return "";
    const json& last = h["Log"].back();
    std::string out = last.value("Output", "");
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return "; last check: exit " + std::to_string(last.value("ExitCode", 0)) + (out.empty() ? "" : ": " + out.substr(0, 200));
}

std::vector<PsRow> Engine::ps(bool all) const {
    std::vector<PsRow> rows;
    for (auto& r : containers_.list()) {
        PsRow row{refresh(r), "", false};
        const auto& c = row.rec;
        row.running = c.status == "running";
        if (row.running) {
            row.status_text = "Up " + ago(c.started_at);
            std::string h = health_status(c);
            if (h == "starting") row.status_text += " (health: starting)";
            else if (!h.empty()) row.status_text += " (" + h + ")";
        }
        else if (c.status == "restarting") row.status_text = "Restarting (" + std::to_string(c.exit_code) + ") " + ago(c.finished_at) + " ago";
        else if (c.status == "created") row.status_text = "Created";
        else row.status_text = "Exited (" + std::to_string(c.exit_code) + ") " + ago(c.finished_at) + " ago";
        if (all || row.running || c.status == "restarting") rows.push_back(row);
    }
    return rows;
}

namespace {
// Docker's NetworkSettings.Networks: one entry per network, with the live endpoint's
// addresses while connected.
json networks_json(const stdfs::path& storage, const ContainerRecord& rec) {
    std::map<std::string, network::Attachment> live;
    for (auto& a : network::Networks(storage / "networks").attachments(rec.id)) live[a.network] = a;
    json out = json::object();
    auto add = [&](const std::string& name, const std::vector<std::string>& aliases, const std::string& requested_ip) {
        json e{{"IPAMConfig", requested_ip.empty() ? json(nullptr) : json{{"IPv4Address", requested_ip}}},
               {"Aliases", aliases},
               {"NetworkID", ""},
               {"Gateway", ""},
               {"IPAddress", ""},
               {"IPPrefixLen", 0},
               {"MacAddress", ""}};
        if (auto a = live.find(name); a != live.end()) {
            e["NetworkID"] = a->second.network_id;
            e["Gateway"] = a->second.gateway;
            e["IPAddress"] = a->second.ip;
            e["IPPrefixLen"] = a->second.prefix_len;
            e["MacAddress"] = a->second.mac;
        }
        out[name] = e;
    };
    add(rec.network, rec.network_aliases, rec.requested_ip);
    for (auto& e : rec.extra_networks) add(e.network, e.aliases, e.requested_ip);
    return out;
}
}  // namespace

std::string Engine::inspect(const std::string& name) const {
    ContainerRecord rec = refresh(containers_.find(name));
    json j = json::parse(record_to_json(rec));
    std::string cfg = (containers_.dir(rec.id) / "config.json").string();
    if (stdfs::exists(cfg)) {
        json spec = json::parse(fs::read_file(cfg), nullptr, false);
        if (spec.is_object()) {
            j["Config"]["Env"] = spec["process"]["env"];
            j["Config"]["Cmd"] = spec["process"]["args"];
            j["Config"]["WorkingDir"] = spec["process"]["cwd"];
            j["Config"]["User"] = std::to_string(spec["process"]["user"].value("uid", 0)) + ":" +
                                  std::to_string(spec["process"]["user"].value("gid", 0));
        }
    }
    j["NetworkSettings"]["Networks"] = networks_json(storage_, rec);
    j["LogPath"] = (containers_.dir(rec.id) / "container.log").string();
    if (rec.health) {  // State.Health as Docker shows it (kept after the container stops)
        json h = json::parse(read_health(rec.id), nullptr, false);
        if (h.is_object()) j["State"]["Health"] = h;
    }
    return json::array({j}).dump(4);
}

namespace {
struct FollowArg {
    const Engine* engine;
    std::string id;
};
bool follow_running(void* a) {
    auto* f = static_cast<FollowArg*>(a);
    auto rec = f->engine->refresh(const_cast<Engine*>(f->engine)->containers().load(f->id));
    return rec.status == "running" || rec.status == "restarting";
}
}  // namespace

void Engine::logs(const std::string& name, const LogReadOptions& o) const {
    ContainerRecord rec = containers_.find(name);
    // json-file, and syslog's local copy (Docker's dual logging) unless cache-disabled
    auto cache = rec.log_opts.find("cache-disabled");
    bool readable = rec.log_driver == "json-file" ||
                    (rec.log_driver == "syslog" && (cache == rec.log_opts.end() || cache->second != "true"));
    if (!readable)
        throw Error("container " + rec.name + ": the " + rec.log_driver + " log driver" +
                    (rec.log_driver == "syslog" ? " with cache-disabled=true" : "") + " keeps no local copy for `logs`");
    FollowArg arg{this, rec.id};
    print_logs((containers_.dir(rec.id) / "container.log").string(), o, follow_running, &arg);
}

std::vector<ContainerStats> Engine::stats(const std::vector<std::string>& names) const {
    std::vector<ContainerRecord> recs;
    if (names.empty()) {
        for (auto& r : ps(false)) recs.push_back(r.rec);
    } else {
        for (auto& n : names) recs.push_back(refresh(containers_.find(n)));
    }
    std::vector<ContainerStats> out;
    for (auto& r : recs) {
        if (r.status != "running") continue;
        runtime::Cgroup cg = runtime::Cgroup::open("/minirun/" + r.id, r.id);
        auto a = cg.stats();
        auto t0 = std::chrono::steady_clock::now();
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        auto b = cg.stats();
        double wall_ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
        ContainerStats st{r.id, r.name};
        st.cpu_percent = wall_ns > 0 ? 100.0 * static_cast<double>(b.cpu_usage_ns - a.cpu_usage_ns) / wall_ns : 0;
        st.memory_usage = b.memory_usage;
        st.memory_limit = b.memory_limit == UINT64_MAX || b.memory_limit == 0 ? 0 : static_cast<double>(b.memory_limit);
        st.memory_percent = st.memory_limit > 0 ? 100.0 * static_cast<double>(b.memory_usage) / st.memory_limit : 0;
        st.pids = b.pids_current;
        out.push_back(st);
    }
    return out;
}

std::string Engine::top(const std::string& name) const {
    ContainerRecord rec = refresh(containers_.find(name));
    if (rec.status != "running") throw Error("container " + rec.name + " is not running");
    auto pids = runtime::Cgroup::open("/minirun/" + rec.id, rec.id).pids();
    std::string list;
    for (pid_t p : pids) list += (list.empty() ? "" : ",") + std::to_string(p);
    ProcessResult r = run_process({"ps", "-o", "user,pid,ppid,stime,time,args", "-p", list});
    return r.out;
}

std::vector<network::PortMapping> Engine::ports(const std::string& name) const {
    ContainerRecord rec = refresh(containers_.find(name));
    if (rec.status != "running") return {};
    return rec.ports;
}

std::vector<std::string> Engine::prune() {
    std::vector<std::string> removed;
    for (auto& r : containers_.list()) {
        ContainerRecord rec = refresh(r);
        if (rec.status == "running" || rec.status == "restarting") continue;
        cleanup(rec, true);
        removed.push_back(rec.id);
    }
    return removed;
}

}  // namespace minirun::engine
