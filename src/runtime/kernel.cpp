// The host side of the kernel seam: every member is the system call itself.
#include "minirun/runtime/kernel.hpp"

#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace minirun::runtime {

namespace {

class HostKernel final : public Kernel {
public:
    int mount(const char* source, const char* target, const char* type, unsigned long flags,
              const char* data) override {
        return ::mount(source, target, type, flags, data);
    }
    int umount2(const char* target, int flags) override { return ::umount2(target, flags); }
    int pivot_root(const char* new_root, const char* put_old) override {
        return static_cast<int>(::syscall(SYS_pivot_root, new_root, put_old));
    }
    int chroot(const char* path) override { return ::chroot(path); }
    int chdir(const char* path) override { return ::chdir(path); }
    int fchdir(int fd) override { return ::fchdir(fd); }
    int mknodat(int dir_fd, const char* name, mode_t mode, dev_t dev) override {
        return ::mknodat(dir_fd, name, mode, dev);
    }
    int unshare(int flags) override { return ::unshare(flags); }
    int sethostname(const char* name, size_t length) override { return ::sethostname(name, length); }
    int setdomainname(const char* name, size_t length) override { return ::setdomainname(name, length); }
};

}  // namespace

Kernel& host_kernel() {
    static HostKernel kernel;
    return kernel;
}

}  // namespace minirun::runtime
