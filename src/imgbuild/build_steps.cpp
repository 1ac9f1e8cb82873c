// The builder's filesystem steps: overlay roots over a parent's layers, RUN through the
// runtime core, ADD's downloads.
#include <atomic>
#include <csignal>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "build_internal.hpp"
#include "minirun/imgbuild/builder.hpp"
#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/common/log.hpp"
#include "minirun/common/sha256.hpp"
#include "minirun/engine/image_config.hpp"
#include "minirun/engine/rootfs.hpp"
#include "minirun/engine/spec_builder.hpp"
#include "minirun/image/store.hpp"
#include "minirun/registry/http.hpp"
#include "minirun/runtime/container.hpp"

namespace minirun::imgbuild::detail {

namespace stdfs = std::filesystem;

StepRoot::StepRoot(image::Store& store, const std::vector<std::string>& diff_ids, bool writable) : store_(store) {
    bundle_ = (store.temp_dir() / (std::string(fs::kTempPrefix) + fs::unique_suffix() + "-build")).string();
    empty_ = bundle_ + "/empty";
    for (auto d : {bundle_, bundle_ + "/rootfs", empty_}) fs::mkdir_p(d);
    try {
        engine::OverlayDirs dirs;
        dirs.target = rootfs();
        if (writable) {
            upper_ = store.make_layer_tmp().string();
            dirs.upper = upper_;
            dirs.work = bundle_ + "/work";
            fs::mkdir_p(dirs.work);
            if (diff_ids.empty()) dirs.extra_lower = {empty_};
        } else {
            dirs.extra_lower = {empty_};
            if (diff_ids.empty()) dirs.extra_lower.push_back(empty_);
        }
        engine::mount_layers((store.root() / "layers").string(), diff_ids, dirs);
        mounted_ = true;
        root_fd_ = ::open(rootfs().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (root_fd_ < 0) throw_errno("open " + rootfs());
    } catch (...) {
        release();
        throw;
    }
}

void StepRoot::unmount() {
    if (root_fd_ >= 0) ::close(root_fd_);
    root_fd_ = -1;
    if (mounted_ && ::umount2(rootfs().c_str(), MNT_DETACH) != 0) log::warn("unmount " + rootfs() + ": " + std::strerror(errno));
    mounted_ = false;
}

StepRoot::~StepRoot() { release(); }

void StepRoot::release() noexcept {
    unmount();
    try {
        if (!upper_.empty() && stdfs::exists(upper_)) image::remove_tree(upper_);
        image::remove_tree(bundle_);
    } catch (const std::exception& e) {
        log::warn(e.what());
    }
}

bool StepRoot::changed() const {
    std::error_code ec;
    return !upper_.empty() && !stdfs::is_empty(upper_, ec);
}

Layer StepRoot::commit(const image::PackOptions& opts) {
    unmount();
    for (auto& d : prune_) {
        std::string p = upper_ + d;
        char opq = 0;
        // rmdir only removes it when empty; an opaque one hides the lower dir's content.
        if (::lgetxattr(p.c_str(), "trusted.overlay.opaque", &opq, 1) != 1) ::rmdir(p.c_str());
    }
    image::PackedLayer p = image::pack_layer(store_, upper_, opts);
    store_.commit_layer(upper_, p.diff_id);
    upper_.clear();
    return {p.blob, p.diff_id};
}

namespace {

// Mount points the runtime creates when the image lacks them; removed after the step
// when they were not there before and are still empty.
const char* const kMountPoints[] = {"/etc/hosts", "/etc/resolv.conf", "/proc", "/sys", "/dev", "/etc"};

bool exists_in_root(int root_fd, const std::string& path) {
    fs::UniqueFd fd(fs::open_in_root(root_fd, path, O_PATH | O_NOFOLLOW));
    return static_cast<bool>(fd);
}

void remove_if_empty(int root_fd, const std::string& path) {
    struct stat st {};
    if (::fstatat(root_fd, path.c_str() + 1, &st, AT_SYMLINK_NOFOLLOW) != 0) return;
    if (S_ISDIR(st.st_mode)) ::unlinkat(root_fd, path.c_str() + 1, AT_REMOVEDIR);  // fails unless empty
    else if (S_ISREG(st.st_mode) && st.st_size == 0) ::unlinkat(root_fd, path.c_str() + 1, 0);
}

}  // namespace

namespace {
// The RUN step's container init (its pid namespace's init: killing it ends every process
// of the step) and the signal that interrupted the build, shared with the handler.
std::atomic<pid_t> g_step_pid{0};
std::atomic<int> g_interrupt{0};

void on_interrupt(int sig) {
    g_interrupt.store(sig);
    pid_t pid = g_step_pid.load();
    if (pid > 0) ::kill(pid, SIGKILL);
}
}  // namespace

}  // namespace minirun::imgbuild::detail

namespace minirun::imgbuild {

void install_interrupt_handlers() {
    struct sigaction sa {};
    sa.sa_handler = detail::on_interrupt;
    sa.sa_flags = SA_RESTART;
    ::sigemptyset(&sa.sa_mask);
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);
}

int interrupted_by() { return detail::g_interrupt.load(); }

void check_interrupted() {
    if (int sig = detail::g_interrupt.load()) throw Error(std::string("build interrupted by ") + ::sigabbrev_np(sig) + "; nothing tagged");
}

}  // namespace minirun::imgbuild

