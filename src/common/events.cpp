#include "minirun/common/events.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/common/log.hpp"
#include "minirun/common/time.hpp"
#include "minirun/common/units.hpp"

namespace minirun::events {

namespace stdfs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr off_t kRotateBytes = 8 << 20;

int64_t now_nano() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

json to_json(const Event& e) {
    return {{"type", e.type}, {"action", e.action}, {"id", e.id}, {"attributes", e.attributes}, {"time", e.time_nano}};
}

void read_file_events(const stdfs::path& p, int64_t since, int64_t until, std::vector<Event>& out) {
    std::ifstream in(p);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] != '{') continue;  // not an event: no parse attempt
        json j = json::parse(line, nullptr, false);
        if (!j.is_object() || !j["time"].is_number_integer() || !j["type"].is_string() || !j["action"].is_string())
            continue;
        Event e;
        e.time_nano = j["time"].get<int64_t>();
        if (e.time_nano < since || e.time_nano >= until) continue;
        e.type = j["type"];
        e.action = j["action"];
        e.id = j.value("id", "");
        if (j["attributes"].is_object())
            for (auto& [k, v] : j["attributes"].items())
                if (v.is_string()) e.attributes[k] = v.get<std::string>();
        out.push_back(std::move(e));
    }
}

std::string nano_rfc3339(int64_t nano) {
    std::string secs = rfc3339_seconds(nano / 1000000000);  // "…T11:53:38Z"
    char frac[16];
    std::snprintf(frac, sizeof frac, ".%09lld", static_cast<long long>(nano % 1000000000));
    return secs.substr(0, secs.size() - 1) + frac + "Z";
}

}  // namespace

void record(const stdfs::path& storage, Event e) {
    try {
        if (e.time_nano == 0) e.time_nano = now_nano();
        std::string line = to_json(e).dump() + "\n";
        stdfs::path path = storage / "events.jsonl";
        fs::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600));
        if (!fd) throw_errno("open " + path.string());
        struct stat st {};
        if (::fstat(fd.get(), &st) == 0 && st.st_size > kRotateBytes) {
            // One process wins the rename; the others append to the file it moved, which
            // is still read as the rotated half.
            std::error_code ec;
            stdfs::rename(path, storage / "events.jsonl.1", ec);
            fd.reset(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600));
            if (!fd) throw_errno("open " + path.string());
        }
        fs::write_all(fd.get(), line.data(), line.size(), path.string());
    } catch (const std::exception& ex) {
        log::debug(std::string("event not recorded: ") + ex.what());
    }
}

std::vector<Event> read(const stdfs::path& storage, int64_t since_nano, int64_t until_nano) {
    std::vector<Event> out;
    read_file_events(storage / "events.jsonl.1", since_nano, until_nano, out);
    read_file_events(storage / "events.jsonl", since_nano, until_nano, out);
    return out;
}

std::string docker_json(const Event& e) {
    json j = {{"Type", e.type},
              {"Action", e.action},
              {"Actor", {{"ID", e.id}, {"Attributes", e.attributes}}},
              {"scope", "local"},
              {"time", e.time_nano / 1000000000},
              {"timeNano", e.time_nano}};
    if (e.type == "container") {  // Docker's older fields, still read by scripts
        j["status"] = e.action;
        j["id"] = e.id;
        if (auto it = e.attributes.find("image"); it != e.attributes.end()) j["from"] = it->second;
    }
    return j.dump();
}

std::string docker_line(const Event& e) {
    std::string attrs;
    for (auto& [k, v] : e.attributes) attrs += (attrs.empty() ? "" : ", ") + k + "=" + v;
    return nano_rfc3339(e.time_nano) + " " + e.type + " " + e.action + " " + e.id + (attrs.empty() ? "" : " (" + attrs + ")");
}

Filter parse_filters(const std::vector<std::string>& args) {
    static const std::vector<std::string> keys = {"type", "event", "container", "image", "label", "volume", "network"};
    Filter f;
    for (auto& a : args) {
        auto eq = a.find('=');
        std::string key = a.substr(0, eq);
        if (eq == std::string::npos || eq == 0 || std::find(keys.begin(), keys.end(), key) == keys.end())
            throw Error("invalid filter \"" + a + "\": use type, event, container, image, label, volume or network=VALUE",
                        ErrorKind::InvalidArgument);
        f.values[key].push_back(a.substr(eq + 1));
    }
    return f;
}

bool matches(const Filter& f, const Event& e) {
    auto attr = [&](const char* k) {
        auto it = e.attributes.find(k);
        return it == e.attributes.end() ? std::string() : it->second;
    };
    auto any = [&](const char* key, auto pred) {
        auto it = f.values.find(key);
        return it == f.values.end() || std::any_of(it->second.begin(), it->second.end(), pred);
    };
    return any("type", [&](const std::string& v) { return e.type == v; }) &&
           any("event", [&](const std::string& v) { return e.action == v; }) &&
           any("container", [&](const std::string& v) {
               return e.type == "container" && ((v.size() >= 4 && e.id.starts_with(v)) || attr("name") == v);
           }) &&
           any("image", [&](const std::string& v) {
               if (e.type == "image") return e.id == v || attr("name") == v;
               return e.type == "container" && attr("image") == v;
           }) &&
           any("label", [&](const std::string& v) {
               auto eq = v.find('=');
               auto it = e.attributes.find(v.substr(0, eq));
               return it != e.attributes.end() && (eq == std::string::npos || it->second == v.substr(eq + 1));
           }) &&
           any("volume", [&](const std::string& v) { return e.type == "volume" && e.id == v; }) &&
           any("network", [&](const std::string& v) { return e.type == "network" && (e.id == v || attr("name") == v); });
}

int64_t parse_event_time(const std::string& text, const std::string& flag) {
    auto bad = [&] {
        return Error("invalid " + flag + " \"" + text + "\": use an RFC 3339 time, Unix seconds or a duration (10m)",
                     ErrorKind::InvalidArgument);
    };
    if (text.empty()) throw bad();
    if (auto t = parse_rfc3339(text)) return *t * 1000000000;
    if (text.find_first_not_of("0123456789.") == std::string::npos) {
        auto dot = text.find('.');
        if (text.find('.', dot == std::string::npos ? dot : dot + 1) != std::string::npos) throw bad();
        int64_t secs = std::stoll(text.substr(0, dot));
        int64_t nanos = 0;
        if (dot != std::string::npos) {
            std::string frac = text.substr(dot + 1, 9);
            frac.resize(9, '0');
            nanos = std::stoll(frac);
        }
        return secs * 1000000000 + nanos;
    }
    try {
        return now_nano() - parse_duration_ns(text, flag);
    } catch (const Error&) {
        throw bad();
    }
}

}  // namespace minirun::events
