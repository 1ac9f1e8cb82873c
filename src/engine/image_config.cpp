#include "minirun/engine/image_config.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"

namespace minirun::engine {

using json = nlohmann::json;

namespace {

bool is_number(const std::string& s) { return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos; }

// Lines of a colon-separated database file inside the rootfs (missing file → none).
std::vector<std::vector<std::string>> read_db(const std::string& rootfs, const char* file) {
    std::vector<std::vector<std::string>> rows;
    std::string text;
    try {
        // Resolve like the container would: a symlinked /etc/passwd must stay inside.
        text = fs::read_file_in_root(rootfs, file);
    } catch (const Error&) {
        return rows;
    }
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::vector<std::string> cols;
        std::string col;
        std::istringstream ls(line);
        while (std::getline(ls, col, ':')) cols.push_back(col);
        if (!line.empty() && line.back() == ':') cols.emplace_back();
        rows.push_back(cols);
    }
    return rows;
}

}  // namespace

std::optional<HealthConfig> health_from_image(const std::optional<image::Healthcheck>& h) {
    if (!h || h->test.empty()) return std::nullopt;
    HealthConfig hc;
    hc.test = h->test;
    // Docker's zero means "inherit the default"
    auto or_default = [](int64_t v, int64_t dflt) { return v > 0 ? v : dflt; };
    hc.interval_ns = or_default(h->interval_ns, hc.interval_ns);
    hc.timeout_ns = or_default(h->timeout_ns, hc.timeout_ns);
    hc.start_period_ns = or_default(h->start_period_ns, hc.start_period_ns);
    hc.start_interval_ns = or_default(h->start_interval_ns, hc.start_interval_ns);
    hc.retries = h->retries > 0 ? h->retries : hc.retries;
    return hc;
}

bool has_env(const std::vector<std::string>& env, const std::string& key) {
    for (auto& e : env)
        if (e.rfind(key + "=", 0) == 0) return true;
    return false;
}

void check_user_spec(const std::string& spec) {
    std::string user = spec.substr(0, spec.find(':'));
    std::string group = spec.find(':') == std::string::npos ? "" : spec.substr(spec.find(':') + 1);
    if (spec.find(':') != std::string::npos && (user.empty() || group.empty()))
        throw Error("invalid user \"" + spec + "\": expected user[:group]");
    for (auto* part : {&user, &group})
        if (is_number(*part) && (part->size() > 10 || std::stoull(*part) > kMaxId))
            throw Error("invalid user \"" + spec + "\": id " + *part + " is outside the range 0-" + std::to_string(kMaxId));
}

unsigned resolve_group(const std::string& rootfs, const std::string& group) {
    for (auto& row : read_db(rootfs, "/etc/group"))
        if (row.size() >= 3 && (row[0] == group || (is_number(group) && row[2] == group)))
            return static_cast<unsigned>(std::stoul(row[2]));
    if (!is_number(group) || group.size() > 10 || std::stoull(group) > kMaxId)
        throw Error("unable to find group " + group + ": no matching entries in group file", ErrorKind::InvalidArgument);
    return static_cast<unsigned>(std::stoul(group));
}

ResolvedUser resolve_user(const std::string& rootfs, const std::string& given) {
    ResolvedUser u;
    // No user means root, looked up like any other (HOME=/root, root's groups), as Docker.
    std::string spec = given.empty() ? "0" : given;
    check_user_spec(spec);
    std::string user = spec.substr(0, spec.find(':'));
    std::string group = spec.find(':') == std::string::npos ? "" : spec.substr(spec.find(':') + 1);
    auto passwd = read_db(rootfs, "/etc/passwd");
    auto groups = read_db(rootfs, "/etc/group");
    bool found = false;
    for (auto& row : passwd) {
        if (row.size() < 4) continue;
        if (row[0] == user || (is_number(user) && row[2] == user)) {
            u.uid = static_cast<unsigned>(std::stoul(row[2]));
            u.gid = static_cast<unsigned>(std::stoul(row[3]));
            if (row.size() > 5 && !row[5].empty()) u.home = row[5];
            found = true;
            break;
        }
    }
    if (!found) {
        if (!is_number(user)) throw Error("unable to find user " + user + ": no matching entries in passwd file");
        u.uid = static_cast<unsigned>(std::stoul(user));
    }
    if (!group.empty()) {
        bool gfound = false;
        for (auto& row : groups) {
            if (row.size() < 3) continue;
            if (row[0] == group || (is_number(group) && row[2] == group)) {
                u.gid = static_cast<unsigned>(std::stoul(row[2]));
                gfound = true;
                break;
            }
        }
        if (!gfound) {
            if (!is_number(group)) throw Error("unable to find group " + group + ": no matching entries in group file");
            u.gid = static_cast<unsigned>(std::stoul(group));
        }
    }
    // Supplementary groups: the primary gid, then every group listing the user by name
    // (Docker's behaviour; `id` inside prints the same). A group given explicitly
    // (user:group) replaces them all, as runc's GetExecUser does for Docker.
    u.additional_gids.push_back(u.gid);
    if (!group.empty()) return u;
    std::string name = found ? user : "";
    for (auto& row : passwd)
        if (row.size() >= 3 && row[2] == std::to_string(u.uid)) name = row[0];
    for (auto& row : groups) {
        if (row.size() < 4 || name.empty()) continue;
        std::istringstream members(row[3]);
        std::string m;
        while (std::getline(members, m, ','))
            if (m == name) {
                unsigned g = static_cast<unsigned>(std::stoul(row[2]));
                if (std::find(u.additional_gids.begin(), u.additional_gids.end(), g) == u.additional_gids.end())
                    u.additional_gids.push_back(g);
            }
    }
    return u;
}

}  // namespace minirun::engine
