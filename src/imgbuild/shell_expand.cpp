// Docker's Dockerfile shell lexer, re-implemented from its documented behaviour
// (moby/buildkit frontend/dockerfile/shell): a scanner over code points.
#include "minirun/imgbuild/shell_expand.hpp"

#include <optional>

#include "minirun/imgbuild/utf8.hpp"
#include "minirun/common/error.hpp"

namespace minirun::imgbuild {
namespace {

constexpr char32_t kEof = static_cast<char32_t>(-1);

bool is_digit(char32_t c) { return c >= '0' && c <= '9'; }
bool is_letter(char32_t c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;  // non-ASCII: Go's IsLetter, roughly
}
bool is_special_param(char32_t c) {
    switch (c) {
    case '@': case '*': case '#': case '?': case '-': case '$': case '!': case '0':
        return true;
    default:
        return false;
    }
}

// Word accumulator of ProcessWords.
struct Words {
    std::u32string word;
    std::vector<std::string> words;
    bool in_word = false;

    void add_char(char32_t c) {
        if (utf8::is_space(c)) {
            if (in_word && !word.empty()) {
                words.push_back(utf8::encode(word));
                word.clear();
                in_word = false;
            }
        } else {
            add_raw_char(c);
        }
    }
    void add_raw_char(char32_t c) {
        word.push_back(c);
        in_word = true;
    }
    void add_string(const std::u32string& s) {
        for (char32_t c : s) add_char(c);
    }
    void add_raw_string(const std::u32string& s) {
        word += s;
        in_word = true;
    }
    std::vector<std::string> finish() {
        if (!word.empty()) {
            words.push_back(utf8::encode(word));
            word.clear();
            in_word = false;
        }
        return words;
    }
};

// Shell glob (* ? [...] and escapes) against a whole string.
bool glob_match(const std::u32string& pat, size_t p, const std::u32string& s, size_t i, char32_t esc) {
    while (p < pat.size()) {
        char32_t c = pat[p];
        if (c == '*') {
            while (p < pat.size() && pat[p] == '*') ++p;
            if (p == pat.size()) return true;
            for (size_t k = i; k <= s.size(); ++k)
                if (glob_match(pat, p, s, k, esc)) return true;
            return false;
        }
        if (i >= s.size()) return false;
        if (c == '?') {
            ++p;
            ++i;
            continue;
        }
        if (c == '[') {
            size_t q = p + 1;
            bool negate = false;
            if (q < pat.size() && (pat[q] == '!' || pat[q] == '^')) {
                negate = true;
                ++q;
            }
            bool matched = false;
            bool first = true;
            size_t end = q;
            while (end < pat.size() && (first || pat[end] != ']')) {
                first = false;
                char32_t lo = pat[end];
                if (lo == esc && end + 1 < pat.size()) lo = pat[++end];
                char32_t hi = lo;
                if (end + 2 < pat.size() && pat[end + 1] == '-' && pat[end + 2] != ']') {
                    hi = pat[end + 2];
                    if (hi == esc && end + 3 < pat.size()) {
                        hi = pat[end + 3];
                        ++end;
                    }
                    end += 2;
                }
                if (s[i] >= lo && s[i] <= hi) matched = true;
                ++end;
            }
            if (end >= pat.size()) {  // no closing bracket: a literal '['
                if (s[i] != '[') return false;
                ++p;
                ++i;
                continue;
            }
            if (matched == negate) return false;
            p = end + 1;
            ++i;
            continue;
        }
        if (c == esc && p + 1 < pat.size()) c = pat[++p];
        if (s[i] != c) return false;
        ++p;
        ++i;
    }
    return i == s.size();
}

class ShellWord {
public:
    ShellWord(std::u32string src, const ShellEnv& env, const ShellLexOptions& opt)
        : src_(std::move(src)), env_(env), escape_(static_cast<char32_t>(opt.escape)),
          raw_quotes_(opt.raw_quotes), raw_escapes_(opt.raw_escapes), skip_unset_(opt.skip_unset_env) {}

    std::pair<std::u32string, std::vector<std::string>> run() { return process_stop_on(kEof, raw_escapes_); }

private:
    std::u32string src_;
    size_t pos_ = 0;
    const ShellEnv& env_;
    char32_t escape_;
    bool raw_quotes_;
    bool raw_escapes_;
    bool skip_unset_;

    char32_t peek() const { return pos_ < src_.size() ? src_[pos_] : kEof; }
    char32_t next() { return pos_ < src_.size() ? src_[pos_++] : kEof; }

