// Go text/template over JSON data: a lexer that cuts the text into text and actions, a
// parser that builds the tree (control structures on a stack), and an executor that walks
// it. Semantics follow Go's text/template (exec.go, funcs.go) and fmt's %v; the messages
// keep Go's "template: :LINE: …" shape so that a user who knows Docker's recognises them.
#include "minirun/format/go_template.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>

#include "minirun/common/error.hpp"

namespace minirun::format {

using json = nlohmann::json;

namespace {

// ---------------------------------------------------------------- tree

struct Pipeline;

// One operand of a command: a term, maybe followed by a field chain.
struct Operand {
    enum class Kind { Dot, Field, Variable, Function, Constant, Nil, Pipe } kind = Kind::Dot;
    std::string name;                // variable ("$x", "$") or function name
    std::vector<std::string> chain;  // .A.B after the term (the fields of a Field operand)
    json value;                      // a Constant
    std::shared_ptr<Pipeline> pipe;  // ( … )
    std::string text;                // as written, for error messages
};

struct Command {
    std::vector<Operand> args;
};

struct Pipeline {
    std::vector<std::string> decl;  // $x := / $i, $e := / $x =
    bool assign = false;
    std::vector<Command> cmds;
    int line = 1, col = 1;
    std::string text;
};

}  // namespace

struct TemplateNode {
    enum class Kind { List, Text, Action, If, Range, With, Break, Continue } kind = Kind::List;
    std::string text;
    Pipeline pipe;
    std::vector<TemplateNode> list, else_list;
};

namespace {

[[noreturn]] void parse_error(int line, const std::string& msg) {
    throw Error("template: :" + std::to_string(line) + ": " + msg, ErrorKind::InvalidArgument);
}

const char* const kFunctions[] = {"and",   "or",    "not",  "len",  "index",    "slice", "eq",    "ne",     "lt",
                                  "le",    "gt",    "ge",   "print", "printf",  "println", "html", "js",   "urlquery",
                                  "json",  "join",  "split", "lower", "upper", "title", "pad",  "truncate"};

bool is_function(std::string_view name) {
    return std::find(std::begin(kFunctions), std::end(kFunctions), name) != std::end(kFunctions);
}

// ---------------------------------------------------------------- lexer

struct Token {
    enum class Kind { Field, Variable, Ident, String, Number, Char, Pipe, LParen, RParen, Declare, Assign, Comma, Dot } kind;
    std::string text;                // identifier, variable name, literal text
    std::vector<std::string> chain;  // fields of a Field/Variable, or a chain after ')'
    json value;
};

bool ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// Go's escapes in "…" literals (strconv.Unquote).
std::string unquote(std::string_view s, int line) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '\\') {
            out += s[i];
            continue;
        }
        if (++i >= s.size()) parse_error(line, "unterminated quoted string");
        char c = s[i];
        switch (c) {
            case 'n': out += '\n'; break;
            case 't': out += '\t'; break;
            case 'r': out += '\r'; break;
            case 'a': out += '\a'; break;
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'v': out += '\v'; break;
            case '\\': out += '\\'; break;
            case '"': out += '"'; break;
            case '\'': out += '\''; break;
            case 'x': {
                unsigned v = 0;
                auto r = std::from_chars(s.data() + i + 1, s.data() + std::min(s.size(), i + 3), v, 16);
                if (r.ptr != s.data() + i + 3) parse_error(line, "bad \\x escape in string");
                out += static_cast<char>(v);
                i += 2;
                break;
            }
            case 'u':
            case 'U': {
                size_t n = c == 'u' ? 4 : 8;
                unsigned long cp = 0;
                auto r = std::from_chars(s.data() + i + 1, s.data() + std::min(s.size(), i + 1 + n), cp, 16);
                if (r.ptr != s.data() + i + 1 + n || cp > 0x10FFFF) parse_error(line, "bad unicode escape in string");
                if (cp < 0x80) {
                    out += static_cast<char>(cp);
                } else if (cp < 0x800) {
                    out += static_cast<char>(0xC0 | (cp >> 6));
                    out += static_cast<char>(0x80 | (cp & 0x3F));
                } else if (cp < 0x10000) {
                    out += static_cast<char>(0xE0 | (cp >> 12));
                    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
                    out += static_cast<char>(0x80 | (cp & 0x3F));
                } else {
                    out += static_cast<char>(0xF0 | (cp >> 18));
                    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
                    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
                    out += static_cast<char>(0x80 | (cp & 0x3F));
                }
                i += n;
                break;
            }
            default: parse_error(line, std::string("unknown escape sequence \\") + c);
        }
    }
    return out;
}

// .A.B.C starting at s[i] == '.'; returns the names.
std::vector<std::string> lex_chain(std::string_view s, size_t& i) {
    std::vector<std::string> chain;
    while (i < s.size() && s[i] == '.' && i + 1 < s.size() && ident_char(s[i + 1]) &&
           !std::isdigit(static_cast<unsigned char>(s[i + 1]))) {
        size_t j = i + 1;
        while (j < s.size() && ident_char(s[j])) ++j;
        chain.emplace_back(s.substr(i + 1, j - i - 1));
        i = j;
    }
    return chain;
}

