#pragma once
// `minirun apply`: make the host run exactly the services a Compose project declares.
// Idempotent: a container whose resolved configuration and image are unchanged is left
// alone (not even restarted); a change recreates only that service; services no longer
// declared are removed. Containers carry Compose's own labels (project, service,
// config-hash), so `ps --filter label=com.docker.compose.project=P` works as with Compose.
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "minirun/compose/project.hpp"
#include "minirun/engine/run_request.hpp"
#include "minirun/engine/container_store.hpp"
#include "minirun/registry/client.hpp"

namespace minirun::engine {
class Engine;
}

namespace minirun::compose {

struct ApplyOptions {
    std::string pull = "missing";  // missing | always | never
    bool build = false;            // rebuild images with a build: section
    bool dry_run = false;
    bool remove_orphans = true;
    std::vector<std::string> services;  // only these (and what they depend on); empty: all
    double wait_timeout_s = 120;        // for depends_on conditions
    registry::RegistryOptions registry;
    // Turns CDI device names (vendor.com/class=name in devices:) into device nodes, binds,
    // env and hooks before a container is created: the CLI's, as compose does not link the
    // CDI module. The config hash keeps the names, so a changed spec file alone recreates nothing.
    std::function<void(engine::RunRequest&)> resolve_devices;
};

struct ServiceAction {
    std::string service, container;
    std::string action;  // created | recreated (...) | started | unchanged | removed | failed
    std::string error;
};

struct ApplyResult {
    std::string project;
    std::vector<ServiceAction> actions;
    bool changed() const;
    bool ok() const;
    std::string to_json() const;
};

ApplyResult apply(engine::Engine& engine, const std::filesystem::path& storage, const Project& project,
                  const ApplyOptions& opts);

// `down`: stops and removes the project's containers (and, with `volumes`, its named
// volumes) and its networks.
ApplyResult down(engine::Engine& engine, const std::filesystem::path& storage, const std::string& project, bool volumes);

// The project's containers (running or not), by service.
std::map<std::string, engine::ContainerRecord> project_containers(engine::Engine& engine, const std::string& project);

// The name apply gives a service's container: container_name, else PROJECT-SERVICE-1.
std::string container_name(const Project& p, const Service& s);
// The run request apply makes for a service (its container's every setting).
engine::RunRequest run_request(const Project& p, const Service& s);

}  // namespace minirun::compose
