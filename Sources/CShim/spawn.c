#define _GNU_SOURCE
#include "cshim.h"

#include <errno.h>
#include <linux/capability.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct spawn_args {
    const char *root;
    char *const *argv;
    char *const *envp;
    int isolation, cgroup_fd, stdin_fd, stdout_fd, stderr_fd;
    // Written by the child, which shares this memory (CLONE_VM), only if it fails.
    volatile int stage, err;
    // CLOCK_MONOTONIC just before execve, written by the child: where start
    // ends and run begins, whenever the parent happens to be scheduled.
    volatile uint64_t exec_ns;
    // How long the write to cgroup.procs took, also written by the child.
    volatile uint64_t join_ns;
};

static uint64_t monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

// Every capability out of every set. The bounding set goes first, so that
// the execve of uid 0 (which would otherwise regain the full set) gets none.
static int drop_capabilities(void) {
    for (int cap = 0; cap <= 63; cap++) {
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) return -1;
    }
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) return -1;
    struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    return (int)syscall(SYS_capset, &header, data);
}

// The container box, in the order the kernel needs: mounts while the
// capabilities are still there, then the descriptors, then the capabilities.
static int contain(const char *root) {
    if (setsid() < 0) return CB_STAGE_SETSID;
    // On systemd hosts / is shared: without this, the bind mount below and
    // the detach of the old root would propagate back to the host.
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) return CB_STAGE_PRIVATE;
    if (mount(root, root, NULL, MS_BIND | MS_REC, NULL) < 0) return CB_STAGE_BIND;
    // nodev: a device node shipped in an image layer cannot be opened.
    if (mount(NULL, root, NULL, MS_BIND | MS_REMOUNT | MS_NODEV | MS_NOSUID, NULL) < 0) return CB_STAGE_BIND;
    if (chdir(root) < 0) return CB_STAGE_CHDIR;
    // pivot_root(".", "."): the old root ends up on top of the new one, and
    // unmounting "." with MNT_DETACH takes the host's tree out of reach.
    if (syscall(SYS_pivot_root, ".", ".") < 0) return CB_STAGE_PIVOT;
    if (umount2(".", MNT_DETACH) < 0) return CB_STAGE_DETACH;
    if (chdir("/") < 0) return CB_STAGE_CHDIR;
    return CB_STAGE_NONE;
}

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
    // The mask stays full (as the parent set it) until just before execve:
    // a terminal's Ctrl-C to cowbench's process group must not kill the
    // child before setsid has taken it out of that group.
    int stage = CB_STAGE_NONE;
    // "0" is the writer itself. First, so that nothing the child does, and
    // from execve on nothing its image does, is charged to cowbench.
    // The write waits for an RCU grace period when no cgroup move happened
    // lately (cgroup_threadgroup_rwsem): a wait set by how often cowbench
    // starts instances, not by the driver, so it is timed apart.
    if (a->cgroup_fd >= 0) {
        uint64_t join_start = monotonic_ns();
        if (write(a->cgroup_fd, "0", 1) != 1) stage = CB_STAGE_CGROUP;
        a->join_ns = monotonic_ns() - join_start;
    }
    if (stage != CB_STAGE_NONE) {
        // Failed joining: nothing else is tried.
    } else if (a->isolation == CB_ISOLATION_CONTAINER) {
        stage = contain(a->root);
    } else {
        // A session of its own, so a terminal's Ctrl-C to cowbench's process
        // group does not also kill the instance mid-workload.
        if (a->isolation == CB_ISOLATION_CHROOT && setsid() < 0) stage = CB_STAGE_SETSID;
        else if (a->isolation == CB_ISOLATION_CHROOT && unshare(CLONE_NEWNS) < 0) stage = CB_STAGE_UNSHARE;
        else if (chroot(a->root) < 0) stage = CB_STAGE_CHROOT;
        else if (chdir("/") < 0) stage = CB_STAGE_CHDIR;
    }
    if (stage == CB_STAGE_NONE && ((a->stdin_fd >= 0 && dup2(a->stdin_fd, 0) < 0) || (a->stdout_fd >= 0 && dup2(a->stdout_fd, 1) < 0)
                                   || (a->stderr_fd >= 0 && dup2(a->stderr_fd, 2) < 0))) stage = CB_STAGE_STDIO;
    if (stage == CB_STAGE_NONE && a->isolation == CB_ISOLATION_CONTAINER) {
        // The child has its own descriptor table (no CLONE_FILES): this
        // closes nothing of the caller's, and nothing of another instance's
        // or of cowbench's reaches the image's code.
        if (syscall(SYS_close_range, 3, ~0U, 0) < 0) stage = CB_STAGE_CLOSE_FDS;
        else if (drop_capabilities() < 0) stage = CB_STAGE_CAPS;
        else if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) stage = CB_STAGE_NO_NEW_PRIVS;
    }
    if (stage == CB_STAGE_NONE) {
        // Signals the old process group got while this child was still in it
        // are pending here; setting SIG_IGN discards a pending signal.
        static const int terminal[] = { SIGINT, SIGQUIT, SIGTSTP, SIGHUP };
        for (unsigned i = 0; i < sizeof terminal / sizeof terminal[0]; i++) {
            signal(terminal[i], SIG_IGN);
            signal(terminal[i], SIG_DFL);
        }
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        a->exec_ns = monotonic_ns();
        execve(a->argv[0], a->argv, a->envp);
        stage = CB_STAGE_EXEC;
    }
    a->err = errno;
    a->stage = stage;
    _exit(127);
}

int cb_spawn_instance(const char *root, char *const argv[], char *const envp[], int isolation, int cgroup_fd,
                      int stdin_fd, int stdout_fd, int stderr_fd, pid_t *pid, int *stage, uint64_t *exec_ns,
                      uint64_t *join_ns) {
    // clone(CLONE_VM | CLONE_VFORK), as posix_spawn does: no copy of this
    // process's page tables, and this thread sleeps until the child has
    // exec'd or failed. All signals stay blocked until the child has reset
    // its handlers, because until then it runs on this process's memory.
    const size_t stack_size = 64 * 1024;
    *stage = CB_STAGE_NONE;
    void *stack = mmap(NULL, stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) { *stage = CB_STAGE_CLONE; return errno; }
    int flags = CLONE_VM | CLONE_VFORK | SIGCHLD;
    // The child is PID 1 of its namespace: when it exits, the kernel kills
    // whatever it left running, so no process of an image outlives its instance.
    if (isolation == CB_ISOLATION_CONTAINER) flags |= CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS;
    sigset_t all, saved;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &saved);
    struct spawn_args a = { root, argv, envp, isolation, cgroup_fd, stdin_fd, stdout_fd, stderr_fd, CB_STAGE_NONE, 0, 0, 0 };
    pid_t child = clone(spawn_child, (char *)stack + stack_size, flags, &a);
    int clone_errno = errno;
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    munmap(stack, stack_size);
    if (child < 0) { *stage = CB_STAGE_CLONE; return clone_errno; }
    // A child killed before execve (SIGKILL cannot be blocked) wrote no
    // stage: without an exec time it never ran the image's binary.
    if (a.stage == CB_STAGE_NONE && a.exec_ns == 0) { a.stage = CB_STAGE_EXEC; a.err = EINTR; }
    if (a.stage != CB_STAGE_NONE) {
        int status;
        while (waitpid(child, &status, 0) < 0 && errno == EINTR) {}
        *stage = a.stage;
        return a.err;
    }
    *pid = child;
    if (exec_ns) *exec_ns = a.exec_ns;
    if (join_ns) *join_ns = a.join_ns;
    return 0;
}
