#pragma once
// Published ports: Docker's -p syntax, its display form and the clash rule between
// mappings. Pure (no system access), unit-tested.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace minirun::network {

struct PortMapping {
    std::string host_ip;  // "" = every host address
    uint16_t host_port = 0;  // 0 = pick a free one at connect
    uint16_t container_port = 0;
    std::string protocol = "tcp";  // tcp, udp or sctp
    bool operator==(const PortMapping&) const = default;
};

// Docker's -p syntax: [ip:]host:container[/proto], [ip:]:container (random host port),
// container (random host port). Throws Error naming the value: invalid -p "x": ...
PortMapping parse_port_mapping(const std::string& text);
// "0.0.0.0:8080->80/tcp" as `docker ps` shows it.
std::string format_port_mapping(const PortMapping& p);
// `docker port`'s line: "80/tcp -> 0.0.0.0:8080".
std::string format_port_line(const PortMapping& p);
// The mappings `docker port NAME PRIVATE[/PROTO]` shows: container port PRIVATE with that
// protocol (tcp when absent). Throws Error naming `text` when it is not a port.
std::vector<PortMapping> select_container_port(const std::vector<PortMapping>& ports, const std::string& text);
// The inverse of format_port_mapping (records written before ports were typed hold it).
PortMapping parse_formatted_port_mapping(const std::string& text);
// "80/tcp": the key Docker's inspect uses for a container port.
std::string container_port_key(const PortMapping& p);
// The inverse of one inspect PortBindings entry: {"80/tcp": [{"HostIp", "HostPort"}]}.
PortMapping port_binding(const std::string& key, const std::string& host_ip, const std::string& host_port);

// A port or range as EXPOSE writes it: "80", "80/UDP", "8000-8010/tcp" (protocol
// lower-cased, tcp when absent). nullopt when it is not one.
struct PortRange {
    uint16_t first = 0, last = 0;
    std::string protocol = "tcp";
};
std::optional<PortRange> parse_port_range(std::string_view text);

// True for "" and 0.0.0.0: the mapping listens on every host address.
bool binds_all_addresses(const std::string& host_ip);
// Two mappings clash when protocol and host port match and the host addresses overlap.
bool ports_clash(const PortMapping& a, const PortMapping& b);
struct Published {
    std::string container_id, container_name;
    PortMapping port;
};
// Throws Error("port 8080 is already published by container web") (also for a clash
// inside `wanted` itself).
void check_port_conflicts(const std::vector<PortMapping>& wanted, const std::vector<Published>& existing);

}  // namespace minirun::network
