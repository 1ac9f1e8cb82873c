// "Find or pull by policy", the one place run, build's FROM and apply get their image.
#include "minirun/common/error.hpp"
#include "minirun/image/reference.hpp"
#include "minirun/image/store.hpp"
#include "minirun/registry/pull.hpp"

namespace minirun::registry {

PullPolicy parse_pull_policy(const std::string& text) {
    if (text == "missing") return PullPolicy::missing;
    if (text == "always") return PullPolicy::always;
    if (text == "never") return PullPolicy::never;
    throw Error("invalid --pull \"" + text + "\": use missing, always or never");
}

image::ImageRecord ensure_image(image::Store& store, const std::string& name, PullPolicy policy, const PullOptions& opts,
                                const std::function<void(const image::Reference&)>& announce, const std::string& where) {
    if (policy != PullPolicy::always)
        if (auto have = store.lookup(name)) return *have;
    std::string prefix = where.empty() ? "" : where + ": ";
    if (policy == PullPolicy::never) throw Error(prefix + "image " + name + " is not in the store and --pull=never");
    auto ref = image::Reference::parse(name);
    if (announce) announce(ref);
    pull_image(store, ref, opts);
    auto pulled = store.find_image(ref.str());
    if (!pulled) throw Error(prefix + "image " + name + " was pulled but is not in the store");
    return *pulled;
}

}  // namespace minirun::registry