    std::optional<std::string> get_env(const std::u32string& name) const {
        auto it = env_.find(utf8::encode(name));
        if (it == env_.end()) return std::nullopt;
        return it->second;
    }

    std::pair<std::u32string, std::vector<std::string>> process_stop_on(char32_t stop, bool raw_escapes) {
        bool saved = raw_escapes_;
        raw_escapes_ = raw_escapes;
        std::u32string result;
        Words words;
        while (peek() != kEof) {
            char32_t ch = peek();
            if (stop != kEof && ch == stop) {
                next();
                raw_escapes_ = saved;
                return {result, words.finish()};
            }
            if (ch == '$') {
                std::u32string tmp = process_dollar();
                result += tmp;
                words.add_string(tmp);
            } else if (ch == '\'') {
                std::u32string tmp = process_single_quote();
                result += tmp;
                words.add_raw_string(tmp);
            } else if (ch == '"') {
                std::u32string tmp = process_double_quote();
                result += tmp;
                words.add_raw_string(tmp);
            } else {
                ch = next();
                if (ch == escape_) {
                    if (raw_escapes_) {
                        words.add_raw_char(ch);
                        result.push_back(ch);
                    }
                    ch = next();
                    if (ch == kEof) break;
                    words.add_raw_char(ch);
                } else {
                    words.add_char(ch);
                }
                result.push_back(ch);
            }
        }
        raw_escapes_ = saved;
        if (stop != kEof)
            throw Error("unexpected end of statement while looking for matching " + utf8::encode(std::u32string(1, stop)));
        return {result, words.finish()};
    }

    std::u32string process_single_quote() {
        std::u32string result;
        char32_t ch = next();
        if (raw_quotes_) result.push_back(ch);
        for (;;) {
            ch = next();
            if (ch == kEof) throw Error("unexpected end of statement while looking for matching single-quote");
            if (ch == '\'') {
                if (raw_quotes_) result.push_back(ch);
                return result;
            }
            result.push_back(ch);
        }
    }

    std::u32string process_double_quote() {
        std::u32string result;
        char32_t ch = next();
        if (raw_quotes_) result.push_back(ch);
        for (;;) {
            char32_t p = peek();
            if (p == kEof) throw Error("unexpected end of statement while looking for matching double-quote");
            if (p == '"') {
                ch = next();
                if (raw_quotes_) result.push_back(ch);
                return result;
            }
            if (p == '$') {
                result += process_dollar();
                continue;
            }
            ch = next();
            if (ch == escape_) {
                if (raw_escapes_) result.push_back(ch);
                char32_t n = peek();
                if (n == kEof) continue;  // an escape at the very end is dropped
                if (n == '"' || n == '$' || n == escape_) ch = next();
            }
            result.push_back(ch);
        }
    }

    std::u32string process_name() {
        std::u32string name;
        while (peek() != kEof) {
            char32_t ch = peek();
            if (name.empty() && is_digit(ch)) {
                while (peek() != kEof && is_digit(peek())) name.push_back(next());
                return name;
            }
            if (name.empty() && is_special_param(ch)) {
                name.push_back(next());
                return name;
            }
            if (!is_letter(ch) && !is_digit(ch) && ch != '_') break;
            name.push_back(next());
        }
        return name;
    }

