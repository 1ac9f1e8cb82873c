// The embedded resolver's message handling: queries parsed strictly, answers built from
// the network's names, everything else left for the upstreams; the container's
// resolv.conf that points at it.
#include <doctest/doctest.h>

#include <random>
#include <string>

#include "minirun/network/dns_message.hpp"
#include "minirun/network/hosts_files.hpp"

using namespace minirun::network;
using namespace minirun::network::dns;

namespace {

std::string query(uint16_t id, const std::string& name, uint16_t type, uint16_t qclass = kClassIN, uint16_t flags = 0x0100) {
    std::string m;
    auto put16 = [&](uint16_t v) {
        m += static_cast<char>(v >> 8);
        m += static_cast<char>(v & 0xff);
    };
    put16(id), put16(flags), put16(1), put16(0), put16(0), put16(0);
    size_t start = 0;
    while (start < name.size()) {
        size_t dot = name.find('.', start);
        if (dot == std::string::npos) dot = name.size();
        m += static_cast<char>(dot - start);
        m += name.substr(start, dot - start);
        start = dot + 1;
    }
    m += '\0';
    put16(type), put16(qclass);
    return m;
}

uint16_t u16(const std::string& m, size_t at) {
    return static_cast<uint16_t>((static_cast<uint8_t>(m[at]) << 8) | static_cast<uint8_t>(m[at + 1]));
}

Table sample() {
    Table t;
    t.add({"web", "WWW.", "0123456789ab"}, 0xac120002);  // 172.18.0.2
    t.add({"api", "www"}, 0xac120003);
    return t;
}

}  // namespace

TEST_CASE("dns: a standard query is parsed, names lower-cased") {
    auto raw = query(0x1234, "Web.Example", kTypeA);
    auto q = parse_query(raw);
    REQUIRE(q);
    CHECK(q->id == 0x1234);
    CHECK(q->recursion_desired);
    CHECK(q->name == "web.example");
    CHECK(q->type == kTypeA);
    CHECK(q->qclass == kClassIN);
    CHECK(q->question_end == raw.size());
    CHECK(message_id(raw) == 0x1234);
}

TEST_CASE("dns: anything but one plain question is refused") {
    CHECK_FALSE(parse_query(""));
    CHECK_FALSE(parse_query(std::string(11, '\0')));
    CHECK_FALSE(parse_query(query(1, "web", kTypeA, kClassIN, 0x8100)));  // a reply
    CHECK_FALSE(parse_query(query(1, "web", kTypeA, kClassIN, 0x2800)));  // opcode UPDATE
    auto two = query(1, "web", kTypeA);
    two[5] = 2;  // QDCOUNT 2
    CHECK_FALSE(parse_query(two));
    auto pointer = query(1, "web", kTypeA);
    pointer[12] = static_cast<char>(0xc0);  // a compression pointer in the question
    CHECK_FALSE(parse_query(pointer));
    auto overrun = query(1, "web", kTypeA);
    overrun[12] = 40;  // a label longer than the message
    CHECK_FALSE(parse_query(overrun));
    std::string long_name;
    for (int i = 0; i < 5; ++i) long_name += std::string(60, 'a') + ".";
    long_name.pop_back();
    CHECK_FALSE(parse_query(query(1, long_name, kTypeA)));  // over 255 octets
    auto cut = query(1, "web", kTypeA);
    CHECK_FALSE(parse_query(cut.substr(0, cut.size() - 1)));  // no room for the class
}

TEST_CASE("dns: random and truncated input never reads out of bounds") {
    std::mt19937 rng(7);
    auto valid = query(9, "a.b.c", kTypeA);
    for (size_t n = 0; n < valid.size(); ++n) CHECK_FALSE(parse_query(valid.substr(0, n)));
    Table t = sample();
    for (int i = 0; i < 3000; ++i) {
        std::string m(rng() % 80, '\0');
        for (auto& c : m) c = static_cast<char>(rng());
        if (m.size() > 2) m[2] &= 0x07;  // mostly queries, so the name parser is exercised
        if (m.size() > 5) m[4] = 0, m[5] = 1;
        if (auto q = parse_query(m)) (void)local_answer(t, *q, m);
    }
}

