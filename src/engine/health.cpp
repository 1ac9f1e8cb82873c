// Health checks run by the supervisor.
#include "health.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "minirun/common/error.hpp"
#include "minirun/runtime/container.hpp"
#include "minirun/runtime/state.hpp"
#include "minirun/common/time.hpp"
#include "minirun/common/process.hpp"

namespace minirun::engine {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {
constexpr size_t kMaxOutput = 4096;  // Docker keeps 4 KiB of each probe's output
constexpr size_t kMaxLog = 5;        // and the last 5 probes
}  // namespace

HealthMonitor::HealthMonitor(const std::string& id, const std::string& dir, const std::string& runtime_root,
                             const HealthConfig& config)
    : id_(id), dir_(dir), runtime_root_(runtime_root), cfg_(config) {
    started_ = Clock::now();
    next_ = started_ + std::chrono::nanoseconds(cfg_.start_period_ns > 0 ? cfg_.start_interval_ns : cfg_.interval_ns);
    save();
}

HealthMonitor::~HealthMonitor() {
    if (child_ > 0) {
        ::kill(-child_, SIGKILL);
        ::waitpid(child_, nullptr, 0);
    }
}

void HealthMonitor::start_check() {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return;
    fs::UniqueFd r(p[0]), w(p[1]);
    check_start_time_ = rfc3339_now();
    check_began_ = Clock::now();
    pid_t pid = ::fork();
    if (pid < 0) return;
    if (pid == 0) {
        // Its own process group, so a timeout kills the probe and what it started.
        ::setpgid(0, 0);
        ::dup2(w.get(), STDOUT_FILENO);
        ::dup2(w.get(), STDERR_FILENO);
        int null = ::open("/dev/null", O_RDONLY);
        ::dup2(null, STDIN_FILENO);
        try {
            runtime::Runtime rt(runtime_root_);
            runtime::ExecOptions o;
            o.id = id_;
            if (cfg_.test.at(0) == "CMD-SHELL") o.args = {"/bin/sh", "-c", cfg_.test.size() > 1 ? cfg_.test[1] : ""};
            else o.args.assign(cfg_.test.begin() + 1, cfg_.test.end());
            ::_exit(rt.exec(o) & 0xff);
        } catch (const std::exception& e) {
            std::string msg = std::string(e.what()) + "\n";
            (void)!::write(STDERR_FILENO, msg.data(), msg.size());
            ::_exit(1);
        }
    }
    ::setpgid(pid, pid);
    child_ = pid;
    out_ = std::move(r);
    ::fcntl(out_.get(), F_SETFL, O_NONBLOCK);
    output_.clear();
}

void HealthMonitor::finish(int exit_code) {
    child_ = 0;
    out_.reset();
    log_.push_back({check_start_time_, rfc3339_now(), output_, exit_code});
    while (log_.size() > kMaxLog) log_.pop_front();
    bool in_start_period = Clock::now() - started_ < std::chrono::nanoseconds(cfg_.start_period_ns);
    if (exit_code == 0) {
        status_ = "healthy";
        streak_ = 0;
    } else if (!in_start_period || status_ == "healthy") {
        // Failures in the start period do not count (Docker's rule) until one success.
        if (++streak_ >= cfg_.retries) status_ = "unhealthy";
    }
    bool starting = in_start_period && status_ == "starting";
    next_ = Clock::now() + std::chrono::nanoseconds(starting ? cfg_.start_interval_ns : cfg_.interval_ns);
    save();
}

void HealthMonitor::read_output() {
    char buf[1024];
    for (ssize_t n; (n = ::read(out_.get(), buf, sizeof buf)) > 0;)
        if (output_.size() < kMaxOutput) output_.append(buf, std::min(static_cast<size_t>(n), kMaxOutput - output_.size()));
}

void HealthMonitor::tick() {
    if (cfg_.test.empty()) return;
    if (child_ > 0) {
        read_output();
        int ws = 0;
        if (::waitpid(child_, &ws, WNOHANG) == child_) {
            read_output();  // what it wrote just before exiting
            finish(exit_status_of(ws));
        } else if (Clock::now() - check_began_ > std::chrono::nanoseconds(cfg_.timeout_ns)) {
            ::kill(-child_, SIGKILL);
            ::waitpid(child_, nullptr, 0);
            output_ = "Health check exceeded timeout (" + std::to_string(cfg_.timeout_ns / 1000000000) + "s)";
            finish(-1);
        }
        return;
    }
    if (Clock::now() >= next_) start_check();
}

void HealthMonitor::save() const {
    json log = json::array();
    for (auto& r : log_) log.push_back({{"Start", r.start}, {"End", r.end}, {"ExitCode", r.exit_code}, {"Output", r.output}});
    json j{{"Status", status_}, {"FailingStreak", streak_}, {"Log", log}};
    try {
        fs::write_file_atomic(dir_ + "/health.json", j.dump(), 0644, false);
    } catch (const Error&) {
        // A full disk must not take the supervisor down; the next probe writes again.
    }
}

}  // namespace minirun::engine