std::vector<Token> lex_action(std::string_view s, int line) {
    std::vector<Token> out;
    size_t i = 0;
    while (i < s.size()) {
        char c = s[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            ++i;
            continue;
        }
        if (c == '|') { out.push_back({Token::Kind::Pipe, "|", {}, {}}); ++i; continue; }
        if (c == '(') { out.push_back({Token::Kind::LParen, "(", {}, {}}); ++i; continue; }
        if (c == ',') { out.push_back({Token::Kind::Comma, ",", {}, {}}); ++i; continue; }
        if (c == ')') {
            ++i;
            Token t{Token::Kind::RParen, ")", lex_chain(s, i), {}};
            out.push_back(std::move(t));
            continue;
        }
        if (c == ':' && i + 1 < s.size() && s[i + 1] == '=') { out.push_back({Token::Kind::Declare, ":=", {}, {}}); i += 2; continue; }
        if (c == '=') { out.push_back({Token::Kind::Assign, "=", {}, {}}); ++i; continue; }
        if (c == '.') {
            if (i + 1 < s.size() && ident_char(s[i + 1]) && !std::isdigit(static_cast<unsigned char>(s[i + 1]))) {
                Token t{Token::Kind::Field, "", lex_chain(s, i), {}};
                out.push_back(std::move(t));
            } else if (i + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1]))) {
                parse_error(line, "bad number syntax: \"" + std::string(s.substr(i)) + "\"");
            } else {
                out.push_back({Token::Kind::Dot, ".", {}, {}});
                ++i;
            }
            continue;
        }
        if (c == '$') {
            size_t j = i + 1;
            while (j < s.size() && ident_char(s[j])) ++j;
            Token t{Token::Kind::Variable, std::string(s.substr(i, j - i)), {}, {}};
            i = j;
            t.chain = lex_chain(s, i);
            out.push_back(std::move(t));
            continue;
        }
        if (c == '"') {
            size_t j = i + 1;
            while (j < s.size() && s[j] != '"') {
                if (s[j] == '\\') ++j;
                if (s[j] == '\n') parse_error(line, "unterminated quoted string");
                ++j;
            }
            if (j >= s.size()) parse_error(line, "unterminated quoted string");
            out.push_back({Token::Kind::String, unquote(s.substr(i + 1, j - i - 1), line), {}, {}});
            i = j + 1;
            continue;
        }
        if (c == '`') {
            size_t j = s.find('`', i + 1);
            if (j == std::string_view::npos) parse_error(line, "unterminated raw quoted string");
            out.push_back({Token::Kind::String, std::string(s.substr(i + 1, j - i - 1)), {}, {}});
            i = j + 1;
            continue;
        }
        if (c == '\'') {
            size_t j = i + 1;
            std::string body;
            while (j < s.size() && s[j] != '\'') {
                if (s[j] == '\\') body += s[j++];
                if (j < s.size()) body += s[j++];
            }
            if (j >= s.size()) parse_error(line, "unterminated character constant");
            std::string ch = unquote(body, line);
            if (ch.size() != 1) parse_error(line, "malformed character constant: '" + body + "'");
            out.push_back({Token::Kind::Char, ch, {}, json(static_cast<int64_t>(static_cast<unsigned char>(ch[0])))});
            i = j + 1;
            continue;
        }
        if (std::isdigit(static_cast<unsigned char>(c)) ||
            ((c == '-' || c == '+') && i + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1])))) {
            size_t j = i + 1;
            while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '.' || s[j] == '_' ||
                                    ((s[j] == '-' || s[j] == '+') && (s[j - 1] == 'e' || s[j - 1] == 'E'))))
                ++j;
            std::string num(s.substr(i, j - i));
            std::string digits = num;
            std::erase(digits, '_');
            bool neg = digits[0] == '-';
            std::string body = (digits[0] == '-' || digits[0] == '+') ? digits.substr(1) : digits;
            json v;
            int base = 10;
            std::string_view b = body;
            if (b.size() > 2 && b[0] == '0' && (b[1] == 'x' || b[1] == 'X')) base = 16, b.remove_prefix(2);
            else if (b.size() > 2 && b[0] == '0' && (b[1] == 'o' || b[1] == 'O')) base = 8, b.remove_prefix(2);
            else if (b.size() > 2 && b[0] == '0' && (b[1] == 'b' || b[1] == 'B')) base = 2, b.remove_prefix(2);
            int64_t iv = 0;
            auto r = std::from_chars(b.data(), b.data() + b.size(), iv, base);
            if (r.ec == std::errc() && r.ptr == b.data() + b.size()) {
                v = neg ? -iv : iv;
            } else {
                double d = 0;
                auto rd = std::from_chars(body.data(), body.data() + body.size(), d);
                if (rd.ec != std::errc() || rd.ptr != body.data() + body.size())
                    parse_error(line, "bad number syntax: \"" + num + "\"");
                v = neg ? -d : d;
            }
            out.push_back({Token::Kind::Number, num, {}, v});
            i = j;
            continue;
        }
        if (ident_char(c)) {
            size_t j = i;
            while (j < s.size() && ident_char(s[j])) ++j;
            Token t{Token::Kind::Ident, std::string(s.substr(i, j - i)), {}, {}};
            i = j;
            if (i < s.size() && s[i] == '.') t.chain = lex_chain(s, i);
            out.push_back(std::move(t));
            continue;
        }
        parse_error(line, std::string("unexpected \"") + c + "\" in command");
    }
    return out;
}

// ---------------------------------------------------------------- parser

class Parser {
public:
    explicit Parser(std::string_view text) : text_(text) {}

    TemplateNode parse() {
        TemplateNode root;
        stack_.push_back({&root, "", 0});
        size_t pos = 0;
        bool trim_next = false;
        while (pos < text_.size()) {
            size_t open = text_.find("{{", pos);
            std::string piece(text_.substr(pos, open == std::string_view::npos ? std::string_view::npos : open - pos));
            if (trim_next) piece.erase(0, piece.find_first_not_of(" \t\r\n") == std::string::npos ? piece.size()
                                                                                            : piece.find_first_not_of(" \t\r\n"));
            trim_next = false;
            if (open == std::string_view::npos) {
                add_text(piece);
                break;
            }
            size_t body = open + 2;
            bool trim_left = text_.size() > body + 1 && text_[body] == '-' && is_space(text_[body + 1]);
            if (trim_left) {
                size_t keep = piece.find_last_not_of(" \t\r\n");
                piece.erase(keep == std::string::npos ? 0 : keep + 1);
                body += 2;
            }
            add_text(piece);
            line_ = 1 + static_cast<int>(std::count(text_.begin(), text_.begin() + static_cast<long>(open), '\n'));
            col_ = static_cast<int>(open - (text_.rfind('\n', open) == std::string_view::npos ? static_cast<size_t>(-1)
                                                                                               : text_.rfind('\n', open)));
            size_t close = find_close(body);
            size_t end = close;
            if (close >= body + 2 && text_[close - 1] == '-' && is_space(text_[close - 2])) {
                trim_next = true;
                end = close - 2;
            }
            std::string_view action = text_.substr(body, end > body ? end - body : 0);
            pos = close + 2;
            handle_action(action);
        }
        if (stack_.size() > 1) parse_error(line_, "unexpected EOF");
        return root;
    }

private:
    struct Frame {
        TemplateNode* node;
        std::string keyword;
        int line;
        bool in_else = false;
        int else_ifs = 0;  // {{else if}} opens a nested If closed by the same {{end}}
    };

    static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

    // The "}}" closing the action at `from`, skipping quoted text and comments.
    size_t find_close(size_t from) {
        size_t i = from;
        while (i < text_.size()) {
            char c = text_[i];
            if (c == '/' && i + 1 < text_.size() && text_[i + 1] == '*') {
                size_t e = text_.find("*/", i + 2);
                if (e == std::string_view::npos) parse_error(line_, "unclosed comment");
                i = e + 2;
                continue;
            }
            if (c == '"' || c == '`' || c == '\'') {
                size_t j = i + 1;
                while (j < text_.size() && text_[j] != c) {
                    if (c != '`' && text_[j] == '\\') ++j;
                    if (c != '`' && j < text_.size() && text_[j] == '\n') parse_error(line_, "unterminated quoted string");
                    ++j;
                }
                if (j >= text_.size()) parse_error(line_, "unterminated quoted string");
                i = j + 1;
                continue;
            }
            if (c == '}' && i + 1 < text_.size() && text_[i + 1] == '}') return i;
            ++i;
        }
        parse_error(line_, "unclosed action");
    }

