#define _GNU_SOURCE
#include "crawloops.h"
#include "cshim.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <stdlib.h>
#include <sys/xattr.h>
#include <limits.h>
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

// The same kernel work as cowbench's TreeRemover: a descriptor-relative
// walk, unlinkat for entries and AT_REMOVEDIR for directories.
static int remove_contents(int dirfd) {
    DIR *d = fdopendir(dirfd);
    if (!d) { close(dirfd); return -1; }
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        struct stat st;
        if (fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) { rc = -1; break; }
        if (S_ISDIR(st.st_mode)) {
            int sub = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub < 0 || remove_contents(sub) < 0 || unlinkat(dirfd, e->d_name, AT_REMOVEDIR) < 0) rc = -1;
        } else if (unlinkat(dirfd, e->d_name, 0) < 0) {
            rc = -1;
        }
    }
    closedir(d);
    return rc;
}

static int remove_tree(const char *path) {
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return -1;
    if (remove_contents(fd) < 0) return -1;
    return rmdir(path);
}

static int copy_xattrs(int from, int to, const char *from_path, const char *to_path) {
    char names[8192], value[65536];
    ssize_t n = from >= 0 ? flistxattr(from, names, sizeof names) : llistxattr(from_path, names, sizeof names);
    if (n < 0) return errno == ENOTSUP ? 0 : -1;
    for (char *name = names; name < names + n; name += strlen(name) + 1) {
        ssize_t v = from >= 0 ? fgetxattr(from, name, value, sizeof value) : lgetxattr(from_path, name, value, sizeof value);
        if (v < 0) return -1;
        if ((to >= 0 ? fsetxattr(to, name, value, (size_t)v, 0) : lsetxattr(to_path, name, value, (size_t)v, 0)) < 0) return -1;
    }
    return 0;
}

// Owner, mode, xattrs and times, in the order cowbench's TreeCopier sets them.
static int apply_metadata(const struct stat *st, int from, int to) {
    struct timespec times[2] = { st->st_atim, st->st_mtim };
    if (fchown(to, st->st_uid, st->st_gid) < 0 || fchmod(to, st->st_mode & 07777) < 0) return -1;
    if (copy_xattrs(from, to, NULL, NULL) < 0) return -1;
    return futimens(to, times);
}

