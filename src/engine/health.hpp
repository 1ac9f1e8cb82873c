#pragma once
// The health check a container's supervisor runs (Docker's HEALTHCHECK semantics): the
// test is exec'd in the container every interval (start_interval during the start
// period), bounded by its timeout; `retries` consecutive failures after the start period
// make it unhealthy, one success healthy. The state goes to <container dir>/health.json
// (atomic writes, the supervisor the only writer), read by inspect, ps and wait.
#include <sys/types.h>

#include <chrono>
#include <deque>
#include <string>

#include "minirun/common/fs.hpp"
#include "minirun/engine/container_store.hpp"

namespace minirun::engine {

class HealthMonitor {
public:
    HealthMonitor(const std::string& container_id, const std::string& dir, const std::string& runtime_root,
                  const HealthConfig& config);
    ~HealthMonitor();
    // Called from the supervisor's loop (at least every 200 ms): starts a due check,
    // collects a finished one, kills one past its timeout.
    void tick();

private:
    struct Result {
        std::string start, end, output;
        int exit_code;
    };
    void start_check();
    void read_output();  // non-blocking, capped at kMaxOutput
    void finish(int exit_code);
    void save() const;

    std::string id_, dir_, runtime_root_;
    HealthConfig cfg_;
    std::chrono::steady_clock::time_point started_, next_, check_began_;
    std::string check_start_time_;
    pid_t child_ = 0;
    fs::UniqueFd out_;
    std::string output_;
    std::string status_ = "starting";
    int streak_ = 0;
    std::deque<Result> log_;
};

}  // namespace minirun::engine
