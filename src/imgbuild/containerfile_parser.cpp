// Docker's Dockerfile parser level: lines, directives, continuations, flags, forms, heredocs.
#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "minirun/imgbuild/containerfile.hpp"
#include "minirun/imgbuild/shell_expand.hpp"
#include "minirun/imgbuild/utf8.hpp"
#include "minirun/common/strings.hpp"

namespace minirun::imgbuild {

ParseError::ParseError(std::string file, int line, int column, std::string message, std::string line_text)
    : Error(file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message),
      file_(std::move(file)), line_(line), column_(column), message_(std::move(message)),
      line_text_(std::move(line_text)) {}

std::string ParseError::pretty() const {
    std::string out = what();
    out += "\n" + line_text_ + "\n";
    for (int i = 1; i < column_ && static_cast<size_t>(i - 1) < line_text_.size(); ++i)
        out.push_back(line_text_[static_cast<size_t>(i - 1)] == '\t' ? '\t' : ' ');
    out += "^";
    return out;
}

std::string Instruction::flag(std::string_view name, std::string fallback) const {
    auto it = flags.find(std::string(name));
    return it == flags.end() ? fallback : it->second;
}

std::vector<std::string> Instruction::flag_values(std::string_view name) const {
    std::vector<std::string> out;
    std::string prefix = "--" + std::string(name);
    for (const auto& f : raw_flags) {
        if (f == prefix)
            out.emplace_back();
        else if (f.size() > prefix.size() && f.compare(0, prefix.size(), prefix) == 0 && f[prefix.size()] == '=')
            out.push_back(f.substr(prefix.size() + 1));
    }
    return out;
}

std::string go_quote(std::string_view s) {
    static const char* hex = "0123456789abcdef";
    std::string out = "\"";
    for (size_t i = 0; i < s.size(); ++i) {
        auto c = static_cast<unsigned char>(s[i]);
        switch (c) {
        case '"': out += "\\\""; continue;
        case '\\': out += "\\\\"; continue;
        case '\a': out += "\\a"; continue;
        case '\b': out += "\\b"; continue;
        case '\f': out += "\\f"; continue;
        case '\n': out += "\\n"; continue;
        case '\r': out += "\\r"; continue;
        case '\t': out += "\\t"; continue;
        case '\v': out += "\\v"; continue;
        default: break;
        }
        if (c < 0x20 || c == 0x7f) {
            out += "\\x";
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 15]);
        } else {
            out.push_back(static_cast<char>(c));
        }
    }
    return out + "\"";
}

std::string Instruction::dump() const {
    std::string s = "(";
    for (char c : keyword) s.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    if (!raw_flags.empty()) {
        s += " [";
        for (size_t i = 0; i < raw_flags.size(); ++i) s += (i ? " " : "") + go_quote(raw_flags[i]);
        s += "]";
    }
    if (!trigger.empty()) {
        s += " " + trigger.front().dump();
    } else {
        for (const auto& a : args) s += " " + go_quote(a);
    }
    return s + ")";
}

std::string dump_instructions(const std::vector<Instruction>& instructions) {
    std::string out;
    for (const auto& i : instructions) out += i.dump() + "\n";
    return out;
}

