// YAML merge keys for Compose files.
#include "yaml_merge.hpp"

#include <vector>

#include "minirun/common/error.hpp"

namespace minirun::compose::detail {
namespace {

// Aliases share nodes, so a walk can meet one node many times; this bounds the work an
// untrusted file can ask for (a real Compose file has a few thousand nodes).
constexpr size_t kMaxVisits = 1'000'000;
constexpr int kMaxDepth = 128;

struct Merger {
    const std::string& file;
    size_t visits = 0;

    [[noreturn]] void fail(const YAML::Node& n, const std::string& what) const {
        auto m = n.Mark();
        throw Error(file + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1) + ": " + what);
    }

    void walk(YAML::Node n, int depth) {
        if (++visits > kMaxVisits) fail(n, "too many nodes once aliases are expanded");
        if (depth > kMaxDepth) fail(n, "nested too deeply");
        if (n.IsSequence()) {
            for (auto item : n) walk(item, depth + 1);
            return;
        }
        if (!n.IsMap()) return;
        const YAML::Node& view = n;
        if (YAML::Node merge = view["<<"]; merge.IsDefined()) {
            std::vector<YAML::Node> sources;
            if (merge.IsMap()) {
                sources.push_back(merge);
            } else if (merge.IsSequence()) {
                for (auto s : merge) {
                    if (!s.IsMap()) fail(s, "a merge key (<<) lists maps only");
                    sources.push_back(s);
                }
            } else {
                fail(merge, "a merge key (<<) takes a map or a list of maps");
            }
            n.remove("<<");
            for (auto& s : sources) {
                walk(s, depth + 1);  // a merged map may merge others itself
                for (auto kv : s) {
                    const YAML::Node& current = n;
                    if (!current[kv.first.Scalar()].IsDefined()) n.force_insert(kv.first, kv.second);
                }
            }
        }
        for (auto kv : n) walk(kv.second, depth + 1);
    }
};

}  // namespace

void resolve_merge_keys(YAML::Node root, const std::string& file) { Merger{file}.walk(root, 0); }

}  // namespace minirun::compose::detail