    std::vector<TemplateNode>& current_list() {
        Frame& f = stack_.back();
        return f.in_else ? f.node->else_list : f.node->list;
    }

    void add_text(const std::string& t) {
        if (t.empty()) return;
        TemplateNode n;
        n.kind = TemplateNode::Kind::Text;
        n.text = t;
        current_list().push_back(std::move(n));
    }

    void handle_action(std::string_view action) {
        std::string_view trimmed = action;
        while (!trimmed.empty() && is_space(trimmed.front())) trimmed.remove_prefix(1);
        while (!trimmed.empty() && is_space(trimmed.back())) trimmed.remove_suffix(1);
        if (trimmed.size() >= 4 && trimmed.substr(0, 2) == "/*") {
            if (trimmed.substr(trimmed.size() - 2) != "*/") parse_error(line_, "comment ends before closing delimiter");
            return;
        }
        std::vector<Token> toks = lex_action(action, line_);
        if (toks.empty()) parse_error(line_, "missing value for command");
        const Token& first = toks.front();
        std::string kw = first.kind == Token::Kind::Ident && first.chain.empty() ? first.text : "";
        if (kw == "if" || kw == "range" || kw == "with") {
            TemplateNode n;
            n.kind = kw == "if" ? TemplateNode::Kind::If : kw == "range" ? TemplateNode::Kind::Range : TemplateNode::Kind::With;
            n.pipe = parse_pipeline(toks, 1, kw, kw == "range");
            current_list().push_back(std::move(n));
            stack_.push_back({&current_list().back(), kw, line_});
            if (kw == "range") ++range_depth_;
            return;
        }
        if (kw == "else") {
            if (stack_.size() < 2) parse_error(line_, "unexpected {{else}}");
            Frame& f = stack_.back();
            if (f.in_else) parse_error(line_, "expected end; found {{else}}");
            f.in_else = true;
            if (toks.size() > 1) {  // {{else if …}} / {{else with …}}: a nested node in the else branch
                std::string sub = toks[1].kind == Token::Kind::Ident ? toks[1].text : "";
                if ((sub != "if" && sub != "with") || f.keyword != sub)
                    parse_error(line_, "unexpected \"" + toks[1].text + "\" in else");
                TemplateNode n;
                n.kind = sub == "if" ? TemplateNode::Kind::If : TemplateNode::Kind::With;
                n.pipe = parse_pipeline(toks, 2, sub, false);
                f.node->else_list.push_back(std::move(n));
                int chained = f.else_ifs + 1;
                std::string keyword = f.keyword;
                stack_.back().else_ifs = 0;
                stack_.push_back({&f.node->else_list.back(), keyword, line_, false, chained});
            }
            return;
        }
        if (kw == "end") {
            if (toks.size() > 1) parse_error(line_, "unexpected \"" + toks[1].text + "\" in end");
            if (stack_.size() < 2) parse_error(line_, "unexpected {{end}}");
            int pops = stack_.back().else_ifs + 1;
            if (stack_.back().keyword == "range") --range_depth_;
            for (int i = 0; i < pops; ++i) stack_.pop_back();
            return;
        }
        if (kw == "break" || kw == "continue") {
            if (range_depth_ == 0) parse_error(line_, "{{" + kw + "}} outside {{range}}");
            if (toks.size() > 1) parse_error(line_, "unexpected \"" + toks[1].text + "\" in " + kw);
            TemplateNode n;
            n.kind = kw == "break" ? TemplateNode::Kind::Break : TemplateNode::Kind::Continue;
            current_list().push_back(std::move(n));
            return;
        }
        if (kw == "define" || kw == "template" || kw == "block")
            parse_error(line_, "{{" + kw + "}} is not supported in --format templates");
        TemplateNode n;
        n.kind = TemplateNode::Kind::Action;
        n.pipe = parse_pipeline(toks, 0, "command", false);
        current_list().push_back(std::move(n));
    }

    Pipeline parse_pipeline(const std::vector<Token>& toks, size_t start, const std::string& context, bool range) {
        Pipeline p;
        p.line = line_;
        p.col = col_;
        size_t i = start;
        // Declarations: $x := …, $i, $e := … (range only), $x = …
        if (i < toks.size() && toks[i].kind == Token::Kind::Variable && toks[i].chain.empty()) {
            size_t j = i;
            std::vector<std::string> names{toks[j].text};
            if (j + 1 < toks.size() && toks[j + 1].kind == Token::Kind::Comma && range && j + 2 < toks.size() &&
                toks[j + 2].kind == Token::Kind::Variable) {
                names.push_back(toks[j + 2].text);
                j += 2;
            }
            if (j + 1 < toks.size() && (toks[j + 1].kind == Token::Kind::Declare || toks[j + 1].kind == Token::Kind::Assign)) {
                p.assign = toks[j + 1].kind == Token::Kind::Assign;
                if (p.assign) {
                    for (auto& n : names)
                        if (!declared(n)) parse_error(line_, "undefined variable \"" + n + "\"");
                } else {
                    for (auto& n : names) vars_.push_back(n);
                }
                p.decl = names;
                i = j + 2;
            } else if (names.size() > 1) {
                parse_error(line_, "too many declarations in " + context);
            }
        }
        size_t end = toks.size();
        p.cmds = parse_commands(toks, i, end, context);
        if (p.cmds.empty()) parse_error(line_, "missing value for " + context);
        return p;
    }

    bool declared(const std::string& name) const {
        return name == "$" || std::find(vars_.begin(), vars_.end(), name) != vars_.end();
    }

    std::vector<Command> parse_commands(const std::vector<Token>& toks, size_t& i, size_t end, const std::string& context) {
        std::vector<Command> cmds;
        Command cmd;
        while (i < end) {
            const Token& t = toks[i];
            if (t.kind == Token::Kind::Pipe) {
                if (cmd.args.empty()) parse_error(line_, "missing command");
                cmds.push_back(std::move(cmd));
                cmd = {};
                ++i;
                continue;
            }
            if (t.kind == Token::Kind::RParen) break;
            cmd.args.push_back(parse_operand(toks, i, end, context));
        }
        if (!cmd.args.empty()) cmds.push_back(std::move(cmd));
        else if (!cmds.empty()) parse_error(line_, "missing command");
        // A function may only come first in a command; a non-function cannot take the pipe.
        for (size_t k = 1; k < cmds.size(); ++k) {
            auto& first = cmds[k].args.front();
            if (first.kind != Operand::Kind::Function && first.kind != Operand::Kind::Field &&
                !(first.kind == Operand::Kind::Variable && !first.chain.empty()) &&
                !(first.kind == Operand::Kind::Pipe && !first.chain.empty()))
                parse_error(line_, "non executable command in pipeline stage " + std::to_string(k + 1));
        }
        return cmds;
    }

