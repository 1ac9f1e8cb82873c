// Docker image reference grammar, hand-written (std::regex is slow and recursive).
// Semantics follow github.com/distribution/reference's ParseNormalizedNamed:
//   reference := name [":" tag] ["@" digest]
//   name      := [domain "/"] path-component ["/" path-component]*
#include "minirun/image/reference.hpp"

#include "minirun/common/error.hpp"

#include <cstdio>
#include <optional>

namespace minirun::image {
namespace {

constexpr std::string_view kDockerHub = "docker.io";
constexpr std::string_view kLegacyDockerHub = "index.docker.io";
constexpr std::string_view kDockerHubApi = "registry-1.docker.io";
constexpr std::string_view kOfficialPrefix = "library/";
constexpr std::string_view kDefaultTag = "latest";
constexpr std::size_t kMaxPathLength = 255;  // distribution's RepositoryNameTotalLengthMax
constexpr std::size_t kMaxTagLength = 128;
constexpr std::size_t kSha256HexLength = 64;

// An empty optional means "valid"; otherwise the reason it is not.
using Problem = std::optional<std::string>;

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_lower_alnum(c) || is_upper(c); }
bool is_lower_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); }
bool is_hex(char c) { return is_lower_hex(c) || (c >= 'A' && c <= 'F'); }
bool is_word(char c) { return is_alnum(c) || c == '_'; }

bool has_upper(std::string_view s) {
    for (char c : s)
        if (is_upper(c)) return true;
    return false;
}

bool all_of(std::string_view s, bool (*pred)(char)) {
    for (char c : s)
        if (!pred(c)) return false;
    return true;
}

