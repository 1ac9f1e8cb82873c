#pragma once
// The seam between the container start path and the kernel (after youki's Syscall trait):
// the calls that need privilege or change the whole process — mounts, pivot_root, chroot,
// the working directory, device nodes, namespaces, host and domain names — go through
// one small interface. The host implementation makes the system call; a recording fake
// in the unit tests checks their order and arguments without root.
// Each member returns what the system call returns (0, or -1 with errno set).
#include <sys/types.h>

namespace minirun::runtime {

class Kernel {
public:
    virtual ~Kernel() = default;
    virtual int mount(const char* source, const char* target, const char* type, unsigned long flags,
                      const char* data) = 0;
    virtual int umount2(const char* target, int flags) = 0;
    virtual int pivot_root(const char* new_root, const char* put_old) = 0;
    virtual int chroot(const char* path) = 0;
    virtual int chdir(const char* path) = 0;
    virtual int fchdir(int fd) = 0;
    virtual int mknodat(int dir_fd, const char* name, mode_t mode, dev_t dev) = 0;
    virtual int unshare(int flags) = 0;
    virtual int sethostname(const char* name, size_t length) = 0;
    virtual int setdomainname(const char* name, size_t length) = 0;
};

// The real one: each member is the system call of its name.
Kernel& host_kernel();

}  // namespace minirun::runtime
