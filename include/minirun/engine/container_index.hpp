#pragma once
// Lookups that must not read every container record: a name index and the list of
// --rm containers, kept beside the records under <storage>/container-index/.
//   names/<name> -> <id>   a symlink: symlink(2) fails when the name exists, so two
//                          creates racing for one name cannot both get it
//   auto-remove/<id>       a marker for each --rm container, for the orphan reaper
//   built                  written once the index covers every record (stores made
//                          before the index get it on first use)
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace minirun::engine {

class ContainerIndex {
public:
    explicit ContainerIndex(std::filesystem::path root);
    bool built() const;
    // Fills the index from the records (name, id, auto_remove), then marks it built.
    struct Entry {
        std::string name, id;
        bool auto_remove = false;
    };
    void build(const std::vector<Entry>& records) const;

    // The id a name points to, "" for none (or a name that cannot be a file name). Ids
    // from the index are always 64 hex digits.
    std::string name_owner(const std::string& name) const;
    // Points `name` at `id`. An entry already there is kept when `holds(owner,
    // age_seconds)` says its owner still holds it: that owner's id is returned. Otherwise
    // (a stale entry: its container gone) it is replaced and "" is returned.
    using HoldsName = std::function<bool(const std::string& owner, long age_seconds)>;
    std::string reserve_name(const std::string& name, const std::string& id, const HoldsName& holds) const;
    // The owner of `name` when it has one that `holds` says still holds it, else "".
    std::string holder(const std::string& name, const HoldsName& holds) const;
    // Drops the entry when it still points at `id`.
    void release_name(const std::string& name, const std::string& id) const;
    // Drops every name pointing at `id`: for a record removed unread (its name unknown).
    void release_names_of(const std::string& id) const;

    void mark_auto_remove(const std::string& id) const;
    void unmark_auto_remove(const std::string& id) const;
    std::vector<std::string> auto_remove_ids() const;

private:
    std::filesystem::path root_, names_, auto_remove_;
};

}  // namespace minirun::engine