namespace {

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r' || c == '\n'; }
bool is_hspace(char c) { return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r'; }

std::string trim_left(std::string_view s) {
    size_t i = 0;
    while (i < s.size() && is_ws(s[i])) ++i;
    return std::string(s.substr(i));
}
std::string trim(std::string_view s) {
    size_t b = 0, e = s.size();
    while (b < e && is_ws(s[b])) ++b;
    while (e > b && is_ws(s[e - 1])) --e;
    return std::string(s.substr(b, e - b));
}
std::string upper(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

struct Ctx {
    std::string file;
    const std::vector<std::string>* lines;
    Directives d;
    [[noreturn]] void fail(int line, int col, const std::string& msg) const {
        std::string text = line >= 1 && static_cast<size_t>(line) <= lines->size() ? (*lines)[static_cast<size_t>(line - 1)] : "";
        throw ParseError(file, line, col < 1 ? 1 : col, msg, text);
    }
    // Column (1-based) of `needle` in the physical line, or `fallback`.
    int column_of(int line, std::string_view needle, int fallback) const {
        if (line < 1 || static_cast<size_t>(line) > lines->size() || needle.empty()) return fallback;
        auto p = (*lines)[static_cast<size_t>(line - 1)].find(needle);
        return p == std::string::npos ? fallback : static_cast<int>(p) + 1;
    }
};

// Directive: ^#[ \t]*([a-zA-Z][a-zA-Z0-9]*)[ \t]*=[ \t]*(.+?)[ \t]*$
bool match_directive(std::string_view line, std::string& key, std::string& value) {
    if (line.empty() || line[0] != '#') return false;
    size_t i = 1;
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i >= line.size() || !std::isalpha(static_cast<unsigned char>(line[i]))) return false;
    size_t ks = i;
    while (i < line.size() && std::isalnum(static_cast<unsigned char>(line[i]))) ++i;
    key = std::string(line.substr(ks, i - ks));
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i >= line.size() || line[i] != '=') return false;
    ++i;
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t e = line.size();
    while (e > i && (line[e - 1] == ' ' || line[e - 1] == '\t')) --e;
    if (e == i) return false;
    value = std::string(line.substr(i, e - i));
    return true;
}

// A line continues when it ends (ignoring trailing blanks) with an odd run of escape tokens.
bool trim_continuation(std::string& line, char esc) {
    size_t e = line.size();
    while (e > 0 && (line[e - 1] == ' ' || line[e - 1] == '\t')) --e;
    size_t run = 0;
    while (run < e && line[e - 1 - run] == esc) ++run;
    if (run % 2 == 1) {
        line.resize(e - 1);
        return true;
    }
    return false;
}

// buildkit's extractBuilderFlags: leading --words; returns the rest. Its word state machine
// looks like parse_words' below but differs as buildkit's two do: bytes, not runes, no escape
// token (a backslash always escapes), and "--" ends the flags. Kept apart to match each.
std::string extract_flags(const std::string& line, std::vector<std::string>& words) {
    enum { InSpaces, InWord, InQuote } phase = InSpaces;
    std::string word;
    char quote = 0;
    bool blank_ok = false;
    char ch = 0;
    for (size_t pos = 0; pos <= line.size(); ++pos) {
        if (pos != line.size()) ch = line[pos];
        if (phase == InSpaces) {
            if (pos == line.size()) return "";
            if (is_ws(ch)) continue;
            if (ch != '-' || pos + 1 == line.size() || line[pos + 1] != '-') return line.substr(pos);
            phase = InWord;
        }
        if (pos == line.size()) {
            if (word != "--" && (blank_ok || !word.empty())) words.push_back(word);
            break;
        }
        if (phase == InWord) {
            if (is_ws(ch)) {
                phase = InSpaces;
                if (word == "--") return line.substr(pos);
                if (blank_ok || !word.empty()) words.push_back(word);
                word.clear();
                blank_ok = false;
                continue;
            }
            if (ch == '\'' || ch == '"') {
                quote = ch;
                blank_ok = true;
                phase = InQuote;
                continue;
            }
            if (ch == '\\') {
                if (pos + 1 == line.size()) continue;
                ch = line[++pos];
            }
            word.push_back(ch);
            continue;
        }
        // InQuote
        if (ch == quote) {
            phase = InWord;
            continue;
        }
        if (ch == '\\') {
            if (pos + 1 == line.size()) {
                phase = InWord;
                continue;
            }
            ch = line[++pos];
        }
        word.push_back(ch);
    }
    return "";
}

// buildkit's parseWords: split on unquoted whitespace, keeping quotes and escapes.
std::vector<std::string> parse_words(std::string_view rest, char esc) {
    std::u32string r = utf8::decode(rest);
    enum { InSpaces, InWord, InQuote } phase = InSpaces;
    std::vector<std::string> words;
    std::u32string word;
    char32_t quote = 0;
    bool blank_ok = false;
    char32_t ch = 0;
    for (size_t pos = 0; pos <= r.size(); ++pos) {
        if (pos != r.size()) ch = r[pos];
        if (phase == InSpaces) {
            if (pos == r.size()) break;
            if (utf8::is_space(ch)) continue;
            phase = InWord;
        }
        if (pos == r.size()) {
            if (blank_ok || !word.empty()) words.push_back(utf8::encode(word));
            break;
        }
        if (phase == InWord) {
            if (utf8::is_space(ch)) {
                phase = InSpaces;
                if (blank_ok || !word.empty()) words.push_back(utf8::encode(word));
                word.clear();
                blank_ok = false;
                continue;
            }
            if (ch == '\'' || ch == '"') {
                quote = ch;
                blank_ok = true;
                phase = InQuote;
            }
            if (ch == static_cast<char32_t>(esc)) {
                if (pos + 1 == r.size()) continue;
                word.push_back(ch);
                ch = r[++pos];
            }
            word.push_back(ch);
            continue;
        }
        if (ch == quote) phase = InWord;
        if (ch == static_cast<char32_t>(esc) && quote != '\'') {
            if (pos + 1 == r.size()) {
                phase = InWord;
                continue;
            }
            word.push_back(ch);
            ch = r[++pos];
        }
        word.push_back(ch);
    }
    return words;
}

std::vector<std::string> split_ws(std::string_view s) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && is_hspace(s[i])) ++i;
        if (i >= s.size()) break;
        size_t b = i;
        while (i < s.size() && !is_hspace(s[i])) ++i;
        out.emplace_back(s.substr(b, i - b));
    }
    return out;
}

