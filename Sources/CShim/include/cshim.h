// The C shim holds only what Swift cannot import or must not do itself:
// - ioctl(2) is variadic, and variadic C functions do not import into Swift;
// - the BTRFS_IOC_* request numbers are _IOWR() macros, which do not import,
//   and btrfs_ioctl_space_args ends in a flexible array, which does not either;
// - copy_file_range(2) is declared only under _GNU_SOURCE, which Swift's Glibc
//   module is not built with, and <sys/xattr.h> is not part of that module;
// - openat2(2) has no glibc wrapper yet;
// - a signal handler must be async-signal-safe;
// - a child started with clone(CLONE_VM | CLONE_VFORK) runs on this
//   process's memory and may only make async-signal-safe calls, so the
//   clone/unshare/chroot/exec sequence is C.
#ifndef COWBENCH_CSHIM_H
#define COWBENCH_CSHIM_H

#include <stdint.h>
#include <sys/types.h>
#include <linux/loop.h>
#include <sys/xattr.h>
#include <sys/vfs.h>
#include <spawn.h>

/// The commit this binary was built from, as scripts/release.sh passes it
/// (-Xcc -DCOWBENCH_COMMIT="..."): Swift has no build-time define with a
/// value. "" when built without one.
const char *cb_build_commit(void);

/// syncfs(2) and pipe2(2): also _GNU_SOURCE-only.
int cb_syncfs(int fd);
int cb_pipe_cloexec(int fds[2]);
/// posix_spawn_file_actions_addclosefrom_np(3), also _GNU_SOURCE-only: a
/// host tool or daemon must not inherit descriptors cowbench got from its
/// own parent (a test harness's socket, say, which it watches for EOF).
int cb_spawn_closefrom(posix_spawn_file_actions_t *actions, int from);

/// copy_file_range(2) from the current offsets. Returns bytes copied or -1 with errno.
ssize_t cb_copy_file_range(int fd_in, int fd_out, size_t len);

/// ioctl(2) with a pointer argument. Returns -1 and sets errno on failure.
int cb_ioctl_ptr(int fd, unsigned long request, void *arg);
/// ioctl(2) with an integer argument. Returns -1 and sets errno on failure.
int cb_ioctl_int(int fd, unsigned long request, unsigned long arg);

/// FICLONE: `dst` shares all of `src`'s extents (reflink). FICLONE is an
/// _IOW() macro, which does not import. Returns 0, or -1 with errno.
int cb_ficlone(int dst, int src);

/// Walks the file's extents with FS_IOC_FIEMAP (struct fiemap ends in a
/// flexible array) and adds their bytes to *shared when the kernel flags
/// them FIEMAP_EXTENT_SHARED, to *own otherwise. Returns 0 or -errno.
int cb_fiemap_bytes(int fd, uint64_t *own, uint64_t *shared);

/// One row of BTRFS_IOC_SPACE_INFO: block-group type and profile flags, total and used bytes.
struct cb_btrfs_space {
    uint64_t flags;
    uint64_t total_bytes;
    uint64_t used_bytes;
};

/// Fills up to `capacity` rows; returns the number of rows, or -errno.
int cb_btrfs_space_info(int fd, struct cb_btrfs_space *out, int capacity);

/// Sums device size and allocated (chunk) bytes over every device of the
/// filesystem (BTRFS_IOC_FS_INFO + BTRFS_IOC_DEV_INFO). Returns 0 or -errno.
int cb_btrfs_device_bytes(int fd, uint64_t *size_bytes, uint64_t *allocated_bytes);

/// BTRFS_IOC_BALANCE_V2 with usage filters: data chunks at most `data_usage`
/// percent full and metadata (and system) chunks at most `metadata_usage`
/// percent full are relocated; -1 leaves that type alone. Returns 0 or
/// -errno; *relocated holds the chunks relocated either way.
int cb_btrfs_balance(int fd, int data_usage, int metadata_usage, uint64_t *relocated);

/// openat2(2) with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV:
/// the kernel refuses any path that would leave `dirfd` through "..", an
/// absolute path, a symlink or a mount. glibc 2.36 has no openat2 wrapper.
/// Adds O_CLOEXEC. Returns the descriptor, or -1 with errno.
int cb_openat2_beneath(int dirfd, const char *path, int flags, mode_t mode);

/// SIGINT and SIGTERM handlers that only count and remember the signal, and
/// on the second one write a "still cleaning up" line with write(2). C,
/// because a handler may only touch sig_atomic_t and async-signal-safe
/// calls, which Swift code (global access, the runtime) cannot promise.
int cb_install_stop_handlers(void);
/// How many stop signals arrived, and the last one (0 if none).
int cb_stop_count(void);
int cb_stop_signal(void);

/// Which step of cb_spawn_instance failed in the child.
enum cb_spawn_stage {
    CB_STAGE_NONE = 0,
    CB_STAGE_CLONE = 1,
    CB_STAGE_UNSHARE = 2,
    CB_STAGE_CHROOT = 3,
    CB_STAGE_CHDIR = 4,
    CB_STAGE_STDIO = 5,
    CB_STAGE_EXEC = 6,
    CB_STAGE_PRIVATE = 7,
    CB_STAGE_BIND = 8,
    CB_STAGE_PIVOT = 9,
    CB_STAGE_DETACH = 10,
    CB_STAGE_CLOSE_FDS = 11,
    CB_STAGE_CAPS = 12,
    CB_STAGE_NO_NEW_PRIVS = 13,
    CB_STAGE_SETSID = 14,
    CB_STAGE_CGROUP = 15,
};

/// How an instance's process is kept in its box.
enum cb_isolation {
    /// chroot(root) only, in this process's namespaces: for cowbench's own
    /// set-up work on trusted trees, never for an image's workload.
    CB_ISOLATION_NONE = 0,
    /// unshare(CLONE_NEWNS) and chroot: what cowbench did before it ran
    /// third-party images; kept for `--isolation chroot` and its cost.
    CB_ISOLATION_CHROOT = 1,
    /// At least a minimal container: new mount, PID, IPC and UTS
    /// namespaces; mount propagation made private recursively; the rootfs
    /// bind-mounted nodev,nosuid and made the root with pivot_root, the
    /// old root detached; a new session; every descriptor but 0, 1 and 2
    /// closed; every capability dropped (bounding, ambient, effective,
    /// permitted, inheritable) and no_new_privs set.
    CB_ISOLATION_CONTAINER = 2,
};

/// clone(CLONE_VM | CLONE_VFORK), then in the child: reset signal handlers
/// and mask, join the cgroup whose cgroup.procs is open as `cgroup_fd` (-1:
/// stay in the caller's), isolate as `isolation` says, dup2 the given descriptors onto
/// 0/1/2 (-1 leaves one alone), and execve(argv[0]). Returns 0 once the exec
/// has happened (CLONE_VFORK holds the caller until then), with the child's
/// pid in *pid and, if exec_ns is not NULL, the child's CLOCK_MONOTONIC
/// time just before its execve in *exec_ns, and, if join_ns is not NULL, how
/// long its write to cgroup.procs took in *join_ns. On failure returns the
/// errno and sets *stage to the step that failed; a child that failed has
/// been reaped.
int cb_spawn_instance(const char *root, char *const argv[], char *const envp[], int isolation, int cgroup_fd,
                      int stdin_fd, int stdout_fd, int stderr_fd, pid_t *pid, int *stage, uint64_t *exec_ns,
                      uint64_t *join_ns);

#endif
