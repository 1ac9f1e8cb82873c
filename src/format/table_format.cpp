// Docker's table formats (cli/command/formatter) and Go's text/tabwriter.
#include "minirun/format/table_format.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace minirun::format {

using json = nlohmann::json;

namespace {

size_t display_width(std::string_view s) {  // tabwriter counts runes
    return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

using Line = std::vector<std::string>;  // cells; the last is the text after the last tab

class TabWriter {
public:
    TabWriter(size_t minwidth, size_t padding) : minwidth_(minwidth), padding_(padding) {}

    // tabwriter's format(): column blocks, recursively, one column deeper each time.
    void format(const std::vector<Line>& lines, size_t line0, size_t line1, std::string& out) {
        size_t column = widths_.size();
        for (size_t cur = line0; cur < line1; ++cur) {
            if (column + 1 >= lines[cur].size()) continue;
            write_lines(lines, line0, cur, out);
            line0 = cur;
            size_t width = minwidth_;
            for (; cur < line1; ++cur) {
                if (column + 1 >= lines[cur].size()) break;
                width = std::max(width, display_width(lines[cur][column]) + padding_);
            }
            widths_.push_back(width);
            format(lines, line0, cur, out);
            widths_.pop_back();
            line0 = cur;
            // the loop's ++ skips the line that ended the block: it has no cell here
        }
        write_lines(lines, line0, line1, out);
    }

private:
    void write_lines(const std::vector<Line>& lines, size_t from, size_t to, std::string& out) {
        for (size_t i = from; i < to; ++i) {
            const Line& l = lines[i];
            for (size_t j = 0; j < l.size(); ++j) {
                out += l[j];
                if (j < widths_.size() && j + 1 < l.size()) out += std::string(widths_[j] - display_width(l[j]), ' ');
            }
            out += '\n';
        }
    }

    size_t minwidth_, padding_;
    std::vector<size_t> widths_;
};

std::string unescape_controls(std::string_view format) {
    std::string out;
    for (size_t i = 0; i < format.size(); ++i) {
        if (format[i] == '\\' && i + 1 < format.size() && (format[i + 1] == 't' || format[i + 1] == 'n')) {
            out += format[i + 1] == 't' ? '\t' : '\n';
            ++i;
        } else {
            out += format[i];
        }
    }
    return out;
}

std::string trim_spaces(std::string_view s) {
    size_t b = s.find_first_not_of(' ');
    if (b == std::string_view::npos) return "";
    return std::string(s.substr(b, s.find_last_not_of(' ') - b + 1));
}

}  // namespace

std::string tabwrite(std::string_view text, size_t minwidth, size_t padding) {
    std::string out;
    std::vector<Line> block;
    auto flush = [&] {
        TabWriter(minwidth, padding).format(block, 0, block.size(), out);
        block.clear();
    };
    size_t start = 0;
    while (start < text.size()) {
        size_t nl = text.find('\n', start);
        bool complete = nl != std::string_view::npos;
        std::string_view line = text.substr(start, complete ? nl - start : std::string_view::npos);
        Line cells;
        size_t p = 0;
        for (size_t t; (t = line.find('\t', p)) != std::string_view::npos; p = t + 1) cells.emplace_back(line.substr(p, t - p));
        cells.emplace_back(line.substr(p));
        bool single = cells.size() == 1;
        block.push_back(std::move(cells));
        // A line with one cell cannot shape the lines after it: the block ends (as Go flushes).
        if (single || !complete) flush();
        if (!complete) {
            out.pop_back();  // the unterminated last line keeps no newline
            break;
        }
        start = nl + 1;
    }
    if (!block.empty()) flush();
    return out;
}

std::string format_rows(std::string_view format, const Listing& listing, const std::vector<json>& rows) {
    std::string_view chosen = format.empty() || format == "table" ? std::string_view(listing.default_table) : format;
    bool table = chosen.substr(0, 5) == "table";
    std::string body = unescape_controls(trim_spaces(table ? chosen.substr(5) : chosen));
    Template tmpl = Template::parse(body);
    std::string text;
    if (table) {
        json headers = json::object();
        for (auto& [field, header] : listing.headers) headers[field] = header;
        text += tmpl.execute_header(headers) + "\n";
    }
    for (auto& row : rows) text += tmpl.execute(row, listing.methods) + "\n";
    return table ? tabwrite(text) : text;
}

std::string format_value(std::string_view format, const json& value, const Methods& methods) {
    return Template::parse(unescape_controls(format)).execute(value, methods) + "\n";
}

}  // namespace minirun::format
