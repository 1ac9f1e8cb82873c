// The embedded DNS resolver's process and its starter (dns_resolver.hpp).
#include "minirun/network/dns_resolver.hpp"

#include <arpa/inet.h>
#include <linux/close_range.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <list>
#include <map>
#include <memory>
#include <thread>

#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"
#include "minirun/common/log.hpp"
#include "minirun/network/addressing.hpp"
#include "minirun/network/dns_message.hpp"
#include "minirun/network/hosts_files.hpp"
#include "minirun/network/names.hpp"
#include "minirun/network/networks.hpp"

namespace minirun::network {

namespace stdfs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kUpstreamTimeoutMs = 2000;  // per upstream, then the next one
constexpr size_t kMaxPending = 256;       // forwarded UDP queries in flight
constexpr int kMaxTcpClients = 16;
constexpr size_t kMaxMessage = 65535;

// The control socket's abstract name: one per state directory and network.
sockaddr_un control_address(const stdfs::path& state_dir, const std::string& network, socklen_t& len) {
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::string name = "minirun-dns:" + stable_hex(stdfs::absolute(state_dir).lexically_normal().string(), 16) +
                       ":" + stable_hex(network, 16);
    std::memcpy(a.sun_path + 1, name.data(), name.size());  // sun_path[0] = 0: abstract
    len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
    return a;
}

struct Upstream {
    sockaddr_storage addr{};
    socklen_t len = 0;
};

std::vector<Upstream> parse_upstreams(const std::vector<std::string>& servers) {
    std::vector<Upstream> out;
    for (const auto& s : servers) {
        Upstream u;
        auto* v4 = reinterpret_cast<sockaddr_in*>(&u.addr);
        auto* v6 = reinterpret_cast<sockaddr_in6*>(&u.addr);
        if (::inet_pton(AF_INET, s.c_str(), &v4->sin_addr) == 1) {
            v4->sin_family = AF_INET;
            v4->sin_port = htons(53);
            u.len = sizeof(sockaddr_in);
        } else if (::inet_pton(AF_INET6, s.substr(0, s.find('%')).c_str(), &v6->sin6_addr) == 1) {
            v6->sin6_family = AF_INET6;
            v6->sin6_port = htons(53);
            u.len = sizeof(sockaddr_in6);
        } else {
            continue;
        }
        out.push_back(u);
    }
    return out;
}

// The host's nameservers, re-read when /etc/resolv.conf changes.
class HostServers {
public:
    const std::vector<Upstream>& get() {
        struct stat st {};
        if (::stat("/etc/resolv.conf", &st) == 0 &&
            (st.st_mtim.tv_sec != seen_.tv_sec || st.st_mtim.tv_nsec != seen_.tv_nsec || !loaded_)) {
            seen_ = st.st_mtim;
            loaded_ = true;
            try {
                servers_ = parse_upstreams(nameservers(fs::read_file("/etc/resolv.conf", 1 << 20)));
            } catch (const Error&) {
                servers_.clear();
            }
        }
        return servers_;
    }

private:
    timespec seen_{};
    bool loaded_ = false;
    std::vector<Upstream> servers_;
};

bool send_reply(int fd, const std::string& msg, const sockaddr_storage& to, socklen_t to_len) {
    return ::sendto(fd, msg.data(), msg.size(), MSG_DONTWAIT | MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&to), to_len) >= 0;
}

