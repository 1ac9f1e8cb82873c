#include "minirun/registry/progress.hpp"

#include <unistd.h>

#include <cstdio>

namespace minirun::registry {

std::string human_bytes(double b) {
    const char* units[] = {"B", "kB", "MB", "GB", "TB"};
    int u = 0;
    while (b >= 1000 && u < 4) b /= 1000, ++u;
    char buf[32];
    std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", b, units[u]);
    return buf;
}

namespace {
std::string short_id(const std::string& digest) {
    return digest.rfind("sha256:", 0) == 0 ? digest.substr(7, 12) : digest.substr(0, 12);
}
double seconds(std::chrono::steady_clock::duration d) { return std::chrono::duration<double>(d).count(); }
}  // namespace

Progress::Progress(ProgressMode mode, std::string verb, std::string done_verb)
    : mode_(mode), verb_(std::move(verb)), done_verb_(std::move(done_verb)) {
    if (mode_ == ProgressMode::automatic) mode_ = ::isatty(STDERR_FILENO) ? ProgressMode::terminal : ProgressMode::plain;
    if (mode_ == ProgressMode::terminal) thread_ = std::thread([this] { loop(); });
}

Progress::~Progress() { stop(); }

size_t Progress::add(const std::string& digest, int64_t total) {
    std::lock_guard lk(mu_);
    auto item = std::make_unique<Item>();
    item->id = short_id(digest);
    item->total = total;
    item->start = std::chrono::steady_clock::now();
    items_.push_back(std::move(item));
    return items_.size() - 1;
}

void Progress::set_bytes(size_t slot, uint64_t bytes) { items_[slot]->bytes = bytes; }

void Progress::finish(size_t slot, const std::string& status) {
    std::lock_guard lk(mu_);
    Item& it = *items_[slot];
    it.status = status;
    it.end = std::chrono::steady_clock::now();
    if (mode_ == ProgressMode::plain) {
        double secs = seconds(it.end - it.start);
        uint64_t b = it.bytes;
        if (b > 0 && status == "done")
            std::fprintf(stderr, "%s: %s %s in %.2fs (%s/s)\n", it.id.c_str(), done_verb_.c_str(), human_bytes(b).c_str(), secs,
                         human_bytes(secs > 0 ? b / secs : 0).c_str());
        else
            std::fprintf(stderr, "%s: %s\n", it.id.c_str(), status.c_str());
    }
}

void Progress::message(const std::string& line) {
    std::lock_guard lk(mu_);
    if (mode_ == ProgressMode::quiet) return;
    if (mode_ == ProgressMode::terminal && drawn_lines_) {
        std::fprintf(stderr, "\033[%zuA\033[J", drawn_lines_);
        drawn_lines_ = 0;
    }
    std::fprintf(stderr, "%s\n", line.c_str());
}

void Progress::redraw_locked() {
    if (drawn_lines_) std::fprintf(stderr, "\033[%zuA", drawn_lines_);
    auto now = std::chrono::steady_clock::now();
    for (auto& p : items_) {
        uint64_t b = p->bytes;
        double secs = seconds((p->status.empty() ? now : p->end) - p->start);
        std::string rate = secs > 0.05 ? human_bytes(b / secs) + "/s" : "";
        if (p->status.empty())
            std::fprintf(stderr, "\033[K%s: %s %s / %s  %s\n", p->id.c_str(), verb_.c_str(), human_bytes(b).c_str(),
                         p->total >= 0 ? human_bytes(static_cast<double>(p->total)).c_str() : "?", rate.c_str());
        else
            std::fprintf(stderr, "\033[K%s: %s %s\n", p->id.c_str(), p->status.c_str(),
                         b && p->status == "done" ? ("(" + human_bytes(b) + ", " + rate + ")").c_str() : "");
    }
    drawn_lines_ = items_.size();
    std::fflush(stderr);
}

void Progress::loop() {
    std::unique_lock lk(mu_);
    while (!stopping_) {
        redraw_locked();
        cv_.wait_for(lk, std::chrono::milliseconds(200));
    }
    redraw_locked();
}

void Progress::stop() {
    {
        std::lock_guard lk(mu_);
        if (stopping_) return;
        stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

image::CopyResult copy_with_progress(const image::ImageSource& from, image::ImageSink& to, ProgressMode mode,
                                     const std::string& verb, const std::string& done_verb, size_t parallel) {
    Progress progress(mode, verb, done_verb);
    image::CopyOptions copy;
    copy.parallel = parallel;
    copy.observer = &progress;
    try {
        image::CopyResult result = image::copy_image(from, to, copy);
        progress.stop();
        return result;
    } catch (...) {
        progress.stop();  // the live area is cleared before the error is printed
        throw;
    }
}

}  // namespace minirun::registry
