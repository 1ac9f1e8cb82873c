#pragma once
// DNS messages (RFC 1035) as the embedded resolver needs them: parse a query, answer it
// from the network's own names or say it must be forwarded. Pure, unit-tested; every
// read is bounds-checked, since queries come from containers and replies from upstreams.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace minirun::network::dns {

constexpr uint16_t kTypeA = 1, kTypePTR = 12, kTypeAAAA = 28, kClassIN = 1;
constexpr uint16_t kRcodeNoError = 0, kRcodeFormErr = 1, kRcodeServFail = 2, kRcodeNxDomain = 3;
constexpr size_t kHeaderSize = 12;

struct Query {
    uint16_t id = 0;
    bool recursion_desired = false;
    std::string name;  // lower-case, no trailing dot ("" = the root)
    uint16_t type = 0, qclass = 0;
    size_t question_end = 0;  // offset just past the question in the raw message
};

// A standard query (QR=0, opcode 0) with exactly one question whose name uses no
// compression; nullopt for anything else.
std::optional<Query> parse_query(std::string_view raw);

// The message id of any message (0 when shorter than a header).
uint16_t message_id(std::string_view raw);

// The names a network answers for: A records by lower-cased name, PTR by address.
struct Table {
    std::map<std::string, std::vector<uint32_t>> addresses;  // host byte order
    std::map<uint32_t, std::string> names;                   // the first name of each address
    // Adds `ip` under every name (lower-cased; empty names are skipped).
    void add(const std::vector<std::string>& names, uint32_t ip);
};

// The reply to `q` (whose raw bytes are `raw`) from `table`, or nullopt when the name is
// not the network's and the query must go upstream. Known names answer A with every
// address (TTL 600 as Docker's) and any other type with no records; PTR answers for
// the network's addresses.
std::optional<std::string> local_answer(const Table& table, const Query& q, std::string_view raw);

// A reply carrying only the question and `rcode` (SERVFAIL when no upstream answered).
std::string error_reply(const Query& q, std::string_view raw, uint16_t rcode);

// "d.c.b.a.in-addr.arpa" → a.b.c.d in host byte order; nullopt for other names.
std::optional<uint32_t> reverse_name_address(std::string_view name);

}  // namespace minirun::network::dns