static int apply_link_metadata(const struct stat *st, int dirfd, const char *name, const char *from, const char *to) {
    struct timespec times[2] = { st->st_atim, st->st_mtim };
    if (fchownat(dirfd, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0) return -1;
    if (copy_xattrs(-1, -1, from, to) < 0) return -1;
    return utimensat(dirfd, name, times, AT_SYMLINK_NOFOLLOW);
}

// Hard links: the first path copied for each (dev, ino) with nlink > 1.
// The loops are single-threaded, and images hold few hard links.
#define MAX_LINKS 4096
static struct { dev_t dev; ino_t ino; char path[PATH_MAX]; } links[MAX_LINKS];
static int nlinks;

static int copy_dir(int sfd, const char *spath, int dfd, const char *dpath) {
    DIR *d = fdopendir(dup(sfd));
    if (!d) return -1;
    int rc = 0;
    struct dirent *e;
    char from[PATH_MAX], to[PATH_MAX];
    while (rc == 0 && (e = readdir(d))) {
        const char *name = e->d_name;
        if (!strcmp(name, ".") || !strcmp(name, "..")) continue;
        snprintf(from, sizeof from, "%s/%s", spath, name);
        snprintf(to, sizeof to, "%s/%s", dpath, name);
        struct stat st;
        if (fstatat(sfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) { rc = -1; break; }
        if (S_ISDIR(st.st_mode)) {
            if (mkdirat(dfd, name, 0700) < 0) { rc = -1; break; }
            int s = openat(sfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            int t = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (s < 0 || t < 0 || copy_dir(s, from, t, to) < 0 || apply_metadata(&st, s, t) < 0) rc = -1;
            if (s >= 0) close(s);
            if (t >= 0) close(t);
        } else if (S_ISREG(st.st_mode)) {
            int linked = 0;
            if (st.st_nlink > 1) {
                for (int i = 0; i < nlinks; i++) {
                    if (links[i].dev == st.st_dev && links[i].ino == st.st_ino) {
                        if (linkat(AT_FDCWD, links[i].path, dfd, name, 0) < 0) rc = -1;
                        linked = 1;
                        break;
                    }
                }
            }
            if (linked) continue;
            int in = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
            int out = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
            if (in < 0 || out < 0) rc = -1;
            for (off_t left = st.st_size; rc == 0 && left > 0;) {
                ssize_t n = copy_file_range(in, NULL, out, NULL, (size_t)left, 0);
                if (n < 0 && errno == EINTR) continue;
                if (n <= 0) { if (n == 0) break; rc = -1; break; }
                left -= n;
            }
            if (rc == 0 && apply_metadata(&st, in, out) < 0) rc = -1;
            if (in >= 0) close(in);
            if (out >= 0) close(out);
            if (rc == 0 && st.st_nlink > 1 && nlinks < MAX_LINKS) {
                links[nlinks].dev = st.st_dev;
                links[nlinks].ino = st.st_ino;
                snprintf(links[nlinks].path, PATH_MAX, "%s", to);
                nlinks++;
            }
        } else if (S_ISLNK(st.st_mode)) {
            char target[PATH_MAX];
            ssize_t n = readlinkat(sfd, name, target, sizeof target - 1);
            if (n < 0) { rc = -1; break; }
            target[n] = 0;
            if (symlinkat(target, dfd, name) < 0 || apply_link_metadata(&st, dfd, name, from, to) < 0) rc = -1;
        } else {
            if (mknodat(dfd, name, st.st_mode, st.st_rdev) < 0 || apply_link_metadata(&st, dfd, name, from, to) < 0
                || fchmodat(dfd, name, st.st_mode & 07777, 0) < 0) rc = -1;
        }
    }
    closedir(d);
    return rc;
}

// The whole flattened image into a new directory, as the copy driver does.
static int copy_tree(const char *source, const char *dest) {
    nlinks = 0;
    if (mkdir(dest, 0755) < 0) return -1;
    int s = open(source, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int d = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = (s < 0 || d < 0) ? -1 : copy_dir(s, source, d, dest);
    struct stat st;
    if (rc == 0 && (fstat(s, &st) < 0 || apply_metadata(&st, s, d) < 0)) rc = -1;
    if (s >= 0) close(s);
    if (d >= 0) close(d);
    return rc;
}

// The same start as cowbench's: CShim's clone(CLONE_VM | CLONE_VFORK) with
// the same isolation, stdio on /dev/null, then a wait for the exit.
static int start_run(const char *root, const char *program, int isolation, int null_fd) {
    char *argv[] = { (char *)program, NULL };
    char *envp[] = { "PATH=/bin:/usr/bin:/sbin:/usr/sbin", "HOME=/root", NULL };
    pid_t pid;
    int stage;
    int err = cb_spawn_instance(root, argv, envp, isolation, -1, null_fd, null_fd, null_fd, &pid, &stage, NULL, NULL);
    if (err) { errno = err; return -1; }
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
    int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null_fd < 0) { if (srcfd >= 0) close(srcfd); close(dirfd); return fail(error, len, "open", "/dev/null"); }
    int rc = 0;
    char path[PATH_MAX], upper[PATH_MAX], work[PATH_MAX], merged[PATH_MAX], options[8192];
    for (int i = c->first; i < c->first + c->iterations && rc == 0; i++) {
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
            if (copy_tree(c->source, path) != 0) rc = fail(error, len, "copy", path);
            break;
        default:
            errno = EINVAL;
            rc = fail(error, len, "kind", c->directory);
        }
        if (rc) break;
        uint64_t t1 = now_ns();
        if (start_run(rootfs, c->program, c->isolation, null_fd) < 0) { rc = fail(error, len, "clone/chroot/exec", rootfs); }
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
        out[i - c->first].create_ns = t1 - t0;
        out[i - c->first].start_run_ns = t2 - t1;
        out[i - c->first].destroy_ns = t3 - t2;
    }
    if (srcfd >= 0) close(srcfd);
    close(null_fd);
    close(dirfd);
    return rc;
}
