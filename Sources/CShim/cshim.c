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
#include <linux/fs.h>
#include <linux/fiemap.h>

int cb_syncfs(int fd) { return syncfs(fd); }

int cb_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int cb_spawn_closefrom(posix_spawn_file_actions_t *actions, int from) {
    return posix_spawn_file_actions_addclosefrom_np(actions, from);
}

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

int cb_ficlone(int dst, int src) {
    int rc;
    do { rc = ioctl(dst, FICLONE, src); } while (rc < 0 && errno == EINTR);
    return rc;
}

int cb_fiemap_bytes(int fd, uint64_t *own, uint64_t *shared) {
    enum { batch = 64 };
    char buf[sizeof(struct fiemap) + batch * sizeof(struct fiemap_extent)];
    struct fiemap *fm = (struct fiemap *)buf;
    uint64_t start = 0;
    for (;;) {
        memset(buf, 0, sizeof(buf));
        fm->fm_start = start;
        fm->fm_length = FIEMAP_MAX_OFFSET - start;
        fm->fm_flags = 0; // no FIEMAP_FLAG_SYNC: a usage walk must not force writeback; delalloc extents still show
        fm->fm_extent_count = batch;
        if (ioctl(fd, FS_IOC_FIEMAP, fm) < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        if (fm->fm_mapped_extents == 0) return 0;
        for (unsigned i = 0; i < fm->fm_mapped_extents; i++) {
            struct fiemap_extent *e = &fm->fm_extents[i];
            if (e->fe_flags & FIEMAP_EXTENT_SHARED) *shared += e->fe_length; else *own += e->fe_length;
            start = e->fe_logical + e->fe_length;
            if (e->fe_flags & FIEMAP_EXTENT_LAST) return 0;
        }
    }
}

#ifndef COWBENCH_COMMIT
#define COWBENCH_COMMIT ""
#endif
const char *cb_build_commit(void) { return COWBENCH_COMMIT; }
