// The known ways out of a chroot-only box, one per run: argv[1] names the
// attempt. Prints "ESCAPED <attempt>" when it worked, "held <attempt>: why"
// when it did not. Nothing it does harms the host when it succeeds: it
// creates marker files in the test's own directory, reads 512 bytes of a
// device (the test names /dev/zero's numbers: a host's devices cgroup may
// refuse a disk even to root, and the way in is the same), mounts and unmounts a tmpfs in its own mount namespace, opens (never
// writes) a /proc/sys file, and kills the test's own sleep process.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static int held(const char *what, const char *why) {
    printf("held %s: %s (%s)\n", what, why, strerror(errno));
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 6) return 2;
    const char *attempt = argv[1], *marker = argv[2];
    pid_t host_pid = atoi(argv[3]);
    unsigned major_no = atoi(argv[4]), minor_no = atoi(argv[5]);
    char buf[512];
    if (!strcmp(attempt, "chroot")) {
        mkdir("/tmp/jail", 0755);
        int fd = open(".", O_RDONLY | O_DIRECTORY);
        if (chroot("/tmp/jail") < 0) return held(attempt, "chroot into a subdirectory");
        if (fchdir(fd) < 0) return held(attempt, "fchdir");
        for (int i = 0; i < 64; i++) chdir("..");
        if (chroot(".") < 0) return held(attempt, "chroot(\".\")");
        int m = open(marker, O_CREAT | O_WRONLY, 0644);
        if (m < 0) return held(attempt, "creating the host marker");
        printf("ESCAPED %s\n", attempt);
    } else if (!strcmp(attempt, "mknod")) {
        if (mknod("/tmp/dev", S_IFCHR | 0600, makedev(major_no, minor_no)) < 0) return held(attempt, "mknod");
        int d = open("/tmp/dev", O_RDONLY);
        if (d < 0 || read(d, buf, sizeof buf) != (ssize_t)sizeof buf) return held(attempt, "reading the node");
        printf("ESCAPED %s\n", attempt);
    } else if (!strcmp(attempt, "shipped-device")) {
        int d = open("/dev/hostdev", O_RDONLY);
        if (d < 0 || read(d, buf, sizeof buf) != (ssize_t)sizeof buf) return held(attempt, "opening the image's own device node");
        printf("ESCAPED %s\n", attempt);
    } else if (!strcmp(attempt, "mount")) {
        mkdir("/tmp/cowbench-escape-mnt", 0755);
        if (mount("tmpfs", "/tmp/cowbench-escape-mnt", "tmpfs", 0, "size=1m") < 0) return held(attempt, "mount");
        umount2("/tmp/cowbench-escape-mnt", MNT_DETACH);
        printf("ESCAPED %s\n", attempt);
    } else if (!strcmp(attempt, "proc-sys")) {
        if (mount("proc", "/proc", "proc", 0, NULL) < 0 && errno != EBUSY) { /* may already be there */ }
        int p = open("/proc/sys/kernel/hostname", O_WRONLY);
        if (p < 0) return held(attempt, "opening /proc/sys for writing");
        printf("ESCAPED %s\n", attempt);
    } else if (!strcmp(attempt, "kill")) {
        if (kill(host_pid, SIGKILL) < 0) return held(attempt, "kill");
        printf("ESCAPED %s\n", attempt);
    } else if (!strcmp(attempt, "inherited-fd")) {
        for (int fd = 3; fd < 1024; fd++) {
            int m = openat(fd, "marker-fd", O_CREAT | O_WRONLY, 0644);
            if (m >= 0) { printf("ESCAPED %s through fd %d\n", attempt, fd); return 0; }
        }
        return held(attempt, "no descriptor leads out");
    } else {
        return 2;
    }
    return 0;
}
