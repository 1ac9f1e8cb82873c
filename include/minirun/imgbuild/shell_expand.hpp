#pragma once
// Variable expansion and word splitting with the semantics of Docker's Dockerfile shell
// lexer (moby/buildkit frontend/dockerfile/shell): single quotes are literal, double quotes
// expand, the escape token (`\` or a backtick) escapes, ${VAR:-w} ${VAR-w} ${VAR:+w}
// ${VAR+w} ${VAR:?e} ${VAR?e} ${VAR#p} ${VAR##p} ${VAR%p} ${VAR%%p} ${VAR/p/r} ${VAR//p/r}.
// Errors (unterminated quotes, bad substitutions, ${X:?msg}) throw minirun::Error.
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace minirun::imgbuild {

// Variables visible to the expansion; a key present with an empty value is "set, null".
using ShellEnv = std::map<std::string, std::string, std::less<>>;

struct ShellLexOptions {
    char escape = '\\';          // the Dockerfile's escape token: '\\' or '`'
    bool raw_quotes = false;     // keep quote characters in the output
    bool raw_escapes = false;    // keep escape characters in the output
    bool skip_unset_env = false; // leave references to unset variables untouched
};

class ShellLexer {
public:
    ShellLexer() = default;
    explicit ShellLexer(ShellLexOptions options) : options_(options) {}
    explicit ShellLexer(char escape) { options_.escape = escape; }

    // One word: quotes removed, variables substituted, no splitting (Docker's ProcessWord).
    std::string process_word(std::string_view word, const ShellEnv& env) const;
    // Split into words the way Docker's ProcessWords does: unquoted whitespace, including
    // whitespace that comes from an unquoted variable's value, separates words.
    std::vector<std::string> process_words(std::string_view word, const ShellEnv& env) const;

    const ShellLexOptions& options() const { return options_; }

private:
    ShellLexOptions options_;
};

// Convenience forms.
std::string expand_word(std::string_view word, const ShellEnv& env, char escape = '\\');
std::vector<std::string> expand_words(std::string_view word, const ShellEnv& env, char escape = '\\');

// Whether Docker substitutes build variables in this instruction's arguments
// (keyword in any case): ADD ARG COPY ENV EXPOSE FROM LABEL STOPSIGNAL USER VOLUME WORKDIR.
// RUN, CMD, ENTRYPOINT, SHELL, HEALTHCHECK, ONBUILD and MAINTAINER are not expanded.
bool instruction_expands(std::string_view keyword);

}  // namespace minirun::imgbuild
