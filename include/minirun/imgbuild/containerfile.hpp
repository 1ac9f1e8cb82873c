#pragma once
// Containerfile / Dockerfile front end with Docker's grammar. The whole file is parsed
// (and, with parse_containerfile, validated) before any build work starts.
//
// Two levels:
//  - parse_instructions(): Docker's parser proper (moby/buildkit frontend/dockerfile/parser):
//    directives, comments, continuations, exec (JSON) vs shell form, flags, heredocs. Any
//    instruction name and any --flag are accepted; dump_instructions() prints the buildkit
//    conformance "result" format.
//  - parse_containerfile(): also checks instruction names, allowed flags and argument
//    counts, and groups instructions into stages.
// Parse errors throw ParseError (a minirun::Error) whose what() is "file:line:col: message";
// pretty() adds the offending line and a caret under the column.
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "minirun/common/error.hpp"

namespace minirun::imgbuild {

class ParseError : public Error {
public:
    ParseError(std::string file, int line, int column, std::string message, std::string line_text);
    const std::string& file() const { return file_; }
    int line() const { return line_; }
    int column() const { return column_; }
    const std::string& message() const { return message_; }
    const std::string& line_text() const { return line_text_; }
    // "file:line:col: message\n<the line>\n    ^"
    std::string pretty() const;

private:
    std::string file_;
    int line_;
    int column_;
    std::string message_;
    std::string line_text_;
};

struct Heredoc {
    std::string name;     // delimiter with quotes removed
    std::string content;  // body, every line ending in '\n'; leading tabs removed for <<-
    bool expand = true;   // false when the delimiter was quoted (<<"EOF", <<'EOF')
    bool chomp = false;   // <<-
    int fd = 0;           // 3<<EOF gives 3; 0 when absent
};

struct Instruction {
    std::string keyword;   // upper case: "RUN", "COPY", ...
    std::string original;  // the logical line (continuations joined), trimmed
    // Flags in source order, as written ("--from=builder"), and parsed: name without the
    // dashes -> value ("" for a bare --link). Repeated flags (--mount) keep the last value
    // in `flags`; use flag_values() for all of them.
    std::vector<std::string> raw_flags;
    std::map<std::string, std::string> flags;
    // Arguments, before variable expansion:
    //  - exec form: one per JSON array element (json = true);
    //  - RUN/CMD/ENTRYPOINT/SHELL shell form: one argument, the rest of the line;
    //  - ENV/LABEL: triples key, value, separator ("=" or "" for the old `ENV k v` form);
    //  - HEALTHCHECK: type ("CMD"/"NONE") then the command as for CMD;
    //  - ONBUILD: the trigger's text (parsed trigger in `trigger`);
    //  - others: whitespace-separated words (ARG: words as written, e.g. "a=1").
    std::vector<std::string> args;
    bool json = false;
    std::vector<Heredoc> heredocs;
    int line = 0;      // first physical line (1-based)
    int end_line = 0;  // last physical line of the instruction (heredoc bodies excluded)
    int column = 0;    // column of the keyword (1-based, bytes)
    std::vector<Instruction> trigger;  // ONBUILD: exactly one element

    bool has_flag(std::string_view name) const { return flags.count(std::string(name)) != 0; }
    std::string flag(std::string_view name, std::string fallback = {}) const;
    std::vector<std::string> flag_values(std::string_view name) const;
    // S-expression form used by buildkit's parser tests, e.g. (copy ["--from=a"] "x" "/y")
    std::string dump() const;
};

struct Directives {
    char escape = '\\';
    std::string syntax;                         // accepted and ignored
    std::map<std::string, std::string> all;     // every directive seen, lower-case key
};

struct Stage {
    std::string name;        // lower-cased AS name; empty when unnamed
    std::string base_image;  // as written (unexpanded: may contain $ARGs)
    std::string platform;    // FROM --platform value, unexpanded
    int index = 0;
    Instruction from;
    std::vector<Instruction> instructions;  // after FROM
};

struct Containerfile {
    std::string file;
    Directives directives;
    std::vector<Instruction> meta_args;  // ARG instructions before the first FROM
    std::vector<Stage> stages;

    // Stage by name (case-insensitive) or decimal index; nullptr if none.
    const Stage* find_stage(std::string_view name_or_index) const;
};

// Docker's parser level (see above). Throws ParseError. An empty file or one with only
// comments is an error ("file with no instructions").
std::vector<Instruction> parse_instructions(std::string_view text, std::string_view file = "Containerfile",
                                            Directives* directives = nullptr);
std::string dump_instructions(const std::vector<Instruction>& instructions);

// Full front end: parse, validate, group into stages. Throws ParseError.
Containerfile parse_containerfile(std::string_view text, std::string_view file = "Containerfile");
Containerfile load_containerfile(const std::filesystem::path& path);

// Go strconv.Quote-style quoting used by dump().
std::string go_quote(std::string_view s);

}  // namespace minirun::imgbuild
