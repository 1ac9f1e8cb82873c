#pragma once
// A network a container joins beyond its first (`network connect`, `run --network A
// --network B`, a Compose service on several networks): no default route or published
// ports go through it.
#include <string>
#include <vector>

namespace minirun::engine {

struct ExtraNetwork {
    std::string network;
    std::vector<std::string> aliases;
    std::string requested_ip;  // --ip
    std::string ip, mac;       // while connected
};

}  // namespace minirun::engine
