#pragma once
// Docker's --format conventions over go_template.hpp: "table …" formats with their
// header row, aligned as Go's text/tabwriter aligns them (Docker's settings: columns at
// least 10 wide, 3 spaces of padding), and one line per row otherwise.
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "minirun/format/go_template.hpp"

namespace minirun::format {

// Go's text/tabwriter (padchar ' ', no flags): tab-terminated cells aligned in column
// blocks; a line without tabs ends a block; the text after a line's last tab is not a cell.
std::string tabwrite(std::string_view text, size_t minwidth = 10, size_t padding = 3);

// What a listing command offers to --format.
struct Listing {
    std::string default_table;                   // "table {{.ID}}\t{{.Image}}…"
    std::map<std::string, std::string> headers;  // field → column header ("ID" → "CONTAINER ID")
    Methods methods;                              // {{.Label "k"}} and the like
};

// Renders rows as `--format FORMAT` asks: "" or "table" → the default table, "table T" →
// T with a header row, aligned; any other T → T once per row, each on its own line. "\t"
// and "\n" typed as two characters stand for tab and newline, as in Docker. Throws
// Error("template: …") for a bad template.
std::string format_rows(std::string_view format, const Listing& listing, const std::vector<nlohmann::json>& rows);

// One value, as `inspect -f` and `version --format` print it: the template, then a newline.
std::string format_value(std::string_view format, const nlohmann::json& value, const Methods& methods = {});

}  // namespace minirun::format