    Operand parse_operand(const std::vector<Token>& toks, size_t& i, size_t end, const std::string& context) {
        const Token& t = toks[i++];
        Operand o;
        switch (t.kind) {
            case Token::Kind::Dot: o.kind = Operand::Kind::Dot; o.text = "."; break;
            case Token::Kind::Field:
                o.kind = Operand::Kind::Field;
                o.chain = t.chain;
                for (auto& c : t.chain) o.text += "." + c;
                break;
            case Token::Kind::Variable:
                if (!declared(t.text)) parse_error(line_, "undefined variable \"" + t.text + "\"");
                o.kind = Operand::Kind::Variable;
                o.name = t.text;
                o.chain = t.chain;
                o.text = t.text;
                for (auto& c : t.chain) o.text += "." + c;
                break;
            case Token::Kind::String:
                o.kind = Operand::Kind::Constant;
                o.value = t.text;
                o.text = json(t.text).dump();
                break;
            case Token::Kind::Number:
            case Token::Kind::Char:
                o.kind = Operand::Kind::Constant;
                o.value = t.value;
                o.text = t.text;
                break;
            case Token::Kind::Ident:
                if (t.text == "true" || t.text == "false") {
                    o.kind = Operand::Kind::Constant;
                    o.value = t.text == "true";
                } else if (t.text == "nil") {
                    o.kind = Operand::Kind::Nil;
                } else if (is_function(t.text)) {
                    o.kind = Operand::Kind::Function;
                    o.name = t.text;
                } else {
                    parse_error(line_, "function \"" + t.text + "\" not defined");
                }
                if (!t.chain.empty()) parse_error(line_, "unexpected . after term \"" + t.text + "\"");
                o.text = t.text;
                break;
            case Token::Kind::LParen: {
                o.kind = Operand::Kind::Pipe;
                auto p = std::make_shared<Pipeline>();
                p->line = line_;
                p->col = col_;
                p->cmds = parse_commands(toks, i, end, "parenthesized pipeline");
                if (i >= end || toks[i].kind != Token::Kind::RParen) parse_error(line_, "unclosed left paren");
                if (p->cmds.empty()) parse_error(line_, "missing value for parenthesized pipeline");
                o.chain = toks[i].chain;
                ++i;
                o.pipe = std::move(p);
                o.text = "(…)";
                for (auto& c : o.chain) o.text += "." + c;
                break;
            }
            default: parse_error(line_, "unexpected \"" + t.text + "\" in " + context);
        }
        return o;
    }

    std::string_view text_;
    std::vector<Frame> stack_;
    std::vector<std::string> vars_;  // declared so far (Go checks names at parse time)
    int range_depth_ = 0;
    int line_ = 1, col_ = 1;
};

// ---------------------------------------------------------------- printing (fmt %v)

std::string go_float(double d, char verb = 'v', int prec = -1) {
    if (std::isnan(d)) return "NaN";
    if (std::isinf(d)) return d > 0 ? "+Inf" : "-Inf";
    char buf[64];
    if (verb == 'f' || verb == 'F') {
        std::snprintf(buf, sizeof buf, "%.*f", prec < 0 ? 6 : prec, d);
        return buf;
    }
    if (verb == 'e' || verb == 'E') {
        std::snprintf(buf, sizeof buf, "%.*e", prec < 0 ? 6 : prec, d);
        std::string s(buf);
        if (verb == 'E') std::transform(s.begin(), s.end(), s.begin(), ::toupper);
        return s;
    }
    if (prec >= 0) {  // %.Ng: C's %g and Go's agree
        std::snprintf(buf, sizeof buf, "%.*g", prec == 0 ? 1 : prec, d);
        return buf;
    }
    // %v and %g: the shortest digits that read back the same, in %e form when the exponent
    // is below -4 or from 6 up (strconv's 'g' with precision -1: 1e+06, 3.1536e+07)
    auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
    std::string sci(buf, r.ptr);
    int exp = std::stoi(sci.substr(sci.find('e') + 1));
    if (exp < -4 || exp >= 6) return sci;  // to_chars writes two exponent digits at least, as Go does
    auto f = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::fixed);
    return std::string(buf, f.ptr);
}

std::string go_type_name(const json& v) {
    switch (v.type()) {
        case json::value_t::string: return "string";
        case json::value_t::boolean: return "bool";
        case json::value_t::number_integer:
        case json::value_t::number_unsigned: return "int";
        case json::value_t::number_float: return "float64";
        case json::value_t::array: return "[]interface {}";
        case json::value_t::object: return "map[string]interface {}";
        default: return "<nil>";
    }
}

