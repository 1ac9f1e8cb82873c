#pragma once
// Build secrets, as BuildKit has them: `imgbuild build --secret id=ID,src=FILE|env=VAR` hands
// a value to the RUN steps that ask for it with `RUN --mount=type=secret,id=ID`. The value is
// a file on a tmpfs bind-mounted for that step only (or an environment variable of it); it
// never reaches a layer, the cache key, the history or the image config.
#include <sys/types.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace minirun::imgbuild {

// Largest secret accepted (BuildKit's limit): a secret is a credential, not a payload.
inline constexpr size_t kMaxSecretSize = 500 * 1024;

// `--secret` values: "id=ID[,type=file|env][,src=FILE|source=FILE][,env=VAR]". Only an id:
// the environment variable of that name. Returns id -> value; throws naming the flag.
std::map<std::string, std::string> load_secrets(const std::vector<std::string>& specs);

// The options of one `RUN --mount=type=secret,...` (already split into key=value).
struct SecretMountSpec {
    std::string id;
    std::string target;  // empty: no file (env only)
    std::string env;     // set the value as this variable of the step
    bool required = false;
    mode_t mode = 0400;
    uid_t uid = 0;
    gid_t gid = 0;
};
// A number option of a RUN --mount (mode in octal: base 8; uid, gid: base 10) up to `max`;
// throws std::invalid_argument naming KEY=TEXT.
unsigned long parse_mount_number(const std::string& key, const std::string& text, int base, unsigned long max);

// Defaults as BuildKit: id = basename of target; target = /run/secrets/ID unless only env= is
// given. Throws std::invalid_argument on a bad value (the caller adds the file:line).
SecretMountSpec parse_secret_mount(const std::map<std::string, std::string>& kv);

// One secret written for a step: in /dev/shm when it is there (memory, never the store's disk),
// removed when destroyed.
class SecretFile {
public:
    SecretFile(const std::string& value, const SecretMountSpec& spec, const std::filesystem::path& fallback_dir);
    ~SecretFile();
    SecretFile(const SecretFile&) = delete;
    SecretFile& operator=(const SecretFile&) = delete;
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

}  // namespace minirun::imgbuild
