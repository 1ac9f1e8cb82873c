#include "minirun/engine/logs.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <deque>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/common/process.hpp"
#include "minirun/common/units.hpp"
#include "minirun/common/time.hpp"

namespace minirun::engine {

using json = nlohmann::json;

namespace {

class NoneSink : public LogSink {
public:
    void write(const std::string&, const std::string&) override {}
};

// Docker's json-file format, rotated when the file passes max-size.
class JsonFileSink : public LogSink {
public:
    JsonFileSink(std::string path, uint64_t max_size, int max_files)
        : path_(std::move(path)), max_size_(max_size), max_files_(max_files) {
        open();
    }
    void write(const std::string& stream, const std::string& line) override {
        std::string rec = json{{"log", line + "\n"}, {"stream", stream}, {"time", rfc3339_now()}}.dump() + "\n";
        if (max_size_ && size_ + rec.size() > max_size_ && size_ > 0) rotate();
        try {
            fs::write_all(fd_.get(), rec.data(), rec.size(), path_);
            size_ += rec.size();
        } catch (const Error&) {
            // Disk full (or gone): the log keeps every whole line it could write, a partial
            // one is cut off, and the container goes on; its supervisor must not die of it.
            (void)!::ftruncate(fd_.get(), static_cast<off_t>(size_));
        }
    }

private:
    void open() {
        fd_.reset(::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
        if (!fd_) throw_errno("open log " + path_);
        struct stat st {};
        ::fstat(fd_.get(), &st);
        size_ = static_cast<uint64_t>(st.st_size);
    }
    void rotate() {
        for (int i = max_files_ - 1; i >= 1; --i) {
            std::string from = i == 1 ? path_ : path_ + "." + std::to_string(i - 1);
            ::rename(from.c_str(), (path_ + "." + std::to_string(i)).c_str());
        }
        if (max_files_ <= 1) ::truncate(path_.c_str(), 0);
        open();
    }
    std::string path_;
    uint64_t max_size_;
    int max_files_;
    uint64_t size_ = 0;
    fs::UniqueFd fd_;
};

struct SyslogAddress {
    bool tcp = false;
    std::string host, port;
};

SyslogAddress parse_syslog_address(const std::string& a) {
    SyslogAddress out;
    std::string rest;
    if (a.rfind("udp://", 0) == 0) rest = a.substr(6);
    else if (a.rfind("tcp://", 0) == 0) out.tcp = true, rest = a.substr(6);
    else throw Error("invalid syslog-address \"" + a + "\": use udp://host:port or tcp://host:port");
    auto colon = rest.rfind(':');
    out.host = colon == std::string::npos ? rest : rest.substr(0, colon);
    out.port = colon == std::string::npos ? "514" : rest.substr(colon + 1);
    if (out.host.size() > 2 && out.host.front() == '[') out.host = out.host.substr(1, out.host.size() - 2);
    if (out.host.empty()) throw Error("invalid syslog-address \"" + a + "\": no host");
    if (out.port.empty() || out.port.size() > 5 || out.port.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(out.port) > 65535)
        throw Error("invalid syslog-address \"" + a + "\": bad port \"" + out.port + "\"");
    return out;
}

int facility_code(const std::string& f) {
    static const std::map<std::string, int> codes{{"kern", 0},    {"user", 1},    {"mail", 2},    {"daemon", 3},
                                                  {"auth", 4},    {"syslog", 5},  {"lpr", 6},     {"news", 7},
                                                  {"uucp", 8},    {"cron", 9},    {"authpriv", 10}, {"ftp", 11},
                                                  {"local0", 16}, {"local1", 17}, {"local2", 18}, {"local3", 19},
                                                  {"local4", 20}, {"local5", 21}, {"local6", 22}, {"local7", 23}};
    auto it = codes.find(f);
    if (it == codes.end()) throw Error("invalid syslog-facility \"" + f + "\"");
    return it->second;
}

// RFC 5424 messages; over tcp with octet-counting framing (RFC 6587).
// Each line to both: the remote driver and the local copy `logs` reads.
class TeeSink : public LogSink {
public:
    TeeSink(std::unique_ptr<LogSink> remote, std::unique_ptr<LogSink> local)
        : remote_(std::move(remote)), local_(std::move(local)) {}
    void write(const std::string& stream, const std::string& line) override {
        local_->write(stream, line);  // first: the copy survives a remote that throws
        remote_->write(stream, line);
    }

private:
    std::unique_ptr<LogSink> remote_, local_;
};

class SyslogSink : public LogSink {
public:
    SyslogSink(const std::map<std::string, std::string>& opts, std::string tag) : tag_(std::move(tag)) {
        auto a = opts.find("syslog-address");
        addr_ = parse_syslog_address(a == opts.end() ? "udp://127.0.0.1:514" : a->second);
        auto f = opts.find("syslog-facility");
        facility_ = facility_code(f == opts.end() ? "daemon" : f->second);
        char host[256] = "localhost";
        ::gethostname(host, sizeof host - 1);
        hostname_ = host;
    }
    void write(const std::string& stream, const std::string& line) override {
        int severity = stream == "stderr" ? 3 : 6;  // err / info
        std::string msg = "<" + std::to_string(facility_ * 8 + severity) + ">1 " + rfc3339_now() + " " +
                          hostname_ + " " + tag_ + " " + std::to_string(::getpid()) + " " + stream + " - " + line;
        for (int attempt = 0; attempt < 2; ++attempt) {
            if (!sock_) connect();
            std::string wire = addr_.tcp ? std::to_string(msg.size()) + " " + msg : msg;
            if (::send(sock_.get(), wire.data(), wire.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(wire.size())) return;
            sock_.reset();  // reconnect once (a restarted collector)
        }
    }

private:
    void connect() {
        sockaddr_storage sa{};
        socklen_t len = resolve(sa);
        fs::UniqueFd s(::socket(sa.ss_family, (addr_.tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0));
        int rc = s ? ::connect(s.get(), reinterpret_cast<sockaddr*>(&sa), len) : -1;
        if (rc != 0) throw_errno("syslog: connect to " + addr_.host + ":" + addr_.port);
        sock_ = std::move(s);
    }
    // Addresses are parsed here; names go through `getent ahosts` (the system's NSS): the
    // supervisor is a static binary, where glibc's own resolver would need the shared NSS
    // libraries of the exact glibc it was linked with.
    socklen_t resolve(sockaddr_storage& sa) const {
        std::string host = addr_.host;
        if (::inet_pton(AF_INET, host.c_str(), &sa) != 1 && ::inet_pton(AF_INET6, host.c_str(), &sa) != 1) {
            auto r = run_process({"getent", "ahosts", host});
            std::istringstream first(r.out);
            if (r.exit_code != 0 || !(first >> host)) throw Error("syslog: cannot resolve " + addr_.host);
        }
        int port = std::stoi(addr_.port);
        auto* v4 = reinterpret_cast<sockaddr_in*>(&sa);
        auto* v6 = reinterpret_cast<sockaddr_in6*>(&sa);
        sa = {};
        if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
            v4->sin_family = AF_INET;
            v4->sin_port = htons(static_cast<uint16_t>(port));
            return sizeof *v4;
        }
        if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
            v6->sin6_family = AF_INET6;
            v6->sin6_port = htons(static_cast<uint16_t>(port));
            return sizeof *v6;
        }
        throw Error("syslog: cannot resolve " + addr_.host);
    }
    SyslogAddress addr_;
    int facility_ = 3;
    std::string tag_, hostname_;
    fs::UniqueFd sock_;
};

const std::vector<std::string>& allowed_options(const std::string& driver) {
    static const std::vector<std::string> json_file{"max-size", "max-file", "tag", "labels", "env", "compress"};
    static const std::vector<std::string> syslog{"syslog-address", "syslog-facility", "tag", "syslog-format",
                                                 "syslog-tls-skip-verify", "cache-disabled", "cache-max-size",
                                                 "cache-max-file"};
    static const std::vector<std::string> none{};
    if (driver == "json-file") return json_file;
    if (driver == "syslog") return syslog;
    if (driver == "none") return none;
    throw Error("unknown log driver \"" + driver + "\": use json-file, syslog or none");
}

}  // namespace

void validate_log_options(const std::string& driver, const std::map<std::string, std::string>& opts) {
    auto& allowed = allowed_options(driver);
    for (auto& [k, v] : opts)
        if (std::find(allowed.begin(), allowed.end(), k) == allowed.end())
            throw Error("unknown log option \"" + k + "\" for log driver " + driver);
    if (auto it = opts.find("max-size"); it != opts.end()) parse_size(it->second, "--log-opt max-size");
    if (auto it = opts.find("syslog-address"); it != opts.end()) parse_syslog_address(it->second);
    if (auto it = opts.find("syslog-facility"); it != opts.end()) facility_code(it->second);
    if (auto it = opts.find("cache-max-size"); it != opts.end()) parse_size(it->second, "--log-opt cache-max-size");
    if (auto it = opts.find("cache-disabled"); it != opts.end() && it->second != "true" && it->second != "false")
        throw Error("cache-disabled \"" + it->second + "\": true or false");
    if (auto it = opts.find("syslog-format"); it != opts.end() && it->second != "rfc5424" && it->second != "rfc5424micro")
        throw Error("syslog-format \"" + it->second + "\" is not supported (rfc5424 is)");
}

std::unique_ptr<LogSink> make_log_sink(const std::string& driver, const std::map<std::string, std::string>& opts,
                                       const std::string& log_path, const std::string& container_id,
                                       const std::string& container_name) {
    validate_log_options(driver, opts);
    if (driver == "none") return std::make_unique<NoneSink>();
    if (driver == "syslog") {
        auto tag = opts.find("tag");
        auto syslog = std::make_unique<SyslogSink>(opts, tag == opts.end() ? container_id.substr(0, 12) : tag->second);
        auto disabled = opts.find("cache-disabled");
        if (disabled != opts.end() && disabled->second == "true") return syslog;
        // Docker's dual logging: a local copy that `logs` reads (20m × 5 unless set).
        uint64_t max_size = 20 << 20;
        int max_files = 5;
        if (auto it = opts.find("cache-max-size"); it != opts.end()) max_size = parse_size(it->second, "--log-opt cache-max-size");
        if (auto it = opts.find("cache-max-file"); it != opts.end()) max_files = std::max(1, std::atoi(it->second.c_str()));
        return std::make_unique<TeeSink>(std::move(syslog), std::make_unique<JsonFileSink>(log_path, max_size, max_files));
    }
    (void)container_name;
    uint64_t max_size = 0;
    int max_files = 1;
    if (auto it = opts.find("max-size"); it != opts.end()) max_size = parse_size(it->second, "--log-opt max-size");
    if (auto it = opts.find("max-file"); it != opts.end()) max_files = std::max(1, std::atoi(it->second.c_str()));
    return std::make_unique<JsonFileSink>(log_path, max_size, max_files);
}

void LineSplitter::feed(const char* data, size_t n) {
    partial_.append(data, n);
    size_t start = 0;
    for (size_t nl; (nl = partial_.find('\n', start)) != std::string::npos; start = nl + 1)
        sink_.write(stream_, partial_.substr(start, nl - start));
    partial_.erase(0, start);
    if (partial_.size() > 16384) flush();  // a very long line is split, as Docker does
}

void LineSplitter::flush() {
    if (!partial_.empty()) sink_.write(stream_, partial_);
    partial_.clear();
}

namespace {

// Seconds since the epoch of "2026-11-22T03:00:00.123Z", or of a duration ago ("10m").
double parse_since(const std::string& s) {
    if (s.empty()) return 0;
    char unit = s.back();
    if (std::isalpha(static_cast<unsigned char>(unit)) && s.find('T') == std::string::npos) {
        double n = std::atof(s.c_str());
        double mult = unit == 's' ? 1 : unit == 'm' ? 60 : unit == 'h' ? 3600 : unit == 'd' ? 86400 : -1;
        if (mult < 0) throw Error("invalid --since \"" + s + "\"");
        return static_cast<double>(std::time(nullptr)) - n * mult;
    }
    std::tm tm{};
    if (!::strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) {
        if (s.find_first_not_of("0123456789.") == std::string::npos) return std::atof(s.c_str());
        throw Error("invalid --since \"" + s + "\": use RFC 3339 or a duration such as 10m");
    }
    double frac = 0;
    if (auto dot = s.find('.'); dot != std::string::npos) frac = std::atof(("0" + s.substr(dot, s.find_first_not_of("0123456789", dot + 1) - dot)).c_str());
    return static_cast<double>(::timegm(&tm)) + frac;
}

struct LogLine {
    std::string stream, text, time;
};

bool parse_line(const std::string& raw, LogLine& out) {
    json j = json::parse(raw, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return false;
    out.stream = j.value("stream", "stdout");
    out.text = j.value("log", "");
    out.time = j.value("time", "");
    return true;
}

// One write(2) per line: a project's logs come from one process per container, and
// their lines must not cut into each other.
void emit(const LogLine& l, const LogReadOptions& o) {
    std::string line = o.prefix;
    if (o.timestamps) line += l.time + " ";
    line += l.text;
    try {
        fs::write_all(l.stream == "stderr" ? STDERR_FILENO : STDOUT_FILENO, line.data(), line.size(), "log output");
    } catch (const Error&) {
        // a closed pipe (| head): nothing more to say
    }
}

}  // namespace

void print_logs(const std::string& log_path, const LogReadOptions& o, bool (*still_running)(void*), void* arg) {
    double since = parse_since(o.since);
    std::vector<std::string> files;
    for (int i = 9; i >= 1; --i)
        if (access((log_path + "." + std::to_string(i)).c_str(), R_OK) == 0) files.push_back(log_path + "." + std::to_string(i));
    files.push_back(log_path);
    std::deque<LogLine> lines;
    auto keep = [&](const LogLine& l) {
        if (since > 0 && parse_since(l.time) < since) return;
        lines.push_back(l);
        if (o.tail >= 0 && static_cast<long>(lines.size()) > o.tail) lines.pop_front();
    };
    std::streampos end = 0;
    for (auto& f : files) {
        std::ifstream in(f);
        std::string raw;
        LogLine l;
        while (std::getline(in, raw))
            if (parse_line(raw, l)) keep(l);
        if (f == log_path) {
            in.clear();
            end = in.tellg();
        }
    }
    for (auto& l : lines) emit(l, o);
    if (!o.follow) return;
    // Follow: poll the file for appended lines until the container stops.
    std::ifstream in(log_path);
    if (end > 0) in.seekg(end);
    std::string raw, pending;
    for (;;) {
        bool running = still_running(arg);
        while (std::getline(in, raw)) {
            if (in.eof()) {  // a partial last line: wait for the rest
                pending += raw;
                break;
            }
            LogLine l;
            if (parse_line(pending + raw, l)) emit(l, o);
            pending.clear();
        }
        in.clear();
        if (!running) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
}

}  // namespace minirun::engine
