#include "minirun/common/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cstring>
#include <string_view>
#include <cstdio>
#include <sys/mman.h>
#include <malloc.h>

#include <cerrno>

#include "minirun/common/error.hpp"
#include "minirun/common/fs.hpp"

extern char** environ;

namespace minirun {

namespace {
constexpr size_t kMaxOutput = 1 << 20;

void make_pipe(int fds[2]) {
    if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno("pipe");
}
}  // namespace

int exit_status_of(int wait_status) {
    return WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status);
}

std::vector<char*> to_exec_array(const std::vector<std::string>& v) {
    std::vector<char*> out;
    for (auto& s : v) out.push_back(const_cast<char*>(s.c_str()));
    out.push_back(nullptr);
    return out;
}

std::vector<std::string> environment_with(const std::vector<std::string>& extra) {
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e) {
        std::string_view kv = *e;
        std::string_view name = kv.substr(0, kv.find('='));
        bool replaced = false;
        for (auto& x : extra) replaced = replaced || (x.size() > name.size() && x.compare(0, name.size(), name) == 0 && x[name.size()] == '=');
        if (!replaced) env.emplace_back(kv);
    }
    env.insert(env.end(), extra.begin(), extra.end());
    return env;
}

ProcessResult run_process(const std::vector<std::string>& argv, const std::string& input,
                          const std::vector<std::string>& extra_env) {
    if (argv.empty()) throw Error("run_process: empty command");
    std::vector<std::string> env_strings = environment_with(extra_env);
    std::vector<char*> envp = to_exec_array(env_strings);
    int in[2], out[2], err[2];
    make_pipe(in);
    make_pipe(out);
    make_pipe(err);
    fs::UniqueFd in_r(in[0]), in_w(in[1]), out_r(out[0]), out_w(out[1]), err_r(err[0]), err_w(err[1]);

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in_r.get(), 0);
    posix_spawn_file_actions_adddup2(&fa, out_w.get(), 1);
    posix_spawn_file_actions_adddup2(&fa, err_w.get(), 2);
    std::vector<char*> args = to_exec_array(argv);
    pid_t pid = 0;
    int rc = ::posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) throw_errno("run " + argv[0], rc);
    in_r.reset();
    out_w.reset();
    err_w.reset();

    // Feed stdin and drain both outputs without deadlocking on full pipes.
    ProcessResult res;
    size_t written = 0;
    if (input.empty()) in_w.reset();
    signal(SIGPIPE, SIG_IGN);
    while (out_r || err_r) {
        pollfd pfds[3];
        int n = 0;
        if (in_w) pfds[n++] = {in_w.get(), POLLOUT, 0};
        if (out_r) pfds[n++] = {out_r.get(), POLLIN, 0};
        if (err_r) pfds[n++] = {err_r.get(), POLLIN, 0};
        if (::poll(pfds, static_cast<nfds_t>(n), -1) < 0) {
            if (errno == EINTR) continue;
            throw_errno("poll");
        }
        for (int i = 0; i < n; ++i) {
            if (!pfds[i].revents) continue;
            if (in_w && pfds[i].fd == in_w.get()) {
                ssize_t w = ::write(in_w.get(), input.data() + written, input.size() - written);
                if (w > 0) written += static_cast<size_t>(w);
                if (w < 0 || written == input.size()) in_w.reset();
                continue;
            }
            fs::UniqueFd& src = pfds[i].fd == out_r.get() ? out_r : err_r;
            std::string& dst = &src == &out_r ? res.out : res.err;
            char buf[8192];
            ssize_t r = ::read(src.get(), buf, sizeof buf);
            if (r <= 0) {
                src.reset();
            } else if (dst.size() < kMaxOutput) {
                dst.append(buf, static_cast<size_t>(r));
            }
        }
    }
    in_w.reset();
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) throw_errno("wait " + argv[0]);
    }
    res.exit_code = exit_status_of(status);
    return res;
}

void release_startup_memory() {
    ::malloc_trim(0);
    FILE* smaps = std::fopen("/proc/self/smaps", "re");
    if (!smaps) return;
    // Only read-only file mappings none of whose pages were ever written (no anonymous or
    // dirty pages: not RELRO, not relocated): dropping them loses nothing.
    struct Vma {
        unsigned long start = 0, end = 0;
        bool candidate = false, written = false;
    } vma;
    auto flush = [&] {
        if (vma.candidate && !vma.written) ::madvise(reinterpret_cast<void*>(vma.start), vma.end - vma.start, MADV_DONTNEED);
        vma = {};
    };
    char line[512];
    while (std::fgets(line, sizeof line, smaps)) {
        unsigned long a = 0, b = 0;
        char perms[8] = {};
        char path[256] = {};
        int n = std::sscanf(line, "%lx-%lx %7s %*s %*s %*s %255s", &a, &b, perms, path);
        if (n >= 3 && std::strchr(line, '-') < std::strchr(line, ' ')) {
            flush();
            vma.start = a;
            vma.end = b;
            vma.candidate = n == 4 && path[0] == '/' && perms[1] != 'w' && perms[3] == 'p';
            continue;
        }
        unsigned long kb = 0;
        if ((std::sscanf(line, "Anonymous: %lu", &kb) == 1 || std::sscanf(line, "Private_Dirty: %lu", &kb) == 1 ||
             std::sscanf(line, "Shared_Dirty: %lu", &kb) == 1) && kb > 0)
            vma.written = true;
    }
    flush();
    std::fclose(smaps);
}

}  // namespace minirun