// Keeps error messages on one line whatever bytes the user typed.
std::string quoted(std::string_view text) {
    std::string out = "\"";
    for (char c : text) {
        auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (u < 0x20 || u == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", u);
            out += buf;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

// ---- digests ---------------------------------------------------------------

Problem digest_problem(std::string_view digest) {
    if (digest.empty()) return "digest is empty";
    auto colon = digest.find(':');
    if (colon == std::string_view::npos) return "digest must look like sha256:<64 hex digits>";
    auto algorithm = digest.substr(0, colon);
    auto hex = digest.substr(colon + 1);
    // Registries also speak sha384/sha512, but we only ever verify sha256.
    if (algorithm != "sha256")
        return "unsupported digest algorithm " + quoted(algorithm) + " (only sha256 is accepted)";
    if (hex.size() != kSha256HexLength)
        return "sha256 digest must have 64 hex digits, not " + std::to_string(hex.size());
    if (!all_of(hex, is_lower_hex)) return "sha256 digest must be lowercase hex";
    return std::nullopt;
}

// ---- registry (domain) -----------------------------------------------------

// One DNS label: alnum, inner dashes allowed; upper case allowed (hostnames are case-blind).
bool is_domain_label(std::string_view label) {
    if (label.empty() || !is_alnum(label.front()) || !is_alnum(label.back())) return false;
    for (char c : label)
        if (!is_alnum(c) && c != '-') return false;
    return true;
}

bool is_domain_name(std::string_view host) {
    while (true) {
        auto dot = host.find('.');
        if (!is_domain_label(host.substr(0, dot))) return false;
        if (dot == std::string_view::npos) return true;
        host.remove_prefix(dot + 1);
    }
}

// Docker only checks the character set of bracketed IPv6 literals, not their shape.
bool is_ipv6_literal(std::string_view host) {
    return host.size() > 2 && host.front() == '[' && host.back() == ']' &&
           all_of(host.substr(1, host.size() - 2), [](char c) { return is_hex(c) || c == ':'; });
}

Problem domain_problem(std::string_view domain) {
    // The port separator is the first ':' after any "[...]" IPv6 literal.
    std::size_t host_end = 0;
    if (!domain.empty() && domain.front() == '[') {
        auto close = domain.find(']');
        if (close == std::string_view::npos) return "invalid registry host " + quoted(domain);
        host_end = close + 1;
    }
    auto colon = domain.find(':', host_end);
    auto host = domain.substr(0, colon);
    bool bracketed = host_end != 0;
    if (bracketed ? !is_ipv6_literal(host) : !is_domain_name(host))
        return "invalid registry host " + quoted(host);
    if (colon == std::string_view::npos) return std::nullopt;
    auto port = domain.substr(colon + 1);
    // Docker accepts any run of digits; range is left to the connection attempt.
    if (port.empty() || !all_of(port, is_digit)) return "invalid registry port " + quoted(port);
    return std::nullopt;
}

// ---- repository path -------------------------------------------------------

// alnum+ ( ("." | "_" | "__" | "-"+) alnum+ )*
Problem component_problem(std::string_view comp) {
    if (comp.empty()) return "empty path component";
    auto bad = [&](std::string_view why) { return "path component " + quoted(comp) + " " + std::string(why); };
    if (!is_lower_alnum(comp.front())) return bad("must start with a lowercase letter or digit");
    if (!is_lower_alnum(comp.back())) return bad("must end with a lowercase letter or digit");
    std::size_t i = 0;
    while (i < comp.size()) {
        if (is_lower_alnum(comp[i])) {
            ++i;
            continue;
        }
        // A separator run, which the checks above guarantee is followed by alnum.
        std::size_t start = i;
        while (i < comp.size() && !is_lower_alnum(comp[i])) ++i;
        auto sep = comp.substr(start, i - start);
        bool ok = sep == "." || sep == "_" || sep == "__" || all_of(sep, [](char c) { return c == '-'; });
        if (!ok) return bad("has invalid separator " + quoted(sep));
    }
    return std::nullopt;
}

Problem path_problem(std::string_view path) {
    if (path.empty()) return "repository name is empty";
    while (true) {
        auto slash = path.find('/');
        if (auto p = component_problem(path.substr(0, slash))) return p;
        if (slash == std::string_view::npos) return std::nullopt;
        path.remove_prefix(slash + 1);
    }
}

// ---- tag -------------------------------------------------------------------

// [\w][\w.-]{0,127}
Problem tag_problem(std::string_view tag) {
    if (tag.empty()) return "invalid tag: empty after ':'";
    if (tag.size() > kMaxTagLength)
        return "invalid tag: too long (" + std::to_string(tag.size()) + " > 128 characters)";
    if (!is_word(tag.front())) return "invalid tag " + quoted(tag) + ": must start with a letter, digit or '_'";
    for (char c : tag)
        if (!is_word(c) && c != '.' && c != '-') return "invalid tag " + quoted(tag);
    return std::nullopt;
}

// ---- splitting -------------------------------------------------------------

struct Split {
    std::string_view domain;     // as typed; empty means Docker Hub
    std::string_view remainder;  // path[:tag]
};

// Docker's rule: the first component is a registry if it is "localhost", contains
// '.' or ':', or has upper case (a path may not, so it can only be a host).
Split split_domain(std::string_view name) {
    auto slash = name.find('/');
    if (slash == std::string_view::npos) return {{}, name};
    auto first = name.substr(0, slash);
    bool is_domain = first == "localhost" || first.find_first_of(".:") != std::string_view::npos || has_upper(first);
    if (!is_domain) return {{}, name};
    return {first, name.substr(slash + 1)};
}

// 64 bare hex digits look like an image ID; Docker refuses them as names.
bool is_image_id(std::string_view text) { return text.size() == kSha256HexLength && all_of(text, is_lower_hex); }

[[noreturn]] void fail(std::string_view text, std::string_view reason) {
    throw Error("invalid reference " + quoted(text) + ": " + std::string(reason));
}

void check(std::string_view text, const Problem& problem) {
    if (problem) fail(text, *problem);
}

}  // namespace

Reference Reference::parse(std::string_view text) {
    if (text.empty()) fail(text, "reference is empty");
    if (is_image_id(text)) fail(text, "cannot use a 64-character hex image ID as a repository name");

    // Names and tags cannot contain '@', so the first one starts the digest.
    auto at = text.find('@');
    auto name_tag = text.substr(0, at);
    Reference ref;
    if (at != std::string_view::npos) {
        auto digest = text.substr(at + 1);
        if (auto p = digest_problem(digest)) fail(text, "invalid digest: " + *p);
        ref.digest = digest;
    }

    auto [domain, remainder] = split_domain(name_tag);
    // Outside the domain, paths cannot contain ':', so the first one starts the tag.
    auto colon = remainder.find(':');
    auto path = remainder.substr(0, colon);
    if (has_upper(path)) fail(text, "repository name must be lowercase");
    if (!domain.empty()) check(text, domain_problem(domain));
    check(text, path_problem(path));
    if (colon != std::string_view::npos) {
        auto tag = remainder.substr(colon + 1);
        check(text, tag_problem(tag));
        ref.tag = tag;
    }

    ref.registry = domain.empty() || domain == kLegacyDockerHub ? kDockerHub : domain;
    // Docker Hub's single-component names are the official "library/" images.
    bool official = ref.registry == kDockerHub && path.find('/') == std::string_view::npos;
    ref.repository = official ? std::string(kOfficialPrefix) + std::string(path) : std::string(path);
    if (ref.repository.size() > kMaxPathLength)
        fail(text, "repository name too long (" + std::to_string(ref.repository.size()) + " > 255 characters)");

    if (ref.tag.empty() && ref.digest.empty()) ref.tag = kDefaultTag;
    return ref;
}

std::string Reference::api_host() const { return registry == kDockerHub ? std::string(kDockerHubApi) : registry; }

std::string Reference::name() const { return registry + "/" + repository; }

namespace {
std::string with_suffixes(std::string base, const std::string& tag, const std::string& digest) {
    if (!tag.empty()) base += ":" + tag;
    if (!digest.empty()) base += "@" + digest;
    return base;
}
}  // namespace

std::string Reference::str() const { return with_suffixes(name(), tag, digest); }

std::string Reference::familiar() const {
    if (registry != kDockerHub) return str();
    std::string_view path = repository;
    // Only a direct child of library/ is shortened, as Docker does ("library/a/b" stays).
    if (path.starts_with(kOfficialPrefix) && path.find('/', kOfficialPrefix.size()) == std::string_view::npos)
        path.remove_prefix(kOfficialPrefix.size());
    return with_suffixes(std::string(path), tag, digest);
}

void validate_digest(std::string_view digest, std::string_view what) {
    if (auto p = digest_problem(digest)) throw Error("invalid " + std::string(what) + " " + quoted(digest) + ": " + *p);
}

bool is_valid_digest(std::string_view digest) { return !digest_problem(digest); }

}  // namespace minirun::image