enum class JsonResult { Ok, NotJson };

JsonResult parse_json(const Ctx& ctx, int line, std::string_view rest, std::vector<std::string>& out) {
    std::string r = trim_left(rest);
    if (r.empty() || r[0] != '[') return JsonResult::NotJson;
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(r);
    } catch (const nlohmann::json::exception&) {
        return JsonResult::NotJson;
    }
    if (!j.is_array()) return JsonResult::NotJson;
    for (const auto& e : j) {
        if (!e.is_string()) ctx.fail(line, ctx.column_of(line, "[", 1), "JSON arrays must contain only strings");
        out.push_back(e.get<std::string>());
    }
    return JsonResult::Ok;
}

void parse_maybe_json(const Ctx& ctx, Instruction& ins, const std::string& rest) {
    if (rest.empty()) return;
    if (parse_json(ctx, ins.line, rest, ins.args) == JsonResult::Ok) {
        ins.json = true;
        return;
    }
    ins.args = {rest};
}

void parse_maybe_json_list(const Ctx& ctx, Instruction& ins, const std::string& rest) {
    if (parse_json(ctx, ins.line, rest, ins.args) == JsonResult::Ok) {
        ins.json = true;
        return;
    }
    ins.args = split_ws(rest);
}

void parse_name_val(const Ctx& ctx, Instruction& ins, const std::string& rest) {
    auto words = parse_words(rest, ctx.d.escape);
    if (words.empty()) ctx.fail(ins.line, ins.column, ins.keyword + " requires at least one argument");
    if (words[0].find('=') == std::string::npos) {
        size_t i = 0;
        while (i < rest.size() && !is_hspace(rest[i])) ++i;
        size_t j = i;
        while (j < rest.size() && is_hspace(rest[j])) ++j;
        if (j >= rest.size()) ctx.fail(ins.line, ins.column, ins.keyword + " must have two arguments");
        ins.args = {rest.substr(0, i), rest.substr(j), ""};
        return;
    }
    for (const auto& w : words) {
        auto eq = w.find('=');
        if (eq == std::string::npos)
            ctx.fail(ins.line, ctx.column_of(ins.line, w, ins.column),
                     "Syntax error - can't find = in \"" + w + "\". Must be of the form: name=value");
        ins.args.push_back(w.substr(0, eq));
        ins.args.push_back(w.substr(eq + 1));
        ins.args.push_back("=");
    }
}

Instruction node_from_line(const Ctx& ctx, const std::string& logical, int line, int end_line, int column);