std::string dump_json(const json& v) {
    if (v.is_discarded()) return "null";
    return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

std::string print_value(const json& v) {
    switch (v.type()) {
        case json::value_t::discarded: return "<no value>";
        case json::value_t::null: return "<nil>";
        case json::value_t::string: return v.get_ref<const std::string&>();
        case json::value_t::boolean: return v.get<bool>() ? "true" : "false";
        case json::value_t::number_integer: return std::to_string(v.get<int64_t>());
        case json::value_t::number_unsigned: return std::to_string(v.get<uint64_t>());
        case json::value_t::number_float: return go_float(v.get<double>());
        case json::value_t::array: {
            std::string out = "[";
            for (size_t i = 0; i < v.size(); ++i) out += (i ? " " : "") + print_value(v[i]);
            return out + "]";
        }
        case json::value_t::object: {
            std::string out = "map[";
            bool first = true;
            for (auto& [k, e] : v.items()) {
                out += (first ? "" : " ") + k + ":" + print_value(e);
                first = false;
            }
            return out + "]";
        }
        default: return "";
    }
}

namespace {

// ---------------------------------------------------------------- functions

bool truth(const json& v) {
    switch (v.type()) {
        case json::value_t::boolean: return v.get<bool>();
        case json::value_t::number_integer:
        case json::value_t::number_unsigned:
        case json::value_t::number_float: return v.get<double>() != 0;
        case json::value_t::string: return !v.get_ref<const std::string&>().empty();
        case json::value_t::array:
        case json::value_t::object: return !v.empty();
        default: return false;
    }
}

struct ExecError {
    std::string message;
};

[[noreturn]] void fail(const std::string& msg) { throw ExecError{msg}; }

const std::string& want_string(const json& v, const char* fn) {
    if (!v.is_string()) fail(std::string(fn) + ": wrong type for value; expected string; got " + go_type_name(v));
    return v.get_ref<const std::string&>();
}

int64_t want_int(const json& v, const char* fn) {
    if (v.is_number_integer() || v.is_number_unsigned()) return v.get<int64_t>();
    if (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>()) return static_cast<int64_t>(v.get<double>());
    fail(std::string(fn) + ": wrong type for value; expected int; got " + go_type_name(v));
}

void want_args(const std::vector<json>& a, size_t n, const char* fn) {
    if (a.size() != n)
        fail(std::string("wrong number of args for ") + fn + ": want " + std::to_string(n) + " got " + std::to_string(a.size()));
}

// eq's comparison: basic kinds only, numbers by value (Go's eq compares ints and floats
// of the same kind; JSON has one number).
bool basic_equal(const json& a, const json& b) {
    if (a.is_array() || a.is_object() || b.is_array() || b.is_object()) fail("error calling eq: non-comparable type");
    if (a.is_number() && b.is_number()) return a.get<double>() == b.get<double>();
    bool a_nil = a.is_null() || a.is_discarded(), b_nil = b.is_null() || b.is_discarded();
    if (a_nil || b_nil) return a_nil && b_nil;
    if (a.type() != b.type()) fail("error calling eq: incompatible types for comparison");
    return a == b;
}

int basic_compare(const json& a, const json& b, const char* fn) {
    if (a.is_number() && b.is_number()) {
        double x = a.get<double>(), y = b.get<double>();
        return x < y ? -1 : x > y ? 1 : 0;
    }
    if (a.is_string() && b.is_string()) return a.get_ref<const std::string&>().compare(b.get_ref<const std::string&>()) < 0 ? -1
                                              : a == b ? 0 : 1;
    if (a.type() != b.type()) fail(std::string("error calling ") + fn + ": incompatible types for comparison");
    fail(std::string("error calling ") + fn + ": invalid type for comparison");
}

size_t rune_count(std::string_view s) {
    return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

// Go's strconv.Quote: printable UTF-8 kept, the rest escaped.
std::string go_quote(std::string_view s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\t': out += "\\t"; break;
            case '\r': out += "\\r"; break;
            case '\a': out += "\\a"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            case '\v': out += "\\v"; break;
            default:
                if (c < 0x20 || c == 0x7f) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\x%02x", c);
                    out += buf;
                } else {
                    out += static_cast<char>(c);
                }
        }
    }
    return out + "\"";
}

// fmt.Sprintf with Go's verbs over JSON values; a mismatch prints as Go does (%!d(string=x)).
std::string go_sprintf(const std::string& fmt, const std::vector<json>& args) {
    std::string out;
    size_t argi = 0;
    for (size_t i = 0; i < fmt.size(); ++i) {
        if (fmt[i] != '%') {
            out += fmt[i];
            continue;
        }
        if (++i >= fmt.size()) {
            out += "%!(NOVERB)";
            break;
        }
        bool minus = false, plus = false, zero = false, space = false, sharp = false;
        for (; i < fmt.size(); ++i) {
            char f = fmt[i];
            if (f == '-') minus = true;
            else if (f == '+') plus = true;
            else if (f == '0') zero = true;
            else if (f == ' ') space = true;
            else if (f == '#') sharp = true;
            else break;
        }
        int width = -1, prec = -1;
        while (i < fmt.size() && std::isdigit(static_cast<unsigned char>(fmt[i])))
            width = (width < 0 ? 0 : width) * 10 + (fmt[i++] - '0');
        if (i < fmt.size() && fmt[i] == '.') {
            prec = 0;
            ++i;
            while (i < fmt.size() && std::isdigit(static_cast<unsigned char>(fmt[i]))) prec = prec * 10 + (fmt[i++] - '0');
        }
        if (i >= fmt.size()) {
            out += "%!(NOVERB)";
            break;
        }
        char verb = fmt[i];
        if (verb == '%') {
            out += '%';
            continue;
        }
        if (argi >= args.size()) {
            out += std::string("%!") + verb + "(MISSING)";
            continue;
        }
        const json& a = args[argi++];
        std::string s;
        bool numeric = false;
        auto bad = [&] { return std::string("%!") + verb + "(" + go_type_name(a) + "=" + print_value(a) + ")"; };
        switch (verb) {
            case 'v':
                s = print_value(a);
                numeric = a.is_number();
                if (a.is_string() && sharp) s = go_quote(s);
                break;
            case 's':
                if (a.is_number() || a.is_boolean()) {
                    s = bad();
                    break;
                }
                s = print_value(a);
                if (prec >= 0 && a.is_string()) {
                    size_t n = 0, k = 0;
                    while (k < s.size() && n < static_cast<size_t>(prec)) {
                        ++k;
                        while (k < s.size() && (s[k] & 0xC0) == 0x80) ++k;
                        ++n;
                    }
                    s.resize(k);
                }
                break;
            case 'q':
                if (a.is_string()) s = go_quote(a.get_ref<const std::string&>());
                else if (a.is_number_integer()) s = "'" + std::string(1, static_cast<char>(a.get<int64_t>())) + "'";
                else s = bad();
                break;
            case 't': s = a.is_boolean() ? print_value(a) : bad(); break;
            case 'd':
            case 'x':
            case 'X':
            case 'o':
            case 'b':
            case 'c':
                if (a.is_number_integer() || a.is_number_unsigned()) {
                    numeric = true;
                    int64_t n = a.get<int64_t>();
                    if (verb == 'c') {
                        s = std::string(1, static_cast<char>(n));
                        numeric = false;
                        break;
                    }
                    uint64_t mag = n < 0 ? static_cast<uint64_t>(-(n + 1)) + 1 : static_cast<uint64_t>(n);
                    int base = verb == 'd' ? 10 : verb == 'o' ? 8 : verb == 'b' ? 2 : 16;
                    char buf[80];
                    auto r = std::to_chars(buf, buf + sizeof buf, mag, base);
                    s.assign(buf, r.ptr);
                    if (verb == 'X') std::transform(s.begin(), s.end(), s.begin(), ::toupper);
                    if (sharp && verb == 'x') s = "0x" + s;
                    if (sharp && verb == 'X') s = "0X" + s;
                    if (n < 0) s = "-" + s;
                    else if (plus) s = "+" + s;
                    else if (space) s = " " + s;
                } else if ((verb == 'x' || verb == 'X') && a.is_string()) {
                    for (unsigned char c : a.get_ref<const std::string&>()) {
                        char buf[4];
                        std::snprintf(buf, sizeof buf, verb == 'x' ? "%02x" : "%02X", c);
                        s += buf;
                    }
                } else {
                    s = bad();
                }
                break;
            case 'f':
            case 'F':
            case 'e':
            case 'E':
            case 'g':
            case 'G':
                if (!a.is_number()) {
                    s = bad();
                    break;
                }
                if (a.is_number_integer() || a.is_number_unsigned()) {
                    s = std::string("%!") + verb + "(int=" + print_value(a) + ")";
                    break;
                }
                numeric = true;
                s = go_float(a.get<double>(), verb == 'G' ? 'g' : verb, prec);
                if (plus && a.get<double>() >= 0) s = "+" + s;
                break;
            default: s = std::string("%!") + verb + "(" + go_type_name(a) + "=" + print_value(a) + ")";
        }
        if (width >= 0 && rune_count(s) < static_cast<size_t>(width)) {
            size_t pad = static_cast<size_t>(width) - rune_count(s);
            if (minus) s += std::string(pad, ' ');
            else if (zero && numeric) {
                size_t sign = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
                s.insert(sign, std::string(pad, '0'));
            } else s.insert(0, std::string(pad, ' '));
        }
        out += s;
    }
    if (argi < args.size()) {
        out += "%!(EXTRA ";
        for (size_t k = argi; k < args.size(); ++k)
            out += (k > argi ? ", " : "") + go_type_name(args[k]) + "=" + print_value(args[k]);
        out += ")";
    }
    return out;
}

