// Identity changes in a child cloned, like the container init, with a raw clone from a
// runtime that has other threads (an engine's workers, a build's compressors).
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "minirun/runtime/process_setup.hpp"

using namespace minirun::runtime;

namespace {

// waitpid with a deadline; -1 when the child is still running after it (then killed).
int wait_with_deadline(pid_t pid, std::chrono::milliseconds limit) {
    auto end = std::chrono::steady_clock::now() + limit;
    int status = 0;
    while (::waitpid(pid, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > end) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            return -1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return status;
}

}  // namespace

TEST_CASE("apply_identity in a raw clone of a multi-threaded process does not wait for absent threads") {
    if (::geteuid() != 0) return;
    int release[2];
    REQUIRE(::pipe(release) == 0);
    std::thread other([&] {
        char b;
        (void)!::read(release[0], &b, 1);
    });
    // A bare clone, as the runtime's clone3: glibc's thread list is copied, the threads are not.
    long pid = ::syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
    REQUIRE(pid >= 0);
    if (pid == 0) {
        Process p;
        p.user.uid = 65534;
        p.user.gid = 65534;
        p.user.additional_gids = {65534};
        try {
            apply_identity(p, nullptr, true);
        } catch (...) {
            ::_exit(2);
        }
        ::_exit(::getuid() == 65534 && ::getgid() == 65534 ? 0 : 3);
    }
    int status = wait_with_deadline(static_cast<pid_t>(pid), std::chrono::seconds(5));
    (void)!::write(release[1], "x", 1);
    other.join();
    ::close(release[0]);
    ::close(release[1]);
    CHECK_MESSAGE(status != -1, "the child hung in a set*id call");
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}
