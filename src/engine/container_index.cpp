#include "minirun/engine/container_index.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <ctime>

#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"

namespace minirun::engine {

namespace stdfs = std::filesystem;

namespace {

// Names are validated at create ([a-zA-Z0-9][a-zA-Z0-9_.-]*); anything else (a record
// from elsewhere) is simply not indexed rather than turned into a path.
bool indexable(const std::string& name) {
    return !name.empty() && name.size() < NAME_MAX && name.find('/') == std::string::npos && name != "." && name != "..";
}

// The index hands out only what can be a container id, so callers may use it as a path.
bool container_id(const std::string& s) {
    return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// The id an entry points at, "" for none or for anything that is not an id.
std::string read_link(const stdfs::path& link) {
    char buf[PATH_MAX];
    ssize_t n = ::readlink(link.c_str(), buf, sizeof buf - 1);
    std::string target = n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
    return container_id(target) ? target : std::string();
}

long link_age_seconds(const stdfs::path& link) {
    struct stat st {};
    if (::lstat(link.c_str(), &st) != 0) return 0;
    return static_cast<long>(std::time(nullptr) - st.st_mtime);
}

}  // namespace

ContainerIndex::ContainerIndex(stdfs::path root)
    : root_(std::move(root)), names_(root_ / "names"), auto_remove_(root_ / "auto-remove") {}

bool ContainerIndex::built() const { return ::access((root_ / "built").c_str(), F_OK) == 0; }

void ContainerIndex::build(const std::vector<Entry>& records) const {
    fs::mkdir_p(names_);
    fs::mkdir_p(auto_remove_);
    fs::FileLock guard(root_ / "lock");
    if (built()) return;
    for (const auto& r : records) {
        if (indexable(r.name) && ::symlink(r.id.c_str(), (names_ / r.name).c_str()) != 0 && errno != EEXIST)
            throw_errno("index container name " + r.name);
        if (r.auto_remove) mark_auto_remove(r.id);
    }
    fs::write_file_atomic(root_ / "built", "1\n", 0644);
}

std::string ContainerIndex::name_owner(const std::string& name) const {
    return indexable(name) ? read_link(names_ / name) : std::string();
}

std::string ContainerIndex::reserve_name(const std::string& name, const std::string& id, const HoldsName& holds) const {
    if (!indexable(name)) throw Error("invalid container name \"" + name + "\"", ErrorKind::InvalidArgument);
    stdfs::path link = names_ / name;
    if (::symlink(id.c_str(), link.c_str()) == 0) return "";
    if (errno != EEXIST) throw_errno("reserve container name " + name);
    // Replacing a stale entry is unlink then symlink: under the lock, so two replacers
    // cannot each remove the other's fresh entry.
    fs::FileLock guard(root_ / "lock");
    for (int attempt = 0; attempt < 3; ++attempt) {
        std::string owner = read_link(link);
        if (owner == id) return "";
        if (!owner.empty()) {
            if (holds(owner, link_age_seconds(link))) return owner;
            ::unlink(link.c_str());
        }
        if (::symlink(id.c_str(), link.c_str()) == 0) return "";
        if (errno != EEXIST) throw_errno("reserve container name " + name);
    }
    return read_link(link);
}

std::string ContainerIndex::holder(const std::string& name, const HoldsName& holds) const {
    std::string owner = name_owner(name);
    return !owner.empty() && holds(owner, link_age_seconds(names_ / name)) ? owner : std::string();
}

void ContainerIndex::release_name(const std::string& name, const std::string& id) const {
    if (!indexable(name) || name_owner(name) != id) return;
    fs::FileLock guard(root_ / "lock");
    if (name_owner(name) == id) ::unlink((names_ / name).c_str());
}

void ContainerIndex::release_names_of(const std::string& id) const {
    fs::FileLock guard(root_ / "lock");
    std::error_code ec;
    for (auto& e : stdfs::directory_iterator(names_, ec))
        if (read_link(e.path()) == id) ::unlink(e.path().c_str());
}

void ContainerIndex::mark_auto_remove(const std::string& id) const {
    fs::mkdir_p(auto_remove_);
    fs::UniqueFd fd(::open((auto_remove_ / id).c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
    if (!fd) throw_errno("mark container " + id + " for removal at exit");
}

void ContainerIndex::unmark_auto_remove(const std::string& id) const { ::unlink((auto_remove_ / id).c_str()); }

std::vector<std::string> ContainerIndex::auto_remove_ids() const {
    std::vector<std::string> out;
    std::error_code ec;
    for (auto& e : stdfs::directory_iterator(auto_remove_, ec))
        if (container_id(e.path().filename())) out.push_back(e.path().filename());
    return out;
}

}  // namespace minirun::engine