// fmt.Sprint: a space between operands when neither is a string.
std::string go_sprint(const std::vector<json>& args, bool line) {
    std::string out;
    for (size_t i = 0; i < args.size(); ++i) {
        if (i > 0 && (line || (!args[i].is_string() && !args[i - 1].is_string()))) out += ' ';
        out += print_value(args[i]);
    }
    if (line) out += '\n';
    return out;
}

std::string html_escape(std::string_view s) {
    std::string out;
    for (char c : s) {
        switch (c) {
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '&': out += "&amp;"; break;
            case '\'': out += "&#39;"; break;
            case '"': out += "&#34;"; break;
            case '\0': out += "\uFFFD"; break;
            default: out += c;
        }
    }
    return out;
}

std::string js_escape(std::string_view s) {
    std::string out;
    for (unsigned char c : s) {
        switch (c) {
            case '\\': out += "\\\\"; break;
            case '\'': out += "\\'"; break;
            case '"': out += "\\\""; break;
            case '<': out += "\\u003C"; break;
            case '>': out += "\\u003E"; break;
            case '&': out += "\\u0026"; break;
            case '=': out += "\\u003D"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (c < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04X", c);
                    out += buf;
                } else {
                    out += static_cast<char>(c);
                }
        }
    }
    return out;
}

std::string query_escape(std::string_view s) {
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') out += static_cast<char>(c);
        else if (c == ' ') out += '+';
        else {
            char buf[4];
            std::snprintf(buf, sizeof buf, "%%%02X", c);
            out += buf;
        }
    }
    return out;
}

std::string to_lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

std::string to_upper(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return s;
}

// strings.Title: the first letter of every word upper-cased.
std::string title_case(std::string s) {
    bool boundary = true;
    for (auto& ch : s) {
        unsigned char c = static_cast<unsigned char>(ch);
        if (boundary && std::islower(c)) ch = static_cast<char>(std::toupper(c));
        boundary = !(std::isalnum(c) || c == '_' || c == '\'' || c >= 0x80);
    }
    return s;
}

// A string argument as the formatting functions take it: strings as they are, other
// values printed (Docker's typed fields are strings; JSON ones may not be).
std::string text_of(const json& v) { return v.is_string() ? v.get_ref<const std::string&>() : print_value(v); }

json call_function(const std::string& fn, const std::vector<json>& a, bool header) {
    static const char* const kHeaderPassThrough[] = {"json", "join", "split", "lower", "upper", "title", "pad", "truncate"};
    if (header && std::find_if(std::begin(kHeaderPassThrough), std::end(kHeaderPassThrough),
                               [&](const char* f) { return fn == f; }) != std::end(kHeaderPassThrough))
        return a.empty() ? json("") : json(text_of(a[0]));
    if (fn == "not") {
        want_args(a, 1, "not");
        return !truth(a[0]);
    }
    if (fn == "len") {
        want_args(a, 1, "len");
        if (a[0].is_string()) return a[0].get_ref<const std::string&>().size();
        if (a[0].is_array() || a[0].is_object()) return a[0].size();
        fail("error calling len: len of type " + go_type_name(a[0]));
    }
    if (fn == "index") {
        if (a.empty()) fail("wrong number of args for index: want at least 1 got 0");
        json cur = a[0];
        for (size_t k = 1; k < a.size(); ++k) {
            if (cur.is_array()) {
                int64_t n = want_int(a[k], "index");
                if (n < 0 || static_cast<size_t>(n) >= cur.size())
                    fail("error calling index: index out of range: " + std::to_string(n));
                cur = json(cur[static_cast<size_t>(n)]);
            } else if (cur.is_object()) {
                auto it = cur.find(text_of(a[k]));
                // A missing key is the map's zero value: "" for the string maps (labels)
                // that templates index.
                cur = it == cur.end() ? json("") : json(*it);
            } else if (cur.is_string()) {
                int64_t n = want_int(a[k], "index");
                const auto& s = cur.get_ref<const std::string&>();
                if (n < 0 || static_cast<size_t>(n) >= s.size()) fail("error calling index: index out of range: " + std::to_string(n));
                cur = static_cast<int64_t>(static_cast<unsigned char>(s[static_cast<size_t>(n)]));
            } else if (cur.is_null() || cur.is_discarded()) {
                fail("error calling index: index of untyped nil");
            } else {
                fail("error calling index: can't index item of type " + go_type_name(cur));
            }
        }
        return cur;
    }
    if (fn == "slice") {
        if (a.empty() || a.size() > 4) fail("wrong number of args for slice: want 1 to 4 got " + std::to_string(a.size()));
        const json& x = a[0];
        size_t len = x.is_string() ? x.get_ref<const std::string&>().size() : x.is_array() ? x.size() : 0;
        if (!x.is_string() && !x.is_array()) fail("error calling slice: can't slice item of type " + go_type_name(x));
        int64_t lo = a.size() > 1 ? want_int(a[1], "slice") : 0;
        int64_t hi = a.size() > 2 ? want_int(a[2], "slice") : static_cast<int64_t>(len);
        if (lo < 0 || hi < lo || static_cast<size_t>(hi) > len)
            fail("error calling slice: index out of range: " + std::to_string(lo < 0 || hi < lo ? lo : hi));
        if (x.is_string()) return x.get_ref<const std::string&>().substr(static_cast<size_t>(lo), static_cast<size_t>(hi - lo));
        return json(std::vector<json>(x.begin() + lo, x.begin() + hi));
    }
    if (fn == "eq") {
        if (a.size() < 2) fail("wrong number of args for eq: want at least 2 got " + std::to_string(a.size()));
        for (size_t k = 1; k < a.size(); ++k)
            if (basic_equal(a[0], a[k])) return true;
        return false;
    }
    if (fn == "ne") {
        want_args(a, 2, "ne");
        return !basic_equal(a[0], a[1]);
    }
    if (fn == "lt" || fn == "le" || fn == "gt" || fn == "ge") {
        want_args(a, 2, fn.c_str());
        int c = basic_compare(a[0], a[1], fn.c_str());
        return fn == "lt" ? c < 0 : fn == "le" ? c <= 0 : fn == "gt" ? c > 0 : c >= 0;
    }
    if (fn == "print") return go_sprint(a, false);
    if (fn == "println") return go_sprint(a, true);
    if (fn == "printf") {
        if (a.empty()) fail("wrong number of args for printf: want at least 1 got 0");
        return go_sprintf(want_string(a[0], "printf"), std::vector<json>(a.begin() + 1, a.end()));
    }
    if (fn == "html") return html_escape(go_sprint(a, false));
    if (fn == "js") return js_escape(go_sprint(a, false));
    if (fn == "urlquery") return query_escape(go_sprint(a, false));
    if (fn == "json") {
        want_args(a, 1, "json");
        return dump_json(a[0]);
    }
    if (fn == "join") {
        want_args(a, 2, "join");
        const std::string& sep = want_string(a[1], "join");
        if (a[0].is_string()) return a[0];
        if (a[0].is_null() || a[0].is_discarded()) return "";
        if (!a[0].is_array()) fail("error calling join: wrong type for value; expected []string; got " + go_type_name(a[0]));
        std::string out;
        for (size_t k = 0; k < a[0].size(); ++k) out += (k ? sep : "") + text_of(a[0][k]);
        return out;
    }
    if (fn == "split") {
        want_args(a, 2, "split");
        const std::string& s = want_string(a[0], "split");
        const std::string& sep = want_string(a[1], "split");
        json out = json::array();
        if (sep.empty()) {
            for (size_t k = 0; k < s.size();) {
                size_t e = k + 1;
                while (e < s.size() && (s[e] & 0xC0) == 0x80) ++e;
                out.push_back(s.substr(k, e - k));
                k = e;
            }
            return out;
        }
        size_t start = 0;
        for (size_t p; (p = s.find(sep, start)) != std::string::npos; start = p + sep.size()) out.push_back(s.substr(start, p - start));
        out.push_back(s.substr(start));
        return out;
    }
    if (fn == "lower") {
        want_args(a, 1, "lower");
        return to_lower(text_of(a[0]));
    }
    if (fn == "upper") {
        want_args(a, 1, "upper");
        return to_upper(text_of(a[0]));
    }
    if (fn == "title") {
        want_args(a, 1, "title");
        return title_case(text_of(a[0]));
    }
    if (fn == "pad") {
        want_args(a, 3, "pad");
        int64_t pre = want_int(a[1], "pad"), post = want_int(a[2], "pad");
        return std::string(static_cast<size_t>(std::max<int64_t>(pre, 0)), ' ') + text_of(a[0]) +
               std::string(static_cast<size_t>(std::max<int64_t>(post, 0)), ' ');
    }
    if (fn == "truncate") {
        want_args(a, 2, "truncate");
        std::string s = text_of(a[0]);
        int64_t n = want_int(a[1], "truncate");
        if (n < 0 || rune_count(s) <= static_cast<size_t>(n)) return s;
        size_t k = 0;
        for (int64_t r = 0; r < n; ++r) {
            ++k;
            while (k < s.size() && (s[k] & 0xC0) == 0x80) ++k;
        }
        return s.substr(0, k);
    }
    fail("function \"" + fn + "\" not defined");
}

