// Reference loops for `cowbench baseline`. They do the same kernel work as a
// driver's create, start and destroy, in plain C: no journal, no Swift
// runtime, no bookkeeping. The ratio of cowbench's medians to these is what
// cowbench itself adds, so they have to be C: they are the physical limit
// NOTES.md measures, rerun on the same scratch filesystem in the same run.
#ifndef COWBENCH_CRAWLOOPS_H
#define COWBENCH_CRAWLOOPS_H

#include <stddef.h>
#include <stdint.h>

enum cbr_kind {
    CBR_OVERLAY = 0,  // mkdir ×4, mount overlay, umount, remove the tree
    CBR_SNAPSHOT = 1, // BTRFS_IOC_SNAP_CREATE_V2 of source, BTRFS_IOC_SNAP_DESTROY
    CBR_COPY = 2,     // copy the tree with copy_file_range, remove it
};

struct cbr_config {
    int kind;
    /// Overlay: the lowerdir= value (top layer first). Snapshot and copy: the source tree.
    const char *source;
    /// Overlay: extra mount options appended after workdir (may be empty).
    const char *extra_options;
    /// An existing directory on the scratch filesystem for the instances.
    const char *directory;
    /// The program to run in each instance's rootfs, e.g. "/bin/true".
    const char *program;
    /// Index of the first instance (names raw<first>...), so blocks never reuse a name.
    int first;
    int iterations;
    /// cb_isolation: how each process is boxed, as cowbench boxes its own.
    int isolation;
};

/// Per-iteration nanoseconds: create, start+run (CShim's cb_spawn_instance in
/// the configured box, then waitpid), destroy.
struct cbr_sample {
    uint64_t create_ns;
    uint64_t start_run_ns;
    uint64_t destroy_ns;
};

/// Runs `config->iterations` instances into `out`. Returns 0, or an errno
/// with `error` holding "syscall path" of the step that failed.
/// Not thread-safe: the loops share one child stack and nftw's context.
int cbr_run(const struct cbr_config *config, struct cbr_sample *out, char *error, size_t error_len);

#endif
