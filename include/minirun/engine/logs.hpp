#pragma once
// Container output: the json-file driver (Docker's JSON lines, rotated by size), the
// syslog driver (RFC 5424 over udp or tcp) and none; and reading logs back.
#include <memory>
#include <map>
#include <string>

namespace minirun::engine {

class LogSink {
public:
    virtual ~LogSink() = default;
    // One line (without its newline) from "stdout" or "stderr".
    virtual void write(const std::string& stream, const std::string& line) = 0;
};

// driver: json-file | syslog | none; opts: max-size, max-file (json-file), syslog-address,
// tag, syslog-facility (syslog). Throws Error on unknown drivers or options.
std::unique_ptr<LogSink> make_log_sink(const std::string& driver, const std::map<std::string, std::string>& opts,
                                       const std::string& log_path, const std::string& container_id,
                                       const std::string& container_name);
// Validates options early (at `run` time), with the same errors as make_log_sink.
void validate_log_options(const std::string& driver, const std::map<std::string, std::string>& opts);

// Splits a byte stream into lines for a sink; a partial line waits for the rest (or flush).
class LineSplitter {
public:
    LineSplitter(LogSink& sink, std::string stream) : sink_(sink), stream_(std::move(stream)) {}
    void feed(const char* data, size_t n);
    void flush();

private:
    LogSink& sink_;
    std::string stream_, partial_;
};

struct LogReadOptions {
    bool follow = false;
    bool timestamps = false;
    long tail = -1;          // -1: all
    std::string since;       // RFC 3339 or a duration like 10m, 2h
    std::string prefix;      // before each line ("web-1  | " for a project's logs)
};
// Prints a json-file log (and its rotated files) to stdout/stderr. `still_running` tells
// follow mode when to stop.
void print_logs(const std::string& log_path, const LogReadOptions& opts, bool (*still_running)(void*), void* arg);

}  // namespace minirun::engine