// ---------------------------------------------------------------- executor

enum class Flow { Normal, Break, Continue };

class Executor {
public:
    Executor(const Methods& methods, bool header, const json& root) : methods_(methods), header_(header) {
        vars_.emplace_back("$", root);
    }

    std::string out;

    Flow walk_list(const std::vector<TemplateNode>& list, const json& dot) {
        for (auto& n : list) {
            Flow f = walk(n, dot);
            if (f != Flow::Normal) return f;
        }
        return Flow::Normal;
    }

    Flow walk(const TemplateNode& n, const json& dot) {
        switch (n.kind) {
            case TemplateNode::Kind::List: return walk_list(n.list, dot);
            case TemplateNode::Kind::Text: out += n.text; return Flow::Normal;
            case TemplateNode::Kind::Break: return Flow::Break;
            case TemplateNode::Kind::Continue: return Flow::Continue;
            case TemplateNode::Kind::Action: {
                json v = eval_pipeline(n.pipe, dot, true);
                if (n.pipe.decl.empty()) out += print_value(v);
                return Flow::Normal;
            }
            case TemplateNode::Kind::If:
            case TemplateNode::Kind::With: {
                size_t mark = vars_.size();
                json v = eval_pipeline(n.pipe, dot, true);
                Flow f;
                if (truth(v)) f = walk_list(n.list, n.kind == TemplateNode::Kind::With ? v : dot);
                else f = walk_list(n.else_list, dot);
                vars_.resize(mark);
                return f;
            }
            case TemplateNode::Kind::Range: return walk_range(n, dot);
        }
        return Flow::Normal;
    }

private:
    Flow walk_range(const TemplateNode& n, const json& dot) {
        size_t mark = vars_.size();
        json v = eval_pipeline(n.pipe, dot, false);
        for (auto& d : n.pipe.decl) vars_.emplace_back(d, json());
        auto one = [&](const json& key, const json& elem) {
            if (n.pipe.decl.size() == 1) vars_[mark].second = elem;
            if (n.pipe.decl.size() == 2) vars_[mark].second = key, vars_[mark + 1].second = elem;
            size_t inner = vars_.size();
            Flow f = walk_list(n.list, elem);
            vars_.resize(inner);
            return f;
        };
        bool any = false;
        if (v.is_array()) {
            for (size_t i = 0; i < v.size(); ++i) {
                any = true;
                if (one(json(static_cast<int64_t>(i)), v[i]) == Flow::Break) break;
            }
        } else if (v.is_object()) {
            for (auto& [k, e] : v.items()) {
                any = true;
                if (one(json(k), e) == Flow::Break) break;
            }
        } else if (v.is_number_integer() || v.is_number_unsigned()) {  // Go 1.22: range over an int
            for (int64_t i = 0; i < v.get<int64_t>(); ++i) {
                any = true;
                if (one(json(i), json(i)) == Flow::Break) break;
            }
        } else if (!v.is_null() && !v.is_discarded()) {
            error_at(n.pipe, "range can't iterate over " + print_value(v));
        }
        Flow f = Flow::Normal;
        vars_.resize(mark);
        if (!any) f = walk_list(n.else_list, dot);
        vars_.resize(mark);
        return f;
    }

    [[noreturn]] void error_at(const Pipeline& p, const std::string& msg) {
        throw Error("template: :" + std::to_string(p.line) + ":" + std::to_string(p.col) + ": executing \"\" at <" +
                        p.text + ">: " + msg,
                    ErrorKind::InvalidArgument);
    }

