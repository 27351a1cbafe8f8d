import Glibc

/// Makes the next read come from disk: writes back every dirty page, then
/// asks the kernel to drop clean page cache, dentries and inodes. The
/// kernel offers this only host-wide (/proc/sys/vm/drop_caches), so other
/// work on the host loses its cache too; `--cold` says so in its help.
public enum CacheDrop {
    public static func dropAll() throws {
        // drop_caches drops only clean pages: everything must be written first,
        // the scratch filesystem and (for a buffered loop device) its backing file.
        sync()
        try FileSystem.write("3\n", to: "/proc/sys/vm/drop_caches")
    }
}