    std::u32string process_dollar() {
        next();  // '$'
        if (peek() != '{') {
            std::u32string name = process_name();
            if (name.empty()) return U"$";
            auto value = get_env(name);
            if (!value && skip_unset_) return U"$" + name;
            return value ? utf8::decode(*value) : std::u32string();
        }
        next();  // '{'
        switch (peek()) {
        case kEof:
            throw Error("syntax error: missing '}'");
        case '{':
        case '}':
        case ':':
            throw Error("syntax error: bad substitution");
        default:
            break;
        }
        std::u32string name = process_name();
        char32_t ch = next();
        std::u32string chs(1, ch);
        bool null_is_unset = false;
        if (ch == kEof) throw Error("syntax error: missing '}'");
        if (ch == '}') {
            auto value = get_env(name);
            if (!value && skip_unset_) return U"${" + name + U"}";
            return value ? utf8::decode(*value) : std::u32string();
        }
        if (ch == ':') {
            null_is_unset = true;
            ch = next();
            if (ch == kEof) throw Error("syntax error: missing '}'");
            chs.push_back(ch);
        }
        if (ch == '+' || ch == '-' || ch == '?' || ch == '#' || ch == '%') {
            bool raw = ch == '#' || ch == '%';
            if (null_is_unset && raw)
                throw Error("unsupported modifier (" + utf8::encode(chs) + ") in substitution");
            std::u32string word;
            try {
                word = process_stop_on('}', raw).first;
            } catch (const Error&) {
                if (peek() == kEof) throw Error("syntax error: missing '}'");
                throw;
            }
            auto value = get_env(name);
            if (skip_unset_ && !value) return U"${" + name + chs + word + U"}";
            std::u32string v = value ? utf8::decode(*value) : std::u32string();
            bool empty = !value || (null_is_unset && v.empty());
            switch (ch) {
            case '-':
                return empty ? word : v;
            case '+':
                return empty ? std::u32string() : word;
            case '?': {
                if (!value) throw Error(utf8::encode(name) + ": " + (word.empty() ? std::string("is not allowed to be unset") : utf8::encode(word)));
                if (null_is_unset && v.empty())
                    throw Error(utf8::encode(name) + ": " + (word.empty() ? std::string("is not allowed to be empty") : utf8::encode(word)));
                return v;
            }
            default: {  // '#' and '%': shortest match, or longest when doubled
                bool greedy = !word.empty() && word[0] == ch;
                if (greedy) word.erase(0, 1);
                if (ch == '#') {
                    for (size_t k = 0; k <= v.size(); ++k) {
                        size_t len = greedy ? v.size() - k : k;
                        if (glob_match(word, 0, v.substr(0, len), 0, escape_)) return v.substr(len);
                    }
                } else {
                    for (size_t k = 0; k <= v.size(); ++k) {
                        size_t start = greedy ? k : v.size() - k;
                        if (glob_match(word, 0, v.substr(start), 0, escape_)) return v.substr(0, start);
                    }
                }
                return v;
            }
            }
        }
        if (ch == '/' && !null_is_unset) {
            bool all = peek() == '/';
            if (all) next();
            std::u32string pattern;
            try {
                pattern = process_stop_on('/', true).first;
            } catch (const Error&) {
                if (peek() == kEof) throw Error("syntax error: missing '/' in ${}");
                throw;
            }
            std::u32string repl;
            try {
                repl = process_stop_on('}', true).first;
            } catch (const Error&) {
                if (peek() == kEof) throw Error("syntax error: missing '}'");
                throw;
            }
            auto value = get_env(name);
            if (skip_unset_ && !value) return U"${" + name + U"/" + pattern + U"/" + repl + U"}";
            std::u32string v = value ? utf8::decode(*value) : std::u32string();
            std::u32string out;
            size_t i = 0;
            while (i <= v.size()) {
                size_t match_len = std::u32string::npos;
                for (size_t len = v.size() - i + 1; len-- > 0;) {
                    if (glob_match(pattern, 0, v.substr(i, len), 0, escape_)) {
                        match_len = len;
                        break;
                    }
                }
                if (match_len == std::u32string::npos) {
                    if (i < v.size()) out.push_back(v[i]);
                    ++i;
                    continue;
                }
                out += repl;
                if (match_len == 0) {
                    if (i < v.size()) out.push_back(v[i]);
                    ++i;
                } else {
                    i += match_len;
                }
                if (!all) {
                    if (i < v.size()) out += v.substr(i);
                    return out;
                }
            }
            return out;
        }
        throw Error("unsupported modifier (" + utf8::encode(chs) + ") in substitution");
    }
};

}  // namespace

std::string ShellLexer::process_word(std::string_view word, const ShellEnv& env) const {
    ShellWord sw(utf8::decode(word), env, options_);
    try {
        return utf8::encode(sw.run().first);
    } catch (const Error& e) {
        throw Error("failed to process \"" + std::string(word) + "\": " + e.what());
    }
}

std::vector<std::string> ShellLexer::process_words(std::string_view word, const ShellEnv& env) const {
    ShellWord sw(utf8::decode(word), env, options_);
    try {
        return sw.run().second;
    } catch (const Error& e) {
        throw Error("failed to process \"" + std::string(word) + "\": " + e.what());
    }
}

std::string expand_word(std::string_view word, const ShellEnv& env, char escape) {
    return ShellLexer(escape).process_word(word, env);
}

std::vector<std::string> expand_words(std::string_view word, const ShellEnv& env, char escape) {
    return ShellLexer(escape).process_words(word, env);
}

bool instruction_expands(std::string_view keyword) {
    static const char* const kExpanding[] = {"ADD",   "ARG",  "COPY",       "ENV",  "EXPOSE", "FROM",
                                             "LABEL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR"};
    std::string upper;
    for (char c : keyword) upper.push_back(static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c));
    for (const char* k : kExpanding)
        if (upper == k) return true;
    return false;
}

}  // namespace minirun::imgbuild