TEST_CASE("dns: members' names answer A records with every address") {
    Table t = sample();
    auto raw = query(0xbeef, "WWW", kTypeA);
    auto q = parse_query(raw);
    REQUIRE(q);
    auto reply = local_answer(t, *q, raw);
    REQUIRE(reply);
    CHECK(u16(*reply, 0) == 0xbeef);
    CHECK((u16(*reply, 2) & 0x8000) != 0);      // QR
    CHECK((u16(*reply, 2) & 0x000f) == 0);      // NOERROR
    CHECK((u16(*reply, 2) & 0x0100) != 0);      // RD copied
    CHECK(u16(*reply, 4) == 1);
    CHECK(u16(*reply, 6) == 2);                 // two containers share the alias
    size_t at = raw.size();
    CHECK(u16(*reply, at) == 0xc00c);
    CHECK(u16(*reply, at + 2) == kTypeA);
    CHECK(u16(*reply, at + 10) == 4);
    CHECK(reply->substr(at + 12, 4) == std::string("\xac\x12\x00\x02", 4));
    CHECK(reply->substr(at + 28, 4) == std::string("\xac\x12\x00\x03", 4));
    CHECK(reply->size() == raw.size() + 2 * 16);

    auto by_id = query(1, "0123456789ab", kTypeA);
    CHECK(local_answer(t, *parse_query(by_id), by_id));
}

TEST_CASE("dns: other types of a member's name get no records, other names go upstream") {
    Table t = sample();
    auto aaaa = query(2, "web", kTypeAAAA);
    auto r = local_answer(t, *parse_query(aaaa), aaaa);
    REQUIRE(r);
    CHECK((u16(*r, 2) & 0x000f) == kRcodeNoError);
    CHECK(u16(*r, 6) == 0);
    auto other = query(3, "example.org", kTypeA);
    CHECK_FALSE(local_answer(t, *parse_query(other), other));
    auto chaos = query(4, "web", kTypeA, 3);
    CHECK_FALSE(local_answer(t, *parse_query(chaos), chaos));
    auto fail = error_reply(*parse_query(other), other, kRcodeServFail);
    CHECK((u16(fail, 2) & 0x000f) == kRcodeServFail);
    CHECK(fail.size() == other.size());
}

TEST_CASE("dns: reverse lookups of members' addresses") {
    CHECK(reverse_name_address("2.0.18.172.in-addr.arpa") == 0xac120002u);
    CHECK_FALSE(reverse_name_address("0.18.172.in-addr.arpa"));
    CHECK_FALSE(reverse_name_address("x.0.18.172.in-addr.arpa"));
    CHECK_FALSE(reverse_name_address("in-addr.arpa"));
    Table t = sample();
    auto ptr = query(5, "2.0.18.172.in-addr.arpa", kTypePTR);
    auto r = local_answer(t, *parse_query(ptr), ptr);
    REQUIRE(r);
    CHECK(u16(*r, 6) == 1);
    CHECK(r->substr(ptr.size() + 12) == std::string("\x03web\x00", 5));
    auto unknown = query(6, "9.0.18.172.in-addr.arpa", kTypePTR);
    CHECK_FALSE(local_answer(t, *parse_query(unknown), unknown));
}

TEST_CASE("dns: the container's resolv.conf points at 127.0.0.11") {
    std::string host = "search corp.example\nnameserver 10.0.0.2\nnameserver 10.0.0.3\noptions timeout:2\n";
    CHECK(embedded_resolv_conf(host, {}, {}) ==
          "search corp.example\nnameserver 127.0.0.11\noptions timeout:2 ndots:0\n");
    CHECK(embedded_resolv_conf(host, {"a.test"}, {"ndots:2"}) == "search a.test\nnameserver 127.0.0.11\noptions ndots:2\n");
    CHECK(nameservers(host) == std::vector<std::string>{"10.0.0.2", "10.0.0.3"});
    CHECK(nameservers("# none\n").empty());
}