namespace minirun::imgbuild::detail {

int run_step(image::Store& store, StepRoot& root, const RunStep& step, std::string& output) {
    check_interrupted();
    std::vector<std::string> absent;
    for (auto* p : kMountPoints)
        if (!exists_in_root(root.root_fd(), p)) absent.emplace_back(p);
    for (auto& m : step.mounts)
        if (!exists_in_root(root.root_fd(), m.destination)) absent.push_back(m.destination);

    engine::RunSettings s;
    s.args = step.args;
    s.env = step.env;
    s.cwd = step.cwd;
    s.user = engine::resolve_user(root.rootfs(), step.user);
    if (!engine::has_env(s.env, "HOME")) s.env.push_back("HOME=" + s.user.home);  // from passwd, as Docker's RUN
    s.hostname = "imgbuild";
    s.host_network = !step.network_none;
    std::string id = "imgbuild-" + fs::unique_suffix();
    s.cgroups_path = "/minirun-build/" + id;
    auto bind = [&](const std::string& src, const std::string& dst) {
        s.mounts.push_back({dst, "bind", src, {"rbind", "rprivate", "ro"}});
    };
    if (s.host_network)
        for (auto f : {"/etc/resolv.conf", "/etc/hosts"})
            if (stdfs::exists(f)) bind(f, f);
    for (auto& [host, name] : step.scripts) bind(host, "/dev/" + name);
    s.mounts.insert(s.mounts.end(), step.mounts.begin(), step.mounts.end());
    fs::write_file_atomic(root.bundle() + "/config.json", engine::build_config_json(s), 0644, false);

    runtime::Runtime rt((store.root() / "run").string());
    runtime::CreateOptions opts;
    opts.id = id;
    opts.bundle = root.bundle();
    fs::UniqueFd null_in(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    fs::UniqueFd captured;
    opts.stdin_fd = null_in.get();
    if (step.stdout_fd < 0 || step.stderr_fd < 0) {
        captured.reset(::memfd_create("run-output", MFD_CLOEXEC));
        if (!captured) throw_errno("memfd_create");
        opts.stdout_fd = opts.stderr_fd = captured.get();
    } else {
        opts.stdout_fd = step.stdout_fd;
        opts.stderr_fd = step.stderr_fd;
    }
    int status = 0;
    try {
        runtime::StartedContainer sc = rt.create_and_start(opts);
        if (sc.exec_failure) {
            output += sc.exec_failure->message + "\n";
            status = sc.exec_failure->status;
            rt.remove(id, true);
        } else {
            g_step_pid.store(sc.pid);
            if (g_interrupt.load()) ::kill(sc.pid, SIGKILL);  // the signal came before the pid was known
            status = runtime::wait_status(sc.pid);
            g_step_pid.store(0);
            rt.remove(id, true);
        }
    } catch (const runtime::InitError& e) {
        rt.remove(id, true);
        output += std::string(e.what()) + "\n";
        status = e.status;
    }
    if (captured) {
        off_t size = ::lseek(captured.get(), 0, SEEK_END);
        std::string text(static_cast<size_t>(std::max<off_t>(size, 0)), '\0');
        if (size > 0 && ::pread(captured.get(), text.data(), text.size(), 0) == size) output = text + output;
    }
    for (auto& p : absent) {
        remove_if_empty(root.root_fd(), p);
        // Directories copied up or made only to hold the mount point go too (when empty).
        for (std::string parent = p.substr(0, p.rfind('/')); !parent.empty(); parent = parent.substr(0, parent.rfind('/')))
            root.prune_if_empty(parent);
    }
    check_interrupted();
    return status;
}

Download download_url(const std::string& url, int out_fd, const std::string& checksum) {
    registry::HttpClient::global_init();
    registry::HttpClient http;
    registry::HttpRequest req;
    req.url = url;
    Sha256 hash;
    std::string error;
    req.on_body = [&](const char* data, size_t size) {
        try {
            fs::write_all(out_fd, data, size, url);
            hash.update(data, size);
            return true;
        } catch (const std::exception& e) {
            error = e.what();
            return false;
        }
    };
    registry::HttpResponse r = http.perform(req);
    if (!error.empty()) throw Error("ADD " + url + ": " + error);
    if (r.status != 200) throw Error("ADD " + url + ": the server answered HTTP " + std::to_string(r.status));
    std::string got = hash.digest();
    if (!checksum.empty() && got != checksum)
        throw Error("ADD " + url + ": checksum mismatch: expected " + checksum + ", got " + got);
    Download d{got, 0};
    std::string lm = r.header("last-modified");
    struct tm tm {};
    if (!lm.empty() && ::strptime(lm.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm)) d.mtime = ::timegm(&tm);
    return d;
}

}  // namespace minirun::imgbuild::detail
