#define _GNU_SOURCE
#include "cshim.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/btrfs.h>
#include <linux/openat2.h>

int cb_syncfs(int fd) { return syncfs(fd); }

int cb_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

ssize_t cb_copy_file_range(int fd_in, int fd_out, size_t len) {
    return copy_file_range(fd_in, NULL, fd_out, NULL, len, 0);
}

int cb_ioctl_ptr(int fd, unsigned long request, void *arg) {
    return ioctl(fd, request, arg);
}

int cb_ioctl_int(int fd, unsigned long request, unsigned long arg) {
    return ioctl(fd, request, arg);
}

int cb_btrfs_space_info(int fd, struct cb_btrfs_space *out, int capacity) {
    struct btrfs_ioctl_space_args probe = {0};
    if (ioctl(fd, BTRFS_IOC_SPACE_INFO, &probe) < 0) return -errno;
    uint64_t n = probe.total_spaces;
    if (n == 0) return 0;
    size_t bytes = sizeof(struct btrfs_ioctl_space_args) + n * sizeof(struct btrfs_ioctl_space_info);
    struct btrfs_ioctl_space_args *args = calloc(1, bytes);
    if (!args) return -ENOMEM;
    args->space_slots = n;
    if (ioctl(fd, BTRFS_IOC_SPACE_INFO, args) < 0) {
        int e = errno;
        free(args);
        return -e;
    }
    int count = 0;
    for (uint64_t i = 0; i < args->total_spaces && count < capacity; i++, count++) {
        out[count].flags = args->spaces[i].flags;
        out[count].total_bytes = args->spaces[i].total_bytes;
        out[count].used_bytes = args->spaces[i].used_bytes;
    }
    free(args);
    return count;
}

int cb_btrfs_device_bytes(int fd, uint64_t *size_bytes, uint64_t *allocated_bytes) {
    struct btrfs_ioctl_fs_info_args fs = {0};
    if (ioctl(fd, BTRFS_IOC_FS_INFO, &fs) < 0) return -errno;
    uint64_t size = 0, used = 0, found = 0;
    for (uint64_t id = 0; id <= fs.max_id && found < fs.num_devices; id++) {
        struct btrfs_ioctl_dev_info_args dev = {0};
        dev.devid = id;
        if (ioctl(fd, BTRFS_IOC_DEV_INFO, &dev) < 0) {
            if (errno == ENODEV) continue;
            return -errno;
        }
        size += dev.total_bytes;
        used += dev.bytes_used;
        found++;
    }
    *size_bytes = size;
    *allocated_bytes = used;
    return 0;
}

struct spawn_args {
    const char *root;
    char *const *argv;
    char *const *envp;
    int new_mount_ns, stdin_fd, stdout_fd, stderr_fd;
    // Written by the child, which shares this memory (CLONE_VM), only if it fails.
    volatile int stage, err;
};

static int spawn_child(void *arg) {
    struct spawn_args *a = arg;
    // The instance's process starts with default signal handling and an
    // empty mask, whatever handlers and mask this process has.
    struct sigaction dfl, old;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        if (sigaction(sig, NULL, &old) == 0 && old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN) sigaction(sig, &dfl, NULL);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    int stage = CB_STAGE_NONE;
    if (a->new_mount_ns && unshare(CLONE_NEWNS) < 0) stage = CB_STAGE_UNSHARE;
    else if (chroot(a->root) < 0) stage = CB_STAGE_CHROOT;
    else if (chdir("/") < 0) stage = CB_STAGE_CHDIR;
    else if ((a->stdin_fd >= 0 && dup2(a->stdin_fd, 0) < 0) || (a->stdout_fd >= 0 && dup2(a->stdout_fd, 1) < 0)
             || (a->stderr_fd >= 0 && dup2(a->stderr_fd, 2) < 0)) stage = CB_STAGE_STDIO;
    else {
        execve(a->argv[0], a->argv, a->envp);
        stage = CB_STAGE_EXEC;
    }
    a->err = errno;
    a->stage = stage;
    _exit(127);
}

