// minirun-supervisor: watches one detached container (its stdio, log, exit status and
// restart policy). A separate small binary so each supervisor stays light: it links the
// runtime and engine but none of the registry or archive code.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "minirun/common/log.hpp"
#include "minirun/common/error.hpp"
#include "minirun/engine/supervisor.hpp"

int main(int argc, char** argv) {
    // await-attach: a `run -it` client attaches once the container started.
    bool await_attach = argc == 5 && std::string(argv[4]) == "await-attach";
    if (argc != 4 && !await_attach) {
        std::fprintf(stderr, "usage: minirun-supervisor STORAGE CONTAINER_ID READY_FD [await-attach]\n");
        return 2;
    }
    int ready_fd = std::atoi(argv[3]);
    ::setsid();
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    for (int i = 0; i < 3; ++i) ::dup2(null, i);
    try {
        minirun::engine::Supervisor supervisor(argv[1]);
        int status = supervisor.supervise(argv[2], ready_fd, await_attach);
        return status > 255 || status < 0 ? 1 : status;
    } catch (const std::exception& e) {
        std::string msg = minirun::encode_error_record(minirun::ErrorRecord::of(e, 125));
        (void)!::write(ready_fd, msg.data(), msg.size());
        return 1;
    }
}
