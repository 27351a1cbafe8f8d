#define _GNU_SOURCE
#include "crawloops.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/btrfs.h>

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int fail(char *error, size_t len, const char *call, const char *path) {
    int e = errno;
    snprintf(error, len, "%s %s", call, path);
    return e ? e : EIO;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
    (void)st; (void)type; (void)ftw;
    return remove(path);
}

static int remove_tree(const char *path) {
    return nftw(path, remove_entry, 32, FTW_DEPTH | FTW_PHYS);
}

// nftw's callback takes no context, and the loops are single-threaded.
static const char *copy_source;
static const char *copy_dest;

static int copy_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
    (void)ftw;
    char dest[PATH_MAX];
    snprintf(dest, sizeof dest, "%s%s", copy_dest, path + strlen(copy_source));
    if (type == FTW_D) {
        if (mkdir(dest, st->st_mode & 07777) < 0 && errno != EEXIST) return -1;
    } else if (type == FTW_SL) {
        char target[PATH_MAX];
        ssize_t n = readlink(path, target, sizeof target - 1);
        if (n < 0) return -1;
        target[n] = 0;
        if (symlink(target, dest) < 0) return -1;
    } else if (S_ISREG(st->st_mode)) {
        int in = open(path, O_RDONLY | O_CLOEXEC);
        if (in < 0) return -1;
        int out = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st->st_mode & 07777);
        if (out < 0) { close(in); return -1; }
        off_t left = st->st_size;
        while (left > 0) {
            ssize_t n = copy_file_range(in, NULL, out, NULL, (size_t)left, 0);
            if (n <= 0) { close(in); close(out); if (n == 0) errno = EIO; return -1; }
            left -= n;
        }
        close(in);
        close(out);
    } else {
        if (mknod(dest, st->st_mode, st->st_rdev) < 0) return -1;
    }
    if (lchown(dest, st->st_uid, st->st_gid) < 0) return -1;
    if (type != FTW_SL && (st->st_mode & 07000) && chmod(dest, st->st_mode & 07777) < 0) return -1;
    return 0;
}

struct child_args { const char *root, *program; };

static int child_main(void *arg) {
    struct child_args *a = arg;
    char *argv[] = { (char *)a->program, NULL };
    char *envp[] = { "PATH=/bin:/usr/bin", NULL };
    if (unshare(CLONE_NEWNS) < 0 || chroot(a->root) < 0 || chdir("/") < 0) _exit(126);
    execve(a->program, argv, envp);
    _exit(127);
}

// clone(CLONE_VM | CLONE_VFORK), the fastest way to start a process from a
// large one (it is what posix_spawn does): no page tables are copied.
static int start_run(const char *root, const char *program) {
    static char stack[64 * 1024] __attribute__((aligned(16)));
    struct child_args a = { root, program };
    pid_t pid = clone(child_main, stack + sizeof stack, CLONE_VM | CLONE_VFORK | SIGCHLD, &a);
    if (pid < 0) return -1;
    int status;
    while (waitpid(pid, &status, 0) < 0) if (errno != EINTR) return -1;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) { errno = ECHILD; return -1; }
    return 0;
}

int cbr_run(const struct cbr_config *c, struct cbr_sample *out, char *error, size_t len) {
    int dirfd = open(c->directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0) return fail(error, len, "open", c->directory);
    int srcfd = -1;
    if (c->kind == CBR_SNAPSHOT) {
        srcfd = open(c->source, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (srcfd < 0) { close(dirfd); return fail(error, len, "open", c->source); }
    }
    int rc = 0;
    char path[PATH_MAX], upper[PATH_MAX], work[PATH_MAX], merged[PATH_MAX], options[8192];
    for (int i = 0; i < c->iterations && rc == 0; i++) {
        char name[32];
        snprintf(name, sizeof name, "raw%d", i);
        snprintf(path, sizeof path, "%s/%s", c->directory, name);
        const char *rootfs = path;
        uint64_t t0 = now_ns();
        switch (c->kind) {
        case CBR_OVERLAY:
            snprintf(upper, sizeof upper, "%s/upper", path);
            snprintf(work, sizeof work, "%s/work", path);
            snprintf(merged, sizeof merged, "%s/merged", path);
            if (mkdir(path, 0700) < 0) { rc = fail(error, len, "mkdir", path); break; }
            if (mkdir(upper, 0755) < 0 || mkdir(work, 0755) < 0 || mkdir(merged, 0755) < 0) {
                rc = fail(error, len, "mkdir", path); break;
            }
            if ((size_t)snprintf(options, sizeof options, "lowerdir=%s,upperdir=%s,workdir=%s%s%s", c->source,
                                 upper, work, c->extra_options[0] ? "," : "", c->extra_options) >= sizeof options) {
                errno = E2BIG; rc = fail(error, len, "mount(overlay options)", merged); break;
            }
            if (mount("overlay", merged, "overlay", 0, options) < 0) { rc = fail(error, len, "mount", merged); break; }
            rootfs = merged;
            break;
        case CBR_SNAPSHOT: {
            struct btrfs_ioctl_vol_args_v2 args;
            memset(&args, 0, sizeof args);
            args.fd = srcfd;
            snprintf(args.name, sizeof args.name, "%s", name);
            if (ioctl(dirfd, BTRFS_IOC_SNAP_CREATE_V2, &args) < 0) rc = fail(error, len, "BTRFS_IOC_SNAP_CREATE_V2", path);
            break;
        }
        case CBR_COPY:
            copy_source = c->source;
            copy_dest = path;
            if (nftw(c->source, copy_entry, 32, FTW_PHYS) != 0) rc = fail(error, len, "copy", path);
            break;
        default:
            errno = EINVAL;
            rc = fail(error, len, "kind", c->directory);
        }
        if (rc) break;
        uint64_t t1 = now_ns();
        if (start_run(rootfs, c->program) < 0) { rc = fail(error, len, "clone/chroot/exec", rootfs); }
        uint64_t t2 = now_ns();
        switch (c->kind) {
        case CBR_OVERLAY:
            if (umount2(merged, 0) < 0) { if (!rc) rc = fail(error, len, "umount", merged); break; }
            if (remove_tree(path) != 0 && !rc) rc = fail(error, len, "remove", path);
            break;
        case CBR_SNAPSHOT: {
            struct btrfs_ioctl_vol_args args;
            memset(&args, 0, sizeof args);
            snprintf(args.name, sizeof args.name, "%s", name);
            if (ioctl(dirfd, BTRFS_IOC_SNAP_DESTROY, &args) < 0 && !rc) rc = fail(error, len, "BTRFS_IOC_SNAP_DESTROY", path);
            break;
        }
        case CBR_COPY:
            if (remove_tree(path) != 0 && !rc) rc = fail(error, len, "remove", path);
            break;
        }
        uint64_t t3 = now_ns();
        out[i].create_ns = t1 - t0;
        out[i].start_run_ns = t2 - t1;
        out[i].destroy_ns = t3 - t2;
    }
    if (srcfd >= 0) close(srcfd);
    close(dirfd);
    return rc;
}
