// minirun-init: the `--init` reaper. Runs as PID 1 in the container: starts the command,
// forwards signals to it, reaps every orphan, and exits with the command's status.
// Built static: it is bind-mounted into images that have none of our libraries.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
    int first = 1;
    if (first < argc && std::strcmp(argv[first], "--") == 0) ++first;
    if (first >= argc) {
        std::fprintf(stderr, "minirun-init: no command\n");
        return 125;
    }
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old);
    pid_t child = fork();
    if (child < 0) {
        std::perror("minirun-init: fork");
        return 125;
    }
    if (child == 0) {
        sigprocmask(SIG_SETMASK, &old, nullptr);
        setpgid(0, 0);
        execvp(argv[first], argv + first);
        std::fprintf(stderr, "minirun-init: exec %s: %s\n", argv[first], std::strerror(errno));
        _exit(errno == ENOENT ? 127 : 126);
    }
    for (;;) {
        siginfo_t info;
        timespec tick{1, 0};
        int sig = sigtimedwait(&all, &info, &tick);
        if (sig > 0 && sig != SIGCHLD) kill(child, sig);
        // Reap everything that has exited; our child's status is the answer.
        for (;;) {
            int status = 0;
            pid_t pid = waitpid(-1, &status, WNOHANG);
            if (pid <= 0) break;
            if (pid == child) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
    }
}
