#include "minirun/runtime/state.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "minirun/common/names.hpp"
#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/common/log.hpp"
#include "minirun/runtime/cgroups.hpp"

namespace minirun::runtime {

using json = nlohmann::json;
namespace stdfs = std::filesystem;

void validate_container_id(const std::string& id) {
    if (!is_valid_object_name(id, 1024)) throw Error("invalid container ID \"" + id + "\": use letters, digits, '_', '.', '-'");
}

StateStore::StateStore(std::string root) : root_(std::move(root)) {}

std::string StateStore::default_root() {
    if (::geteuid() == 0) return "/run/minirun";
    if (const char* x = std::getenv("XDG_RUNTIME_DIR"); x && *x) return std::string(x) + "/minirun";
    return "/tmp/minirun-" + std::to_string(::geteuid());
}

std::string StateStore::dir(const std::string& id) const { return root_ + "/" + id; }

void StateStore::reserve(const std::string& id) {
    validate_container_id(id);
    // The common case first: the root exists and one mkdir claims the id.
    int rc = ::mkdir(dir(id).c_str(), 0711);
    if (rc != 0 && errno == ENOENT) {
        fs::mkdir_p(root_);
        ::chmod(root_.c_str(), 0700);
        rc = ::mkdir(dir(id).c_str(), 0711);
    }
    if (rc == 0) return;
    if (errno == EEXIST) throw Error("container ID " + id + " already exists");
    throw_errno("create state directory " + dir(id));
}

bool StateStore::exists(const std::string& id) const {
    struct stat st {};
    return ::stat((dir(id) + "/state.json").c_str(), &st) == 0;
}

void StateStore::save(const ContainerState& s) const {
    // Runtime state lives on tmpfs and dies with the boot: atomic, not durable.
    fs::write_file_atomic(dir(s.id) + "/state.json", state_to_json(s, false), 0600, false);
}

ContainerState StateStore::load(const std::string& id) const {
    validate_container_id(id);
    if (!exists(id)) throw Error("container " + id + " does not exist");
    json j = json::parse(fs::read_file(dir(id) + "/state.json", 1 << 20), nullptr, false);
    if (j.is_discarded()) throw Error("state of container " + id + " is corrupt");
    ContainerState s;
    s.id = j.value("id", id);
    s.bundle = j.value("bundle", "");
    s.rootfs = j.value("rootfs", "");
    s.pid = j.value("pid", 0);
    s.pid_start_time = j.value("pid_start_time", 0ull);
    s.created = j.value("created", "");
    s.cgroup_path = j.value("cgroup_path", "");
    s.owner = j.value("owner", "");
    if (auto c = j.find("config"); c != j.end()) s.config = c->is_string() ? c->get<std::string>() : c->dump();
    if (auto a = j.find("annotations"); a != j.end() && a->is_object())
        for (auto& [k, v] : a->items())
            if (v.is_string()) s.annotations[k] = v.get<std::string>();
    s.status = compute_status(*this, s);
    return s;
}

void StateStore::remove(const std::string& id) {
    std::error_code ec;
    stdfs::remove_all(dir(id), ec);
    if (ec) throw Error("remove state of " + id + ": " + ec.message());
}

std::vector<std::string> StateStore::ids() const {
    std::vector<std::string> out;
    std::error_code ec;
    for (auto& e : stdfs::directory_iterator(root_, ec))
        if (exists(e.path().filename())) out.push_back(e.path().filename());
    std::sort(out.begin(), out.end());
    return out;
}

unsigned long long process_start_time(pid_t pid) {
    if (pid <= 0) return 0;
    // A gone process is the common answer here: no exception for it (the first throw of a
    // static binary costs a millisecond of unwinder set-up).
    fs::UniqueFd fd(::open(("/proc/" + std::to_string(pid) + "/stat").c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return 0;
    char buf[4096];
    ssize_t n = ::read(fd.get(), buf, sizeof buf - 1);
    if (n <= 0) return 0;
    std::string stat(buf, static_cast<size_t>(n));
    // The command name may contain spaces and parentheses: count from the last ')'.
    auto close = stat.rfind(')');
    if (close == std::string::npos) return 0;
    const char* p = stat.c_str() + close + 2;
    char state = *p;
    if (state == 'Z' || state == 'X') return 0;
    for (int field = 3; field < 22 && *p; ++field) {
        p = std::strchr(p, ' ');
        if (!p) return 0;
        ++p;
    }
    unsigned long long start = std::strtoull(p, nullptr, 10);
    // An exiting process (its memory gone, waiting for its pid namespace to drain) has
    // an empty cmdline: it is no longer running anything.
    fs::UniqueFd cmdline(::open(("/proc/" + std::to_string(pid) + "/cmdline").c_str(), O_RDONLY | O_CLOEXEC));
    char c;
    if (!cmdline || ::read(cmdline.get(), &c, 1) != 1) return 0;
    return start;
}

bool process_alive(pid_t pid, unsigned long long start_time) {
    unsigned long long now = process_start_time(pid);
    return now != 0 && (start_time == 0 || now == start_time);
}

std::string compute_status(const StateStore& store, const ContainerState& s) {
    if (!process_alive(s.pid, s.pid_start_time)) return "stopped";
    struct stat st {};
    if (::stat(store.fifo_path(s.id).c_str(), &st) == 0) return "created";
    try {
        if (Cgroup::open(s.cgroup_path, s.id).frozen()) return "paused";
    } catch (const Error& e) {
        log::debug(std::string("status of ") + s.id + ": " + e.what());
    }
    return "running";
}

std::string state_to_json(const ContainerState& s, bool pretty) {
    json j{{"ociVersion", "1.0.2"},
           {"id", s.id},
           {"status", s.status.empty() ? "created" : s.status},
           {"pid", s.status == "stopped" ? 0 : s.pid},
           {"bundle", s.bundle},
           {"rootfs", s.rootfs},
           {"created", s.created},
           {"owner", s.owner},
           {"annotations", s.annotations}};
    if (!pretty) {
        // The config the container was created with, for exec and delete's hooks: one
        // file write on the start path instead of two. Kept as a string: parsing and
        // re-serialising it as a tree (Docker's seccomp profile alone is 20 KB) cost a
        // millisecond per load.
        if (!s.config.empty()) j["config"] = s.config;
        j["pid"] = s.pid;
        j["pid_start_time"] = s.pid_start_time;
        j["cgroup_path"] = s.cgroup_path;
    }
    return pretty ? j.dump(2) : j.dump();
}

}  // namespace minirun::runtime