// Reads or writes exactly `n` bytes on a blocking socket with timeouts set.
bool read_exact(int fd, char* p, size_t n) {
    while (n > 0) {
        ssize_t r = ::recv(fd, p, n, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return false;
        p += r, n -= static_cast<size_t>(r);
    }
    return true;
}

bool write_exact(int fd, const char* p, size_t n) {
    while (n > 0) {
        ssize_t r = ::send(fd, p, n, MSG_NOSIGNAL);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return false;
        p += r, n -= static_cast<size_t>(r);
    }
    return true;
}

void set_timeouts(int fd, int ms) {
    timeval tv{ms / 1000, (ms % 1000) * 1000};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

// One DNS-over-TCP exchange with an upstream: the reply, "" on failure.
std::string tcp_forward(const Upstream& up, const std::string& query) {
    fs::UniqueFd s(::socket(up.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!s) return "";
    set_timeouts(s.get(), kUpstreamTimeoutMs);
    if (::connect(s.get(), reinterpret_cast<const sockaddr*>(&up.addr), up.len) != 0) return "";
    char len[2] = {static_cast<char>(query.size() >> 8), static_cast<char>(query.size() & 0xff)};
    if (!write_exact(s.get(), len, 2) || !write_exact(s.get(), query.data(), query.size())) return "";
    if (!read_exact(s.get(), len, 2)) return "";
    size_t n = (static_cast<uint8_t>(len[0]) << 8) | static_cast<uint8_t>(len[1]);
    std::string reply(n, '\0');
    if (n < dns::kHeaderSize || !read_exact(s.get(), reply.data(), n)) return "";
    return reply;
}

std::atomic<int> tcp_clients{0};

// A TCP client of one member: length-prefixed queries until it closes or idles 5 s.
void serve_tcp(fs::UniqueFd conn, std::shared_ptr<const dns::Table> table, std::vector<Upstream> upstreams) {
    set_timeouts(conn.get(), 5000);
    for (;;) {
        char len[2];
        if (!read_exact(conn.get(), len, 2)) break;
        size_t n = (static_cast<uint8_t>(len[0]) << 8) | static_cast<uint8_t>(len[1]);
        std::string raw(n, '\0');
        if (!read_exact(conn.get(), raw.data(), n)) break;
        auto q = dns::parse_query(raw);
        if (!q) break;
        std::string reply;
        if (auto local = dns::local_answer(*table, *q, raw)) reply = *local;
        for (size_t i = 0; reply.empty() && i < upstreams.size(); ++i) reply = tcp_forward(upstreams[i], raw);
        if (reply.empty()) reply = dns::error_reply(*q, raw, dns::kRcodeServFail);
        char out_len[2] = {static_cast<char>(reply.size() >> 8), static_cast<char>(reply.size() & 0xff)};
        if (!write_exact(conn.get(), out_len, 2) || !write_exact(conn.get(), reply.data(), reply.size())) break;
    }
    --tcp_clients;
}

class Resolver {
public:
    Resolver(stdfs::path state_dir, std::string network) : state_dir_(std::move(state_dir)), network_(std::move(network)) {}

    int run(int ready_fd) {
        own_netns_.reset(::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC));
        if (!own_netns_) throw_errno("open own network namespace");
        socklen_t len = 0;
        sockaddr_un addr = control_address(state_dir_, network_, len);
        control_.reset(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
        if (!control_) throw_errno("control socket");
        if (::bind(control_.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0) {
            if (errno == EADDRINUSE) {  // another resolver serves this network
                (void)!::write(ready_fd, "ok", 2);
                ::close(ready_fd);
                return 0;
            }
            throw_errno("bind control socket");
        }
        if (::listen(control_.get(), 16) != 0) throw_errno("listen control socket");
        inotify_.reset(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
        if (!inotify_ || ::inotify_add_watch(inotify_.get(), state_dir_.c_str(),
                                             IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF) < 0)
            throw_errno("watch " + state_dir_.string());
        reload();
        (void)!::write(ready_fd, "ok", 2);
        ::close(ready_fd);
        for (;;) {
            if (listeners_.empty() && may_exit()) return 0;
            poll_once();
        }
    }

private:
    struct Listener {
        std::string id;
        ino_t ns_ino = 0;
        fs::UniqueFd udp, tcp;
        std::vector<Upstream> upstreams;  // empty: the host's
        // The names this member resolves: its networks' members. Shared between the
        // members of the same set of networks (most are on this one only).
        std::shared_ptr<const dns::Table> table;
    };
    struct Pending {
        fs::UniqueFd sock;
        std::string member;
        sockaddr_storage client{};
        socklen_t client_len = 0;
        std::string query;
        uint16_t id = 0;
        size_t next = 0;  // the next upstream to try
        std::vector<Upstream> upstreams;
        Clock::time_point deadline;
    };

    // Re-reads the network's members: sockets for new ones, none for those gone. A member
    // on several networks resolves the names of all of them, whichever network's resolver
    // the kernel hands its query to (their sockets share 127.0.0.11:53 by SO_REUSEPORT).
    void reload() {
        auto all = Networks(state_dir_).all_members();
        auto own = all.find(network_);
        gone_ = own == all.end();
        std::map<std::string, std::vector<std::string>> networks_of;  // member id -> its networks
        for (const auto& [net, members] : all)
            for (const auto& m : members) networks_of[m.id].push_back(net);
        std::map<std::vector<std::string>, std::shared_ptr<const dns::Table>> tables;
        auto table_for = [&](const std::string& id) {
            const auto& nets = networks_of[id];
            auto& t = tables[nets];
            if (!t) {
                auto table = std::make_shared<dns::Table>();
                for (const auto& net : nets)
                    for (const auto& m : all[net]) {
                        auto ip = parse_ipv4(m.ip);
                        if (!ip) continue;
                        std::vector<std::string> names = {m.name};
                        names.insert(names.end(), m.aliases.begin(), m.aliases.end());
                        names.push_back(m.id.substr(0, 12));
                        table->add(names, *ip);
                    }
                t = table;
            }
            return t;
        };
        std::map<std::string, const Member*> wanted;
        if (!gone_)
            for (const auto& m : own->second)
                if (!m.netns.empty()) wanted[m.id] = &m;
        for (auto it = listeners_.begin(); it != listeners_.end();) {
            auto w = wanted.find(it->first);
            struct stat st {};
            bool same = w != wanted.end() && ::stat(w->second->netns.c_str(), &st) == 0 && st.st_ino == it->second.ns_ino;
            if (same) {
                it->second.upstreams = parse_upstreams(w->second->dns);
                it->second.table = table_for(it->first);
                wanted.erase(w);
                ++it;
            } else {
                it = listeners_.erase(it);  // closes its sockets, releasing the namespace
            }
        }
        for (const auto& [id, m] : wanted) {
            try {
                auto l = listeners_.emplace(id, listen_in(*m)).first;
                l->second.table = table_for(id);
            } catch (const Error& e) {
                log::warn("dns: " + network_ + ": " + e.what());
            }
        }
    }

    // UDP and TCP sockets on 127.0.0.11:53 inside the member's namespace.
    Listener listen_in(const Member& m) {
        const std::string what = "listen in " + m.netns;
        fs::UniqueFd ns(::open(m.netns.c_str(), O_RDONLY | O_CLOEXEC));
        if (!ns) throw_errno(what);
        struct stat st {};
        if (::fstat(ns.get(), &st) != 0) throw_errno(what);
        if (::setns(ns.get(), CLONE_NEWNET) != 0) throw_errno(what + ": setns");
        Listener l;
        l.id = m.id;
        l.ns_ino = st.st_ino;
        l.upstreams = parse_upstreams(m.dns);
        int err = 0;
        const char* step = "";
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(53);
        a.sin_addr.s_addr = htonl(0x7f00000b);  // 127.0.0.11
        int one = 1;
        l.udp.reset(::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        l.tcp.reset(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        if (!l.udp || !l.tcp) {
            err = errno, step = "socket";
        } else if (::setsockopt(l.udp.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
                   ::bind(l.udp.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
            err = errno, step = "bind udp 127.0.0.11:53";
        } else if (::setsockopt(l.tcp.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
                   ::setsockopt(l.tcp.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
                   ::bind(l.tcp.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(l.tcp.get(), 16) != 0) {
            err = errno, step = "listen tcp 127.0.0.11:53";
        }
        if (::setns(own_netns_.get(), CLONE_NEWNET) != 0) {
            // Never go on serving from a container's namespace: forwarding would leave from it.
            log::warn("dns: cannot return to the resolver's own network namespace: " + std::string(std::strerror(errno)));
            std::_Exit(1);
        }
        if (err) throw Error(errno_message(what + ": " + step, err));
        return l;
    }

    // Leaves only under the networks lock with no member left: a connect that holds the
    // lock either finds this resolver listening or, after it is gone, starts another.
    bool may_exit() {
        if (!gone_ && Clock::now() < next_exit_try_) return false;
        next_exit_try_ = Clock::now() + std::chrono::milliseconds(200);
        fs::UniqueFd lock(::open((state_dir_ / ".lock").c_str(), O_RDWR | O_CLOEXEC));
        if (!lock) return true;  // the state directory is gone
        if (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) return false;
        reload();
        if (!listeners_.empty()) return false;
        control_.reset();  // the name is free before the lock is
        return true;
    }

    void poll_once() {
        std::vector<pollfd> fds;
        fds.push_back({control_.get(), POLLIN, 0});
        fds.push_back({inotify_.get(), POLLIN, 0});
        std::vector<std::string> order;  // ids: a reload below may close listeners
        for (auto& [id, l] : listeners_) {
            fds.push_back({l.udp.get(), POLLIN, 0});
            fds.push_back({l.tcp.get(), POLLIN, 0});
            order.push_back(id);
        }
        size_t pending_at = fds.size();
        for (auto& p : pending_) fds.push_back({p.sock.get(), POLLIN, 0});
        int timeout = 1000;
        if (listeners_.empty()) timeout = 200;
        for (auto& p : pending_) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(p.deadline - Clock::now()).count();
            timeout = std::max(0, std::min<int>(timeout, static_cast<int>(left)));
        }
        int n = ::poll(fds.data(), fds.size(), timeout);
        if (n < 0 && errno != EINTR) throw_errno("poll");
        if (n > 0) {
            if (fds[0].revents & POLLIN) on_control();
            if (fds[1].revents & POLLIN) on_state_change();
            // Pending first: a new query below may append to pending_.
            size_t i = pending_at;
            for (auto it = pending_.begin(); it != pending_.end() && i < fds.size(); ++i) {
                if (fds[i].revents & (POLLIN | POLLERR)) {
                    if (on_upstream_reply(*it)) {
                        it = pending_.erase(it);
                        continue;
                    }
                }
                ++it;
            }
            for (size_t k = 0; k < order.size(); ++k) {
                auto l = listeners_.find(order[k]);
                if (l == listeners_.end()) continue;  // closed by a reload above
                if (fds[2 + 2 * k].revents & POLLIN) on_udp(l->second);
                if (fds[3 + 2 * k].revents & POLLIN) on_tcp(l->second);
            }
        }
        expire();
    }

    void on_control() {
        for (;;) {
            fs::UniqueFd c(::accept4(control_.get(), nullptr, nullptr, SOCK_CLOEXEC));
            if (!c) return;
            set_timeouts(c.get(), 1000);
            char buf[16];
            if (::recv(c.get(), buf, sizeof buf, 0) <= 0) continue;
            reload();
            (void)!::send(c.get(), "ok", 2, MSG_NOSIGNAL);
        }
    }

    void on_state_change() {
        alignas(inotify_event) char buf[4096];
        bool relevant = false;
        for (ssize_t n; (n = ::read(inotify_.get(), buf, sizeof buf)) > 0;) {
            for (char* p = buf; p < buf + n;) {
                auto* ev = reinterpret_cast<inotify_event*>(p);
                if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) relevant = gone_ = true;
                // Any network's file: a member's other networks give it names too.
                if (ev->len && std::string_view(ev->name).ends_with(".json")) relevant = true;
                p += sizeof(inotify_event) + ev->len;
            }
        }
        if (relevant) reload();
    }

    const std::vector<Upstream>& upstreams_of(const Listener& l) { return l.upstreams.empty() ? host_.get() : l.upstreams; }

    void on_udp(Listener& l) {
        char buf[4096];
        for (int burst = 0; burst < 64; ++burst) {
            sockaddr_storage from{};
            socklen_t from_len = sizeof from;
            ssize_t n = ::recvfrom(l.udp.get(), buf, sizeof buf, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &from_len);
            if (n < 0) return;
            std::string raw(buf, static_cast<size_t>(n));
            auto q = dns::parse_query(raw);
            if (!q) continue;  // not a query: no reply, nothing to reflect
            if (auto local = dns::local_answer(*l.table, *q, raw)) {
                send_reply(l.udp.get(), *local, from, from_len);
                continue;
            }
            const auto& ups = upstreams_of(l);
            if (ups.empty() || pending_.size() >= kMaxPending) {
                send_reply(l.udp.get(), dns::error_reply(*q, raw, dns::kRcodeServFail), from, from_len);
                continue;
            }
            Pending p;
            p.member = l.id;
            p.client = from;
            p.client_len = from_len;
            p.query = raw;
            p.id = q->id;
            p.upstreams = ups;
            if (send_upstream(p)) pending_.push_back(std::move(p));
            else send_reply(l.udp.get(), dns::error_reply(*q, raw, dns::kRcodeServFail), from, from_len);
        }
    }

    // Sends the query to the next upstream from a fresh socket (a fresh random source
    // port per query, so replies cannot be guessed); false when none is left.
    bool send_upstream(Pending& p) {
        while (p.next < p.upstreams.size()) {
            const Upstream& up = p.upstreams[p.next++];
            fs::UniqueFd s(::socket(up.addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
            if (!s || ::connect(s.get(), reinterpret_cast<const sockaddr*>(&up.addr), up.len) != 0) continue;
            if (::send(s.get(), p.query.data(), p.query.size(), MSG_NOSIGNAL) < 0) continue;
            p.sock = std::move(s);
            p.deadline = Clock::now() + std::chrono::milliseconds(kUpstreamTimeoutMs);
            return true;
        }
        return false;
    }

    // True when the query is done (answered or failed).
    bool on_upstream_reply(Pending& p) {
        char buf[kMaxMessage];
        ssize_t n = ::recv(p.sock.get(), buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) return false;
            return !retry(p);  // refused: the next upstream
        }
        std::string_view reply(buf, static_cast<size_t>(n));
        if (reply.size() < dns::kHeaderSize || dns::message_id(reply) != p.id) return false;  // not ours: keep waiting
        auto l = listeners_.find(p.member);
        if (l != listeners_.end()) send_reply(l->second.udp.get(), std::string(reply), p.client, p.client_len);
        return true;
    }

    // Moves to the next upstream; false (after a SERVFAIL to the client) when none is left.
    bool retry(Pending& p) {
        if (send_upstream(p)) return true;
        auto l = listeners_.find(p.member);
        auto q = dns::parse_query(p.query);
        if (l != listeners_.end() && q)
            send_reply(l->second.udp.get(), dns::error_reply(*q, p.query, dns::kRcodeServFail), p.client, p.client_len);
        return false;
    }

    void expire() {
        auto now = Clock::now();
        for (auto it = pending_.begin(); it != pending_.end();) {
            if (now >= it->deadline && !retry(*it)) it = pending_.erase(it);
            else ++it;
        }
    }

    void on_tcp(Listener& l) {
        for (;;) {
            fs::UniqueFd c(::accept4(l.tcp.get(), nullptr, nullptr, SOCK_CLOEXEC));
            if (!c) return;
            if (tcp_clients.load() >= kMaxTcpClients) continue;  // closes it
            int flags = ::fcntl(c.get(), F_GETFL);
            ::fcntl(c.get(), F_SETFL, flags & ~O_NONBLOCK);
            ++tcp_clients;
            try {
                std::thread(serve_tcp, std::move(c), l.table, upstreams_of(l)).detach();
            } catch (const std::system_error&) {
                --tcp_clients;
            }
        }
    }

    stdfs::path state_dir_;
    std::string network_;
    fs::UniqueFd own_netns_, control_, inotify_;
    std::map<std::string, Listener> listeners_;
    std::list<Pending> pending_;
    HostServers host_;
    bool gone_ = false;
    Clock::time_point next_exit_try_{};
};

// Asks a running resolver to reload; false when none listens.
bool sync_resolver(const stdfs::path& state_dir, const std::string& network) {
    socklen_t len = 0;
    sockaddr_un addr = control_address(state_dir, network, len);
    fs::UniqueFd s(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    if (!s) throw_errno("dns control socket");
    if (::connect(s.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0) return false;
    set_timeouts(s.get(), 3000);
    char buf[8];
    if (::send(s.get(), "sync", 4, MSG_NOSIGNAL) != 4 || ::recv(s.get(), buf, sizeof buf, 0) != 2)
        log::warn("dns resolver of network " + network + " did not confirm the new container");
    return true;
}

// Starts minirun-dns detached (double fork: no zombie for a long-lived caller such as a
// supervisor) and waits for its "ok".
void spawn_resolver(const stdfs::path& state_dir, const std::string& network, const stdfs::path& exe) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno("pipe");
    fs::UniqueFd rd(fds[0]), wr(fds[1]);
    std::string ready = std::to_string(wr.get());
    pid_t pid = ::fork();
    if (pid < 0) throw_errno("fork");
    if (pid == 0) {
        ::setsid();
        if (::fork() != 0) ::_exit(0);
        int null = ::open("/dev/null", O_RDWR);
        if (null >= 0) {
            ::dup2(null, 0), ::dup2(null, 1), ::dup2(null, 2);
            if (null > 2) ::close(null);
        }
        // Nothing of the caller's crosses the exec (a supervisor's own ready pipe would
        // keep `minirun run -d` waiting for as long as the network lives), except our pipe.
        if (::syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC) != 0)
            for (int fd = 3; fd < 4096; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
        ::fcntl(wr.get(), F_SETFD, 0);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::execl(exe.c_str(), exe.c_str(), state_dir.c_str(), network.c_str(), ready.c_str(), nullptr);
        ::_exit(127);
    }
    wr.reset();
    ::waitpid(pid, nullptr, 0);
    pollfd p{rd.get(), POLLIN, 0};
    std::string msg;
    char buf[16];
    while (::poll(&p, 1, 5000) > 0) {
        ssize_t n = ::read(rd.get(), buf, sizeof buf);
        if (n <= 0) break;
        msg.append(buf, static_cast<size_t>(n));
    }
    if (msg != "ok") throw Error("the resolver (" + exe.string() + ") did not start");
}

}  // namespace

void ensure_resolver(const stdfs::path& state_dir, const std::string& network, const stdfs::path& exe) {
    try {
        fs::FileLock lock(state_dir / ".lock");
        auto members = Networks(state_dir).members(network);
        if (!members || members->empty()) return;
        if (sync_resolver(state_dir, network)) return;
        spawn_resolver(state_dir, network, exe);
    } catch (const Error& e) {
        log::warn("embedded DNS of network " + network + ": " + e.what() + " (names still resolve through /etc/hosts)");
    }
}

int run_resolver(const stdfs::path& state_dir, const std::string& network, int ready_fd) {
    ::signal(SIGPIPE, SIG_IGN);
    return Resolver(state_dir, network).run(ready_fd);
}

}  // namespace minirun::network
