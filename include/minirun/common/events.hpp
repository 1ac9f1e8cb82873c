#pragma once
// `minirun events`: a local journal of lifecycle events (container create/start/die/…,
// image pull/tag/delete/…, volume and network create/destroy), one JSON line each in
// <storage>/events.jsonl, appended with one write(2) to an O_APPEND file so processes
// (CLI, supervisors, imgbuild) never interleave; past 8 MiB it rotates to events.jsonl.1.
// No daemon: `events` reads the journal, and follows it when no --until is given.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace minirun::events {

struct Event {
    std::string type;    // container, image, volume, network
    std::string action;  // create, start, die, stop, kill, destroy, rename, pull, tag, …
    std::string id;      // the actor: container id, image name or id, volume or network name
    std::map<std::string, std::string> attributes;  // name, image, exitCode, signal, …
    int64_t time_nano = 0;  // set by record() when 0
};

// Appends `e` to the storage's journal. Never throws: an event that cannot be written is
// not worth failing the operation it reports (it is logged at debug level).
void record(const std::filesystem::path& storage, Event e);

// Events with since <= time < until (nanoseconds since the epoch), oldest first, from the
// rotated file and the current one. Lines that are not events are skipped.
std::vector<Event> read(const std::filesystem::path& storage, int64_t since_nano, int64_t until_nano);

// Docker's JSON for an event: status, id, from, Type, Action, Actor{ID, Attributes},
// scope, time, timeNano.
std::string docker_json(const Event& e);

// Docker's text line: "2026-12-07T11:53:38.123456789Z container start ID (image=…, name=…)".
std::string docker_line(const Event& e);

// --filter KEY=VALUE as Docker combines them (one key's values: any; keys: all): type,
// event (the action), container (id prefix or name), image (name or id; a container's
// image too), label (K or K=V), volume, network. Throws Error(InvalidArgument) naming a
// bad one.
struct Filter {
    std::map<std::string, std::vector<std::string>> values;
};
Filter parse_filters(const std::vector<std::string>& args);
bool matches(const Filter& f, const Event& e);

// --since/--until: RFC 3339, Unix seconds (with a fraction), or a duration before now
// ("10m", "1h30m"); throws Error(InvalidArgument) naming the flag.
int64_t parse_event_time(const std::string& text, const std::string& flag);

}  // namespace minirun::events
