#pragma once
// Transfer progress for pull and push: per-blob bytes and rate redrawn in place on a
// terminal, one plain line per finished blob otherwise, nothing when quiet.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "minirun/image/image_source.hpp"

namespace minirun::registry {

enum class ProgressMode { automatic, terminal, plain, quiet };

class Progress final : public image::TransferObserver {
public:
    // verb: "Downloading" (live), done_verb: "Downloaded" (plain lines)
    Progress(ProgressMode mode, std::string verb, std::string done_verb);
    ~Progress();
    Progress(const Progress&) = delete;
    Progress& operator=(const Progress&) = delete;

    // Registers a blob; returns its slot.
    size_t add(const std::string& digest, int64_t total) override;
    void set_bytes(size_t slot, uint64_t bytes) override;
    // Marks a blob finished with a short status ("done", "exists", "mounted", …).
    void finish(size_t slot, const std::string& status) override;
    // Prints a line outside the live area.
    void message(const std::string& line);
    void stop();

private:
    struct Item {
        std::string id;
        int64_t total;
        std::atomic<uint64_t> bytes{0};
        std::string status;
        std::chrono::steady_clock::time_point start;
        std::chrono::steady_clock::time_point end;
    };
    void redraw_locked();
    void loop();

    ProgressMode mode_;
    std::string verb_, done_verb_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::vector<std::unique_ptr<Item>> items_;
    size_t drawn_lines_ = 0;
    bool stopping_ = false;
    std::thread thread_;
};

std::string human_bytes(double bytes);

// copy_image with a Progress drawn as `mode` says (verb/done_verb as Progress takes them),
// stopped before the result or the error comes back.
image::CopyResult copy_with_progress(const image::ImageSource& from, image::ImageSink& to, ProgressMode mode,
                                     const std::string& verb, const std::string& done_verb, size_t parallel);

}  // namespace minirun::registry