void dispatch(const Ctx& ctx, Instruction& ins, const std::string& rest) {
    const std::string& k = ins.keyword;
    if (k == "ADD" || k == "COPY" || k == "VOLUME") {
        parse_maybe_json_list(ctx, ins, rest);
    } else if (k == "RUN" || k == "CMD" || k == "ENTRYPOINT" || k == "SHELL") {
        parse_maybe_json(ctx, ins, rest);
    } else if (k == "ENV" || k == "LABEL") {
        parse_name_val(ctx, ins, rest);
    } else if (k == "ARG") {
        ins.args = parse_words(rest, ctx.d.escape);
    } else if (k == "EXPOSE" || k == "FROM") {
        ins.args = split_ws(rest);
    } else if (k == "HEALTHCHECK") {
        size_t sep = 0;
        while (sep < rest.size() && !is_ws(rest[sep])) ++sep;
        if (sep == 0) return;
        size_t next = sep;
        while (next < rest.size() && is_ws(rest[next])) ++next;
        Instruction tmp;
        tmp.line = ins.line;
        parse_maybe_json(ctx, tmp, rest.substr(next));
        ins.args = {rest.substr(0, sep)};
        ins.args.insert(ins.args.end(), tmp.args.begin(), tmp.args.end());
        ins.json = tmp.json;
    } else if (k == "ONBUILD") {
        if (rest.empty()) return;
        ins.args = {rest};
        ins.trigger.push_back(node_from_line(ctx, rest, ins.line, ins.end_line,
                                             ctx.column_of(ins.line, trim(rest).substr(0, trim(rest).find(' ')), ins.column)));
    } else {
        // MAINTAINER STOPSIGNAL USER WORKDIR, and unknown instructions: the rest as one string.
        if (!rest.empty()) ins.args = {rest};
    }
}

Instruction node_from_line(const Ctx& ctx, const std::string& logical, int line, int end_line, int column) {
    Instruction ins;
    ins.original = trim(logical);
    ins.line = line;
    ins.end_line = end_line;
    ins.column = column;
    const std::string& t = ins.original;
    size_t i = 0;
    while (i < t.size() && !is_hspace(t[i])) ++i;
    ins.keyword = upper(t.substr(0, i));
    while (i < t.size() && is_hspace(t[i])) ++i;
    std::string rest;
    if (i < t.size()) rest = trim_left(extract_flags(t.substr(i), ins.raw_flags));
    for (const auto& f : ins.raw_flags) {
        std::string body = f.size() >= 2 && f.compare(0, 2, "--") == 0 ? f.substr(2) : f;
        auto eq = body.find('=');
        if (eq == std::string::npos)
            ins.flags[body] = "";
        else
            ins.flags[body.substr(0, eq)] = body.substr(eq + 1);
    }
    dispatch(ctx, ins, rest);
    return ins;
}

// Heredoc words: ^(\d*)<<(-?)([^<]*)$ on the raw (quotes kept) words of the line.
std::vector<Heredoc> heredocs_from_line(const Ctx& ctx, const Instruction& ins) {
    std::vector<Heredoc> docs;
    std::vector<std::string> words;
    try {
        ShellLexOptions opt;
        opt.escape = ctx.d.escape;
        opt.raw_quotes = true;
        opt.raw_escapes = true;
        words = ShellLexer(opt).process_words(ins.original, ShellEnv{});
    } catch (const Error&) {
        return docs;
    }
    for (const auto& w : words) {
        size_t i = 0;
        while (i < w.size() && std::isdigit(static_cast<unsigned char>(w[i]))) ++i;
        if (w.compare(i, 2, "<<") != 0) continue;
        Heredoc h;
        if (i > 0) h.fd = std::stoi(w.substr(0, i));
        i += 2;
        if (i < w.size() && w[i] == '-') {
            h.chomp = true;
            ++i;
        }
        std::string word = w.substr(i);
        if (word.find('<') != std::string::npos) continue;
        auto quotes = [](const std::string& s) {
            return std::count(s.begin(), s.end(), '\'') + std::count(s.begin(), s.end(), '"');
        };
        std::vector<std::string> unq;
        try {
            ShellLexOptions opt;
            opt.escape = ctx.d.escape;
            opt.raw_escapes = true;
            unq = ShellLexer(opt).process_words(word, ShellEnv{});
        } catch (const Error& e) {
            ctx.fail(ins.line, ctx.column_of(ins.line, w, ins.column), std::string("invalid heredoc: ") + e.what());
        }
        if (unq.size() != 1) ctx.fail(ins.line, ctx.column_of(ins.line, w, ins.column), "invalid heredoc delimiter \"" + word + "\"");
        h.name = unq[0];
        h.expand = quotes(word) == quotes(unq[0]);
        docs.push_back(std::move(h));
    }
    return docs;
}

}  // namespace

