// ps and images filters (Docker's daemon/list.go and image list filters, as users see them).
#include "minirun/engine/list_filters.hpp"

#include <fnmatch.h>

#include <algorithm>

#include "minirun/common/error.hpp"
#include "minirun/image/reference.hpp"

namespace minirun::engine {

namespace {

[[noreturn]] void invalid(const std::string& what) { throw Error(what, ErrorKind::InvalidArgument); }

std::map<std::string, std::vector<std::string>> split_filters(const std::vector<std::string>& args,
                                                              const std::vector<std::string>& keys) {
    std::map<std::string, std::vector<std::string>> out;
    for (auto& a : args) {
        auto eq = a.find('=');
        if (eq == std::string::npos || eq == 0) invalid("bad format of filter \"" + a + "\" (expected name=value)");
        std::string key = a.substr(0, eq);
        if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
            std::string list;
            for (auto& k : keys) list += (list.empty() ? "" : ", ") + k;
            invalid("invalid filter \"" + key + "\" (valid: " + list + ")");
        }
        out[key].push_back(a.substr(eq + 1));
    }
    return out;
}

void check_values(const std::map<std::string, std::vector<std::string>>& f, const std::string& key,
                  const std::vector<std::string>& allowed) {
    auto it = f.find(key);
    if (it == f.end()) return;
    for (auto& v : it->second)
        if (std::find(allowed.begin(), allowed.end(), v) == allowed.end()) {
            std::string list;
            for (auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
            invalid("invalid filter \"" + key + "=" + v + "\" (" + key + " is one of " + list + ")");
        }
}

// label=K or label=K=V against a label map: every one must hold.
bool labels_match(const std::vector<std::string>& wanted, const std::map<std::string, std::string>& labels) {
    for (auto& w : wanted) {
        auto eq = w.find('=');
        auto it = labels.find(w.substr(0, eq));
        if (it == labels.end()) return false;
        if (eq != std::string::npos && it->second != w.substr(eq + 1)) return false;
    }
    return true;
}

template <class Pred>
bool any_of_values(const std::map<std::string, std::vector<std::string>>& f, const std::string& key, Pred pred) {
    auto it = f.find(key);
    if (it == f.end()) return true;
    return std::any_of(it->second.begin(), it->second.end(), pred);
}

}  // namespace

ContainerFilters parse_container_filters(const std::vector<std::string>& args) {
    ContainerFilters f;
    f.values = split_filters(args, {"id", "name", "label", "status", "ancestor", "network", "volume", "health", "exited",
                                    "before", "since"});
    check_values(f.values, "status", {"created", "restarting", "running", "removing", "paused", "exited", "dead"});
    check_values(f.values, "health", {"starting", "healthy", "unhealthy", "none"});
    if (auto it = f.values.find("exited"); it != f.values.end())
        for (auto& v : it->second)
            if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos)
                invalid("invalid filter \"exited=" + v + "\" (an exit code is a number)");
    if (auto it = f.values.find("name"); it != f.values.end())
        for (auto& v : it->second) {
            auto compiled = std::make_unique<regex_t>();
            if (int rc = ::regcomp(compiled.get(), v.c_str(), REG_EXTENDED | REG_NOSUB); rc != 0) {
                char msg[128];
                ::regerror(rc, compiled.get(), msg, sizeof msg);
                invalid("invalid filter \"name=" + v + "\": " + msg);
            }
            std::shared_ptr<regex_t> re(compiled.release(), [](regex_t* r) {
                ::regfree(r);
                delete r;
            });
            f.names.push_back(std::move(re));
        }
    return f;
}

