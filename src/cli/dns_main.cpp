// minirun-dns: the embedded DNS resolver of one user-defined network (dns_resolver.hpp).
// Started by the connect of the network's first container, gone after its last.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "minirun/common/error.hpp"
#include "minirun/network/dns_resolver.hpp"

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: minirun-dns NETWORKS_STATE_DIR NETWORK READY_FD\n");
        return 2;
    }
    try {
        return minirun::network::run_resolver(argv[1], argv[2], std::atoi(argv[3]));
    } catch (const minirun::Error& e) {
        std::fprintf(stderr, "minirun-dns: %s\n", e.what());
        return 1;
    }
}
