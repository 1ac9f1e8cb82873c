// Build secrets: parsing `--secret` and `RUN --mount=type=secret`, and the per-step file.
#include "minirun/imgbuild/secrets.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <sstream>
#include <stdexcept>

#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"

namespace minirun::imgbuild {
namespace {

constexpr long kTmpfsMagic = 0x01021994;

std::map<std::string, std::string> split_options(const std::string& spec) {
    std::map<std::string, std::string> kv;
    std::stringstream in(spec);
    for (std::string part; std::getline(in, part, ',');) {
        auto eq = part.find('=');
        kv[part.substr(0, eq)] = eq == std::string::npos ? "" : part.substr(eq + 1);
    }
    return kv;
}

std::string read_secret_file(const std::string& flag, const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) throw Error(flag + ": " + path + ": " + std::strerror(errno));
    if (!S_ISREG(st.st_mode)) throw Error(flag + ": " + path + " is not a regular file");
    if (static_cast<uint64_t>(st.st_size) > kMaxSecretSize)
        throw Error(flag + ": " + path + " is larger than " + std::to_string(kMaxSecretSize / 1024) + " KiB");
    return fs::read_file(path, kMaxSecretSize);
}

}  // namespace

unsigned long parse_mount_number(const std::string& key, const std::string& text, int base, unsigned long max) {
    char* end = nullptr;
    errno = 0;
    unsigned long v = std::strtoul(text.c_str(), &end, base);
    if (text.empty() || *end || errno || v > max) throw std::invalid_argument(key + "=" + text + " is not a valid value");
    return v;
}

namespace {

bool is_tmpfs(const std::filesystem::path& dir) {
    struct statfs sf {};
    return ::statfs(dir.c_str(), &sf) == 0 && sf.f_type == kTmpfsMagic && ::access(dir.c_str(), W_OK) == 0;
}

}  // namespace

std::map<std::string, std::string> load_secrets(const std::vector<std::string>& specs) {
    std::map<std::string, std::string> out;
    for (auto& spec : specs) {
        std::string flag = "--secret " + spec;
        auto kv = split_options(spec);
        for (auto& [k, v] : kv)
            if (k != "id" && k != "type" && k != "src" && k != "source" && k != "env")
                throw Error(flag + ": unknown option " + k + " (use id, type, src or env)");
        std::string id = kv["id"];
        if (id.empty() || id.find('/') != std::string::npos) throw Error(flag + ": needs id=NAME (no '/')");
        std::string src = kv.count("src") ? kv["src"] : kv["source"];
        std::string type = kv["type"];
        if (type.empty()) type = !src.empty() ? "file" : "env";
        if (type == "file") {
            if (src.empty()) throw Error(flag + ": type=file needs src=FILE");
            out[id] = read_secret_file(flag, src);
        } else if (type == "env") {
            std::string var = !kv["env"].empty() ? kv["env"] : !src.empty() ? src : id;
            const char* v = std::getenv(var.c_str());
            if (!v) throw Error(flag + ": the environment variable " + var + " is not set");
            if (std::string_view(v).size() > kMaxSecretSize) throw Error(flag + ": " + var + " is too large");
            out[id] = v;
        } else {
            throw Error(flag + ": type=" + type + " (use file or env)");
        }
    }
    return out;
}

SecretMountSpec parse_secret_mount(const std::map<std::string, std::string>& kv) {
    SecretMountSpec s;
    for (auto& [k, v] : kv) {
        if (k == "type") continue;
        if (k == "id") s.id = v;
        else if (k == "target" || k == "dst" || k == "destination") s.target = v;
        else if (k == "env") s.env = v;
        else if (k == "required") s.required = v == "true";
        else if (k == "mode") s.mode = static_cast<mode_t>(parse_mount_number(k, v, 8, 07777));
        else if (k == "uid") s.uid = static_cast<uid_t>(parse_mount_number(k, v, 10, 0xfffffffe));
        else if (k == "gid") s.gid = static_cast<gid_t>(parse_mount_number(k, v, 10, 0xfffffffe));
        else throw std::invalid_argument("unknown option " + k + " for type=secret");
    }
    if (s.id.empty() && !s.target.empty()) s.id = std::filesystem::path(s.target).filename().string();
    if (s.id.empty()) throw std::invalid_argument("type=secret needs id= or target=");
    if (s.id.find('/') != std::string::npos) throw std::invalid_argument("secret id " + s.id + " contains '/'");
    if (s.target.empty() && s.env.empty()) s.target = "/run/secrets/" + s.id;
    return s;
}

SecretFile::SecretFile(const std::string& value, const SecretMountSpec& spec, const std::filesystem::path& fallback_dir) {
    std::filesystem::path dir = is_tmpfs("/dev/shm") ? std::filesystem::path("/dev/shm") : fallback_dir;
    path_ = dir / (std::string(fs::kTempPrefix) + "imgbuild-secret-" + fs::unique_suffix());
    fs::UniqueFd fd(::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd) throw_errno("create secret file " + path_.string());
    try {
        fs::write_all(fd.get(), value.data(), value.size(), "secret " + spec.id);
        if (::fchown(fd.get(), spec.uid, spec.gid) != 0) throw_errno("chown secret " + spec.id);
        if (::fchmod(fd.get(), spec.mode) != 0) throw_errno("chmod secret " + spec.id);
    } catch (...) {
        ::unlink(path_.c_str());
        throw;
    }
}

SecretFile::~SecretFile() { ::unlink(path_.c_str()); }

}  // namespace minirun::imgbuild