std::vector<Instruction> parse_instructions(std::string_view text, std::string_view file, Directives* directives) {
    std::vector<std::string> lines;
    {
        size_t b = 0;
        while (b < text.size()) {
            size_t e = text.find('\n', b);
            if (e == std::string_view::npos) e = text.size();
            std::string l(text.substr(b, e - b));
            if (!l.empty() && l.back() == '\r') l.pop_back();
            lines.push_back(std::move(l));
            b = e + 1;
        }
        if (!lines.empty() && lines[0].compare(0, 3, "\xEF\xBB\xBF") == 0) lines[0].erase(0, 3);
    }
    Ctx ctx{std::string(file), &lines, {}};
    bool directives_done = false;
    std::vector<Instruction> out;
    size_t i = 0;
    while (i < lines.size()) {
        std::string tok = trim_left(lines[i]);
        int line_no = static_cast<int>(i) + 1;
        if (!directives_done) {
            std::string key, value;
            if (match_directive(tok, key, value)) {
                key = lower(key);
                if (ctx.d.all.count(key)) ctx.fail(line_no, 1, "only one " + key + " parser directive can be used");
                ctx.d.all[key] = value;
                if (key == "escape") {
                    if (value != "`" && value != "\\")
                        ctx.fail(line_no, ctx.column_of(line_no, "=", 1) + 1,
                                 "invalid escape token '" + value + "' does not match ` or \\");
                    ctx.d.escape = value[0];
                } else if (key == "syntax") {
                    ctx.d.syntax = value;
                }
            } else {
                directives_done = true;
            }
        }
        if (!tok.empty() && tok[0] == '#') tok.clear();
        ++i;
        int column = static_cast<int>(lines[i - 1].size() - trim_left(lines[i - 1]).size()) + 1;
        std::string logical = tok;
        bool cont = trim_continuation(logical, ctx.d.escape);
        if (!cont && trim(logical).empty()) continue;
        while (cont && i < lines.size()) {
            std::string raw = lines[i];
            ++i;
            std::string lt = trim_left(raw);
            if (!lt.empty() && lt[0] == '#') continue;
            if (lt.empty()) continue;
            cont = trim_continuation(raw, ctx.d.escape);
            logical += raw;
        }
        Instruction ins = node_from_line(ctx, logical, line_no, static_cast<int>(i), column);
        if ((ins.keyword == "RUN" || ins.keyword == "COPY" || ins.keyword == "ADD") && !ins.json &&
            ins.original.find("<<") != std::string::npos) {
            auto docs = heredocs_from_line(ctx, ins);
            for (auto& h : docs) {
                bool terminated = false;
                while (i < lines.size()) {
                    std::string l = lines[i];
                    ++i;
                    std::string cand = l;
                    if (h.chomp) cand.erase(0, cand.find_first_not_of('\t') == std::string::npos ? cand.size() : cand.find_first_not_of('\t'));
                    if (cand == h.name) {
                        terminated = true;
                        break;
                    }
                    if (h.chomp) l = cand;
                    h.content += l + "\n";
                }
                if (!terminated) ctx.fail(ins.line, ins.column, "unterminated heredoc " + h.name);
                ins.heredocs.push_back(std::move(h));
            }
        }
        out.push_back(std::move(ins));
    }
    if (out.empty()) ctx.fail(1, 1, "file with no instructions");
    if (directives) *directives = ctx.d;
    return out;
}

}  // namespace minirun::imgbuild
