// Network and device names.
#include "minirun/network/names.hpp"

#include <algorithm>
#include <cstdint>

#include "minirun/common/names.hpp"
#include "minirun/common/strings.hpp"

namespace minirun::network {

std::string stable_hex(const std::string& s, size_t len) {
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (uint64_t round = 0; out.size() < len; ++round) {
        uint64_t h = 1469598103934665603ull ^ (round * 0x9e3779b97f4a7c15ull);
        for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
        for (int i = 0; i < 16 && out.size() < len; ++i, h >>= 4) out += digits[h & 15];
    }
    return out;
}

std::string veth_name(const std::string& container_id) {
    std::string id = lower(container_id);
    bool hex = id.size() >= 8 && std::all_of(id.begin(), id.begin() + 8, [](char c) {
                   return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
               });
    std::string part = hex ? id.substr(0, 8) : stable_hex(container_id, 8);
    return "mr" + part + "h";
}

std::string bridge_name(const std::string& network_id) { return "br-" + network_id.substr(0, 12); }

bool valid_network_name(const std::string& name) {
    return is_valid_object_name(name, 64);
}
}  // namespace minirun::network
