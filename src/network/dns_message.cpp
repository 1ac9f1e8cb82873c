// DNS query parsing and local answers (dns_message.hpp).
#include "minirun/network/dns_message.hpp"

#include <algorithm>
#include <cctype>

#include "minirun/common/strings.hpp"
#include "minirun/network/addressing.hpp"

namespace minirun::network::dns {

namespace {

uint16_t u16(std::string_view raw, size_t at) {
    return static_cast<uint16_t>((static_cast<uint8_t>(raw[at]) << 8) | static_cast<uint8_t>(raw[at + 1]));
}

void put16(std::string& out, uint16_t v) {
    out += static_cast<char>(v >> 8);
    out += static_cast<char>(v & 0xff);
}

void put32(std::string& out, uint32_t v) {
    put16(out, static_cast<uint16_t>(v >> 16));
    put16(out, static_cast<uint16_t>(v & 0xffff));
}

// A name in wire form: length-prefixed labels, then the root.
std::string encode_name(const std::string& name) {
    std::string out;
    size_t start = 0;
    while (start < name.size()) {
        size_t dot = name.find('.', start);
        if (dot == std::string::npos) dot = name.size();
        size_t len = std::min<size_t>(dot - start, 63);
        out += static_cast<char>(len);
        out.append(name, start, len);
        start = dot + 1;
    }
    out += '\0';
    return out;
}

constexpr uint32_t kTtl = 600;

// Header and question of a reply: the query's id and question, QR and RA set, RD copied.
std::string reply_head(const Query& q, std::string_view raw, uint16_t rcode, uint16_t answers) {
    std::string out;
    put16(out, q.id);
    uint16_t flags = 0x8000 | 0x0080 | (q.recursion_desired ? 0x0100 : 0) | (rcode & 0xf);
    put16(out, flags);
    put16(out, 1);
    put16(out, answers);
    put16(out, 0);
    put16(out, 0);
    out.append(raw.substr(kHeaderSize, q.question_end - kHeaderSize));
    return out;
}

}  // namespace

std::optional<Query> parse_query(std::string_view raw) {
    if (raw.size() < kHeaderSize) return std::nullopt;
    Query q;
    q.id = u16(raw, 0);
    uint16_t flags = u16(raw, 2);
    if ((flags & 0x8000) != 0 || ((flags >> 11) & 0xf) != 0) return std::nullopt;  // a reply, or not QUERY
    if (u16(raw, 4) != 1) return std::nullopt;
    q.recursion_desired = (flags & 0x0100) != 0;
    size_t at = kHeaderSize;
    size_t total = 0;
    for (;;) {
        if (at >= raw.size()) return std::nullopt;
        uint8_t len = static_cast<uint8_t>(raw[at++]);
        if (len == 0) break;
        if (len > 63) return std::nullopt;  // compression pointers have no place in a question
        if (at + len > raw.size()) return std::nullopt;
        total += len + 1u;
        if (total > 255) return std::nullopt;
        if (!q.name.empty()) q.name += '.';
        for (size_t i = 0; i < len; ++i) q.name += static_cast<char>(std::tolower(static_cast<unsigned char>(raw[at + i])));
        at += len;
    }
    if (at + 4 > raw.size()) return std::nullopt;
    q.type = u16(raw, at);
    q.qclass = u16(raw, at + 2);
    q.question_end = at + 4;
    return q;
}

uint16_t message_id(std::string_view raw) { return raw.size() < 2 ? 0 : u16(raw, 0); }

void Table::add(const std::vector<std::string>& names_of_ip, uint32_t ip) {
    for (const auto& n : names_of_ip) {
        if (n.empty()) continue;
        std::string key = lower(n);
        while (!key.empty() && key.back() == '.') key.pop_back();
        auto& list = addresses[key];
        if (std::find(list.begin(), list.end(), ip) == list.end()) list.push_back(ip);
        names.emplace(ip, key);  // the first name given wins
    }
}

std::optional<uint32_t> reverse_name_address(std::string_view name) {
    constexpr std::string_view suffix = ".in-addr.arpa";
    if (name.size() <= suffix.size() || name.substr(name.size() - suffix.size()) != suffix) return std::nullopt;
    auto octets = split(name.substr(0, name.size() - suffix.size()), '.');
    if (octets.size() != 4) return std::nullopt;
    return parse_ipv4(octets[3] + "." + octets[2] + "." + octets[1] + "." + octets[0]);
}

std::optional<std::string> local_answer(const Table& table, const Query& q, std::string_view raw) {
    if (q.qclass != kClassIN) return std::nullopt;
    if (q.type == kTypePTR) {
        auto ip = reverse_name_address(q.name);
        if (!ip) return std::nullopt;
        auto it = table.names.find(*ip);
        if (it == table.names.end()) return std::nullopt;
        std::string out = reply_head(q, raw, kRcodeNoError, 1);
        std::string target = encode_name(it->second);
        put16(out, 0xc00c);  // the question's name
        put16(out, kTypePTR);
        put16(out, kClassIN);
        put32(out, kTtl);
        put16(out, static_cast<uint16_t>(target.size()));
        out += target;
        return out;
    }
    auto it = table.addresses.find(q.name);
    if (it == table.addresses.end()) return std::nullopt;
    if (q.type != kTypeA) return reply_head(q, raw, kRcodeNoError, 0);  // the name is ours: no other records
    std::string out = reply_head(q, raw, kRcodeNoError, static_cast<uint16_t>(it->second.size()));
    for (uint32_t ip : it->second) {
        put16(out, 0xc00c);
        put16(out, kTypeA);
        put16(out, kClassIN);
        put32(out, kTtl);
        put16(out, 4);
        put32(out, ip);
    }
    return out;
}

std::string error_reply(const Query& q, std::string_view raw, uint16_t rcode) { return reply_head(q, raw, rcode, 0); }

}  // namespace minirun::network::dns