bool matches(const ContainerFilters& f, const ContainerRecord& r, const ContainerFacts& facts) {
    const auto& v = f.values;
    if (!any_of_values(v, "id", [&](const std::string& id) { return r.id.rfind(id, 0) == 0; })) return false;
    if (!f.names.empty() &&
        std::none_of(f.names.begin(), f.names.end(), [&](const std::shared_ptr<regex_t>& re) {
            return ::regexec(re.get(), r.name.c_str(), 0, nullptr, 0) == 0;
        }))
        return false;
    if (auto it = v.find("label"); it != v.end() && !labels_match(it->second, r.labels)) return false;
    if (!any_of_values(v, "status", [&](const std::string& s) { return r.status == s; })) return false;
    if (!any_of_values(v, "exited", [&](const std::string& s) {
            return r.status == "exited" && std::to_string(r.exit_code) == s;
        }))
        return false;
    auto on_network = [&](const std::string& n) {
        auto names = network_names(r);
        return std::find(names.begin(), names.end(), n) != names.end();
    };
    if (!any_of_values(v, "network", on_network)) return false;
    if (!any_of_values(v, "volume", [&](const std::string& vol) {
            if (std::find(r.volumes.begin(), r.volumes.end(), vol) != r.volumes.end()) return true;
            // or a mount's destination: "src:dst[:opts]"
            return std::any_of(r.mounts.begin(), r.mounts.end(), [&](const std::string& m) {
                auto a = m.find(':');
                if (a == std::string::npos) return m == vol;
                auto b = m.find(':', a + 1);
                return m.substr(a + 1, b == std::string::npos ? std::string::npos : b - a - 1) == vol;
            });
        }))
        return false;
    if (v.count("health")) {
        std::string h = facts.health ? facts.health(r) : "";
        if (!any_of_values(v, "health", [&](const std::string& want) { return (h.empty() ? "none" : h) == want; }))
            return false;
    }
    if (!any_of_values(v, "ancestor", [&](const std::string& a) {
            if (r.image == a || r.image_name == a) return true;
            auto id = facts.image_id ? facts.image_id(a) : std::nullopt;
            if (id && *id == r.image_id) return true;
            // an id prefix, with or without "sha256:"
            std::string hex = r.image_id.rfind("sha256:", 0) == 0 ? r.image_id.substr(7) : r.image_id;
            std::string want = a.rfind("sha256:", 0) == 0 ? a.substr(7) : a;
            return want.size() >= 4 && want.find_first_not_of("0123456789abcdef") == std::string::npos &&
                   hex.rfind(want, 0) == 0;
        }))
        return false;
    for (const char* key : {"before", "since"}) {
        auto it = v.find(key);
        if (it == v.end()) continue;
        for (auto& other : it->second) {
            ContainerRecord o = facts.container(other);
            bool ok = std::string(key) == "before" ? r.created < o.created : r.created > o.created;
            if (!ok) return false;
        }
    }
    return true;
}

ImageFilters parse_image_filters(const std::vector<std::string>& args) {
    ImageFilters f;
    f.values = split_filters(args, {"reference", "dangling", "label", "before", "since"});
    check_values(f.values, "dangling", {"true", "false", "1", "0"});
    return f;
}

bool matches(const ImageFilters& f, const image::ImageSummary& img, const std::vector<image::ImageSummary>& all) {
    const auto& v = f.values;
    bool dangling = img.name.empty();
    if (!any_of_values(v, "dangling", [&](const std::string& d) { return (d == "true" || d == "1") == dangling; }))
        return false;
    // reference=: a glob over the repository, or repository:tag ('*' stops at '/').
    if (!any_of_values(v, "reference", [&](const std::string& pattern) {
            if (dangling) return false;
            // Docker matches the short form; the full name (docker.io/…) as podman does too.
            std::string tag_suffix = ":" + img.tag;
            std::string full_repo = img.name.ends_with(tag_suffix)
                                        ? img.name.substr(0, img.name.size() - tag_suffix.size())
                                        : img.name;
            for (const std::string& candidate :
                 {img.repository, img.repository + tag_suffix, full_repo, full_repo + tag_suffix})
                if (::fnmatch(pattern.c_str(), candidate.c_str(), FNM_PATHNAME) == 0) return true;
            return false;
        }))
        return false;
    if (auto it = v.find("label"); it != v.end() && !labels_match(it->second, img.labels)) return false;
    for (const char* key : {"before", "since"}) {
        auto it = v.find(key);
        if (it == v.end()) continue;
        for (auto& other : it->second) {
            std::string want = other.rfind("sha256:", 0) == 0 ? other : "sha256:" + other;
            auto ref = std::find_if(all.begin(), all.end(), [&](const image::ImageSummary& s) {
                if (!s.name.empty() && (s.name == other || s.repository + ":" + s.tag == other)) return true;
                try {
                    if (!s.name.empty() && s.name == image::Reference::parse(other).str()) return true;
                } catch (const Error&) {
                }
                return !s.id.empty() && other.size() >= 4 && s.id.rfind(want, 0) == 0;
            });
            if (ref == all.end()) invalid("invalid filter \"" + std::string(key) + "=" + other + "\": no such image");
            bool ok = std::string(key) == "before" ? img.created < ref->created : img.created > ref->created;
            if (!ok) return false;
        }
    }
    return true;
}

}  // namespace minirun::engine
