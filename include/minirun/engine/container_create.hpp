#pragma once
// The run-spec builder: a RunRequest and its image become a created container, with its
// record saved, its rootfs mounted, its volumes made (and seeded from the image), and the
// runtime's config.json written. Nothing runs yet: a Supervisor starts it.
#include <filesystem>

#include "minirun/common/error.hpp"
#include "minirun/engine/container_store.hpp"
#include "minirun/engine/run_request.hpp"
#include "minirun/registry/client.hpp"

namespace minirun::engine {

// The request cannot make a container, and Docker has an exit status for why (125).
class CreateRefused : public Error {
public:
    CreateRefused(const std::string& message, int status) : Error(message, ErrorKind::InvalidArgument), status(status) {}
    int status;
};

// Pulls the image as req.pull says (registry::ensure_image), checks the options, and
// creates the container. Throws Error (CreateRefused for what Docker answers with an exit
// status) and leaves no record, mount or directory behind.
ContainerRecord create_container(const std::filesystem::path& storage, const registry::RegistryOptions& registry,
                                 ContainerStore& containers, const RunRequest& req);

}  // namespace minirun::engine
