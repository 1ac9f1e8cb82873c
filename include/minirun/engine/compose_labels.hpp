#pragma once
// The labels Compose puts on a project's containers. `apply` writes them; `boot`, `ps -f`
// and `logs -f` read them.
namespace minirun::engine {

inline constexpr const char* kComposeProjectLabel = "com.docker.compose.project";
inline constexpr const char* kComposeServiceLabel = "com.docker.compose.service";

}  // namespace minirun::engine