    json eval_pipeline(const Pipeline& p, const json& dot, bool bind) {
        std::optional<json> value;
        try {
            for (auto& c : p.cmds) value = eval_command(c, dot, value);
        } catch (const ExecError& e) {
            Pipeline where = p;
            if (where.text.empty()) where.text = describe(p);
            error_at(where, e.message);
        }
        if (bind && !p.decl.empty()) {
            if (p.assign) {
                for (auto it = vars_.rbegin(); it != vars_.rend(); ++it)
                    if (it->first == p.decl[0]) {
                        it->second = *value;
                        break;
                    }
            } else {
                vars_.emplace_back(p.decl[0], *value);
            }
        }
        return *value;
    }

    static std::string describe(const Pipeline& p) {
        std::string s;
        for (size_t i = 0; i < p.cmds.size(); ++i) {
            if (i) s += " | ";
            for (size_t k = 0; k < p.cmds[i].args.size(); ++k) s += (k ? " " : "") + p.cmds[i].args[k].text;
        }
        return s;
    }

    // A parenthesized pipeline's value.
    json eval_subpipe(const Pipeline& p, const json& dot) {
        std::optional<json> value;
        for (auto& c : p.cmds) value = eval_command(c, dot, value);
        return *value;
    }

    json variable(const std::string& name) {
        for (auto it = vars_.rbegin(); it != vars_.rend(); ++it)
            if (it->first == name) return it->second;
        fail("undefined variable: " + name);
    }

    json eval_arg(const Operand& o, const json& dot) {
        switch (o.kind) {
            case Operand::Kind::Dot: return dot;
            case Operand::Kind::Constant: return o.value;
            case Operand::Kind::Nil: return json();
            case Operand::Kind::Field: return eval_chain(dot, o.chain, {}, std::nullopt);
            case Operand::Kind::Variable: return eval_chain(variable(o.name), o.chain, {}, std::nullopt);
            case Operand::Kind::Pipe: return eval_chain(eval_subpipe(*o.pipe, dot), o.chain, {}, std::nullopt);
            case Operand::Kind::Function: return call(o.name, dot, std::nullopt, nullptr);
        }
        return json();
    }

    // A function with the command's other operands (when `cmd`) and the piped value as its
    // arguments.
    json call(const std::string& fn, const json& dot, const std::optional<json>& final, const Command* cmd) {
        std::vector<json> args;
        if (cmd) {
            // and/or stop at the first argument that decides (Go 1.18's short circuit)
            if (fn == "and" || fn == "or") {
                size_t n = cmd->args.size() - 1 + (final ? 1 : 0);
                if (n == 0) fail("wrong number of args for " + fn + ": want at least 1 got 0");
                json v;
                for (size_t k = 1; k < cmd->args.size(); ++k) {
                    v = eval_arg(cmd->args[k], dot);
                    if (truth(v) == (fn == "or")) return v;
                }
                if (final) v = *final;
                return v;
            }
            for (size_t k = 1; k < cmd->args.size(); ++k) args.push_back(eval_arg(cmd->args[k], dot));
        }
        if (final) args.push_back(*final);
        if (fn == "and" || fn == "or") fail("wrong number of args for " + fn + ": want at least 1 got 0");
        return call_function(fn, args, header_);
    }

    json eval_command(const Command& c, const json& dot, const std::optional<json>& final) {
        const Operand& first = c.args.front();
        std::vector<json> rest;
        auto more = [&] {
            for (size_t k = 1; k < c.args.size(); ++k) rest.push_back(eval_arg(c.args[k], dot));
        };
        switch (first.kind) {
            case Operand::Kind::Function: return call(first.name, dot, final, &c);
            case Operand::Kind::Field:
                more();
                return eval_chain(dot, first.chain, rest, final);
            case Operand::Kind::Variable:
                if (!first.chain.empty()) {
                    more();
                    return eval_chain(variable(first.name), first.chain, rest, final);
                }
                break;
            case Operand::Kind::Pipe:
                if (!first.chain.empty()) {
                    more();
                    return eval_chain(eval_subpipe(*first.pipe, dot), first.chain, rest, final);
                }
                break;
            case Operand::Kind::Nil: fail("nil is not a command");
            default: break;
        }
        if (c.args.size() > 1 || final) fail("can't give argument to non-function " + first.text);
        return eval_arg(first, dot);
    }

    json eval_chain(json receiver, const std::vector<std::string>& chain, const std::vector<json>& args,
                    const std::optional<json>& final) {
        for (size_t i = 0; i < chain.size(); ++i) {
            bool last = i + 1 == chain.size();
            receiver = eval_field(receiver, chain[i], last ? args : std::vector<json>{}, last ? final : std::nullopt);
        }
        if (chain.empty() && (!args.empty() || final)) fail("can't give argument to non-function");
        return receiver;
    }

    json eval_field(const json& recv, const std::string& name, const std::vector<json>& args, const std::optional<json>& final) {
        bool has_args = !args.empty() || final.has_value();
        if (recv.is_object()) {
            auto it = recv.find(name);
            auto m = methods_.find(name);
            if (it != recv.end() && (m == methods_.end() || !has_args)) {
                if (has_args) fail(name + " has arguments but cannot be invoked as function");
                return *it;
            }
            if (m != methods_.end()) {
                if (header_) return json(to_upper(name));
                std::vector<json> a = args;
                if (final) a.push_back(*final);
                try {
                    return m->second(recv, a);
                } catch (const std::exception& e) {
                    fail("error calling " + name + ": " + e.what());
                }
            }
            if (header_ && has_args) return json(to_upper(name));  // a method's header: LABEL
            if (has_args) fail(name + " is not a method but has arguments");
            json missing(json::value_t::discarded);
            return missing;
        }
        if (recv.is_null() || recv.is_discarded()) {
            if (has_args) fail("nil pointer evaluating interface {}." + name);
            return json(json::value_t::discarded);
        }
        fail("can't evaluate field " + name + " in type " + go_type_name(recv));
    }

    const Methods& methods_;
    bool header_;
    std::vector<std::pair<std::string, json>> vars_;
};

}  // namespace

Template Template::parse(std::string_view text) {
    Template t;
    auto root = std::make_shared<TemplateNode>(Parser(text).parse());
    t.root_ = std::move(root);
    return t;
}

std::string Template::execute(const json& data, const Methods& methods) const {
    Executor ex(methods, false, data);
    ex.walk(*root_, data);
    return std::move(ex.out);
}

std::string Template::execute_header(const json& headers) const {
    static const Methods none;
    Executor ex(none, true, headers);
    ex.walk(*root_, headers);
    return std::move(ex.out);
}

}  // namespace minirun::format