int cb_spawn_chroot(const char *root, char *const argv[], char *const envp[],
                    int new_mount_ns, int stdin_fd, int stdout_fd, int stderr_fd,
                    pid_t *pid, int *stage) {
    // clone(CLONE_VM | CLONE_VFORK), as posix_spawn does: no copy of this
    // process's page tables, and this thread sleeps until the child has
    // exec'd or failed. All signals stay blocked until the child has reset
    // its handlers, because until then it runs on this process's memory.
    const size_t stack_size = 64 * 1024;
    *stage = CB_STAGE_NONE;
    void *stack = mmap(NULL, stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) { *stage = CB_STAGE_CLONE; return errno; }
    sigset_t all, saved;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &saved);
    struct spawn_args a = { root, argv, envp, new_mount_ns, stdin_fd, stdout_fd, stderr_fd, CB_STAGE_NONE, 0 };
    pid_t child = clone(spawn_child, (char *)stack + stack_size, CLONE_VM | CLONE_VFORK | SIGCHLD, &a);
    int clone_errno = errno;
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    munmap(stack, stack_size);
    if (child < 0) { *stage = CB_STAGE_CLONE; return clone_errno; }
    if (a.stage != CB_STAGE_NONE) {
        int status;
        while (waitpid(child, &status, 0) < 0 && errno == EINTR) {}
        *stage = a.stage;
        return a.err;
    }
    *pid = child;
    return 0;
}

int cb_btrfs_balance(int fd, int data_usage, int metadata_usage, uint64_t *relocated) {
    struct btrfs_ioctl_balance_args args;
    memset(&args, 0, sizeof args);
    if (data_usage >= 0) {
        args.flags |= BTRFS_BALANCE_DATA;
        args.data.flags = BTRFS_BALANCE_ARGS_USAGE;
        args.data.usage = (uint64_t)data_usage;
    }
    if (metadata_usage >= 0) {
        // Metadata balance takes system chunks along with the same filter, as btrfs-progs does.
        args.flags |= BTRFS_BALANCE_METADATA | BTRFS_BALANCE_SYSTEM;
        args.meta.flags = BTRFS_BALANCE_ARGS_USAGE;
        args.meta.usage = (uint64_t)metadata_usage;
        args.sys = args.meta;
    }
    int rc = ioctl(fd, BTRFS_IOC_BALANCE_V2, &args);
    int e = errno;
    *relocated = args.stat.completed;
    return rc < 0 ? -e : 0;
}


int cb_openat2_beneath(int dirfd, const char *path, int flags, mode_t mode) {
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = (uint64_t)(flags | O_CLOEXEC);
    how.mode = (flags & O_CREAT) ? mode : 0;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
    return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}


static volatile sig_atomic_t stop_count = 0;
static volatile sig_atomic_t stop_signal = 0;

static void on_stop_signal(int sig) {
    if (stop_count < 100) stop_count++;
    stop_signal = sig;
    if (stop_count > 1) {
        static const char msg[] = "\ncowbench: still cleaning up; wait for it, or kill -9 it and run `cowbench cleanup`\n";
        ssize_t ignored = write(2, msg, sizeof msg - 1);
        (void)ignored;
    }
}

int cb_install_stop_handlers(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (sigaction(SIGINT, &sa, NULL) < 0) return -1;
    if (sigaction(SIGTERM, &sa, NULL) < 0) return -1;
    // A parent (a test runner, a supervisor) may have started us with these
    // blocked; threads started later inherit this thread's mask.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    return pthread_sigmask(SIG_UNBLOCK, &set, NULL) == 0 ? 0 : -1;
}

int cb_stop_count(void) { return stop_count; }
int cb_stop_signal(void) { return stop_signal; }
