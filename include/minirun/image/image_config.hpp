#pragma once
// The image config (OCI image-spec config.json, with Docker's extra fields), typed: one
// model read by pull, the store, `run`, `inspect` and the system check.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "minirun/image/manifest.hpp"

namespace minirun::image {

// Docker's HEALTHCHECK as the config stores it: durations in nanoseconds, 0 = the default.
struct Healthcheck {
    std::vector<std::string> test;  // ["CMD", …], ["CMD-SHELL", "…"] or ["NONE"]
    int64_t interval_ns = 0, timeout_ns = 0, start_period_ns = 0, start_interval_ns = 0;
    int retries = 0;
    bool operator==(const Healthcheck&) const = default;
};

// The "config" object: what a container made from the image starts with.
struct ContainerConfig {
    std::string user;
    std::vector<std::string> exposed_ports;  // "80/tcp", sorted
    std::vector<std::string> env;            // KEY=VALUE
    std::vector<std::string> entrypoint, cmd;
    std::vector<std::string> volumes;        // "/data", sorted
    std::string working_dir;
    std::map<std::string, std::string> labels;
    std::string stop_signal;
    std::optional<Healthcheck> healthcheck;  // Docker
    std::vector<std::string> on_build;       // Docker: ONBUILD triggers
    std::vector<std::string> shell;          // Docker: SHELL
    bool args_escaped = false;               // Docker (Windows); kept so it round-trips
    bool operator==(const ContainerConfig&) const = default;
};

struct HistoryEntry {
    std::string created, created_by, author, comment;
    bool empty_layer = false;
    bool operator==(const HistoryEntry&) const = default;
};

struct ImageConfig {
    Platform platform;  // os, architecture, variant
    std::string created, author;
    ContainerConfig config;
    std::vector<std::string> diff_ids;  // rootfs.diff_ids, bottom first
    std::vector<HistoryEntry> history;
};

// Strict where the store depends on it (rootfs.diff_ids must be digests), lenient where
// images in the wild vary (a field of the wrong type reads as absent). Throws
// Error("malformed image config: …").
ImageConfig parse_image_config(std::string_view json);
// The "config" object as JSON text, in the field names and shape Docker's inspect uses.
std::string container_config_json(const ContainerConfig& c);
// `c` written over a "config" object (JSON text) that may hold fields the typed model
// does not know (Hostname, Tty, …): those pass through, c's own fields replace the rest.
std::string merge_container_config(std::string_view config_object, const ContainerConfig& c);
// The whole document as JSON text; parse_image_config(image_config_json(c)) == c.
std::string image_config_json(const ImageConfig& c);
// `c` written over a whole config document (JSON text): c's fields replace the document's
// (its "config" through merge_container_config); keys the model does not know pass through.
std::string merge_image_config(std::string_view document, const ImageConfig& c);

}  // namespace minirun::image
