#pragma once
// Names of networks and of the devices made for them. Pure, unit-tested.
#include <cstddef>
#include <string>

namespace minirun::network {

// "mr" + 8 hex of the id + "h" (ids that are not hex use their stable_hex); <= 15 chars.
std::string veth_name(const std::string& container_id);
// A stable, non-cryptographic hex name of `len` digits for `s` (FNV-1a): ids and device
// names only need to be distinct, and keeping OpenSSL out of the supervisor keeps it small.
std::string stable_hex(const std::string& s, size_t len);
// "br-" + the first 12 characters of the network id.
std::string bridge_name(const std::string& network_id);
// Docker's rule: [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 64 characters.
bool valid_network_name(const std::string& name);

}  // namespace minirun::network
