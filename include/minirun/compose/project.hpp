#pragma once
// A Compose file (compose.yaml / docker-compose.yml), the subset these deployments use,
// loaded into plain structs: interpolated (${VAR}, ${VAR:-d}, ${VAR:?err} from the
// environment and a .env file beside it), validated (unknown keys are errors with
// file:line:col), with services in dependency order. No YAML type leaks out of here.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "minirun/engine/health_config.hpp"

namespace minirun::compose {

struct BuildSpec {
    std::string context = ".";  // absolute after loading
    std::string dockerfile;     // relative to the context; empty: the builder's default
    std::vector<std::string> args;  // KEY=VALUE
    std::string target;
};

struct Dependency {
    std::string service;
    std::string condition = "service_started";  // service_healthy | service_completed_successfully
    bool required = true;
};

struct Service {
    std::string name;
    std::string image;  // empty with build: PROJECT-SERVICE
    std::optional<BuildSpec> build;
    std::optional<std::vector<std::string>> command, entrypoint;
    std::vector<std::string> environment;  // KEY=VALUE, in file order (env_file first)
    std::vector<std::string> ports;        // docker -p syntax
    std::vector<std::string> volumes;      // docker -v syntax (named volumes already project-prefixed)
    std::vector<std::string> tmpfs;        // docker --tmpfs syntax
    std::map<std::string, std::vector<std::string>> networks;  // network (full name) → aliases
    std::string restart = "no";
    std::vector<Dependency> depends_on;
    // Compose's defaults filled in (interval 30s, timeout 30s, start interval 5s, retries 3).
    std::optional<engine::HealthOverride> healthcheck;
    std::map<std::string, std::string> labels;
    std::string log_driver;
    std::map<std::string, std::string> log_options;
    std::string user, working_dir, hostname, container_name;
    std::vector<std::string> extra_hosts;  // host:ip
    std::string mem_limit, cpus;
    std::optional<int64_t> pids_limit;
    bool read_only = false, init = false, privileged = false;
    std::vector<std::string> cap_add, cap_drop;
    std::string stop_signal;
    std::optional<int> stop_grace_period_s;
    std::vector<std::string> profiles;  // only with one of these enabled (Compose's profiles)
    // Resource and process keys, in the run flags' syntax (--ulimit, --sysctl, --device, …).
    std::vector<std::string> ulimits, sysctls, group_add, devices, device_cgroup_rules, dns, dns_search, dns_options;
    std::string shm_size, cpuset, mem_reservation, memswap_limit;
    std::optional<int64_t> cpu_shares;
    std::optional<int> oom_score_adj;
};

struct NetworkSpec {
    std::string name;  // the real name: PROJECT_KEY unless `name:` or external
    bool external = false;
};

struct VolumeSpec {
    std::string name;
    bool external = false;
};

struct Project {
    std::string name;
    std::filesystem::path file, dir;
    std::vector<Service> services;  // dependencies before dependents
    std::vector<std::string> disabled_services;  // in profiles not enabled: not orphans either
    std::map<std::string, NetworkSpec> networks;  // by key in the file ("default" included when used)
    std::map<std::string, VolumeSpec> volumes;
    std::vector<std::string> warnings;  // keys Compose itself ignores, with file:line:col
};

struct LoadOptions {
    std::string project_name;  // -p; else `name:`, else $COMPOSE_PROJECT_NAME, else the dir
    std::map<std::string, std::string> environment;  // the caller's environment
    std::vector<std::string> profiles;  // --profile; else $COMPOSE_PROFILES (comma list); "*": all
};

// Throws minirun::Error("FILE:LINE:COL: what") on invalid input.
Project load_project(const std::filesystem::path& file, const LoadOptions& opts);

// This process's environment, for LoadOptions::environment.
std::map<std::string, std::string> process_environment();

// The project name of `file` as commands on a whole project see it (down, ps -f, logs -f):
// the caller's environment, every profile.
std::string project_name_of(const std::filesystem::path& file);

// The Compose file in `dir` by Compose's names (compose.yaml, compose.yml,
// docker-compose.yaml, docker-compose.yml); throws when there is none.
std::filesystem::path find_compose_file(const std::filesystem::path& dir);

// Project names as Compose normalises them: lowercase, [a-z0-9_-], starting with a
// letter or digit.
std::string normalize_project_name(const std::string& raw);

// Docker's duration syntax ("1m30s", "500ms", "10s", "2h"); throws on junk.
double parse_duration_seconds(const std::string& text);

}  // namespace minirun::compose
