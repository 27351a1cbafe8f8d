import CShim
import Foundation
import Glibc

/// A loop device bound to a backing file with LO_FLAGS_AUTOCLEAR.
///
/// Autoclear is what `mount -o loop` uses: the kernel detaches the device by
/// itself on its last close, so once the filesystem on it is unmounted and
/// this object's descriptor is closed, nothing is left attached, even if
/// cowbench is killed in between.
public final class LoopDevice {
    public let path: String
    public let backingFile: String
    private var fd: FileDescriptor?

    /// Whether the kernel reads and writes the backing file with direct I/O.
    /// Without it every page of the filesystem on the device is cached twice:
    /// once for the filesystem and once for the backing file (measured here:
    /// reading a 32 MiB file grew the page cache by 72 MiB, with it by 37).
    public var directIO: Bool {
        ((try? FileSystem.read("/sys/block/\(Path.base(path))/loop/dio")) ?? "").hasPrefix("1")
    }

    /// Bytes the block layer has completed writing to `device` since it was
    /// attached (sectors written, field 7 of /sys/block/NAME/stat, × 512):
    /// what a filesystem on it really sent down, whatever it says it did.
    public static func bytesWritten(_ device: String) throws -> UInt64 {
        let sys = "/sys/block/\(Path.base(device))/stat"
        let fields = try FileSystem.read(sys).split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count >= 7, let sectors = UInt64(fields[6]) else {
            throw SetupError("\(sys) has no sectors-written field; this kernel's block statistics are not the documented ones")
        }
        return sectors * 512
    }

    /// Attaches `backingFile` to a free loop device, asking for direct I/O
    /// (the kernel quietly falls back to buffered I/O where the backing
    /// filesystem cannot do it; `directIO` says which it got).
    public init(backingFile: String) throws {
        let control = try FileDescriptor("/dev/loop-control", flags: O_RDWR)
        let backing = try FileDescriptor(backingFile, flags: O_RDWR)
        for _ in 0..<32 {
            let n = cb_ioctl_int(control.raw, UInt(LOOP_CTL_GET_FREE), 0)
            if n < 0 { throw SyscallError("ioctl(LOOP_CTL_GET_FREE)", path: "/dev/loop-control") }
            let dev = "/dev/loop\(n)"
            let loop = try FileDescriptor(dev, flags: O_RDWR)
            var config = loop_config()
            config.fd = UInt32(backing.raw)
            config.info.lo_flags = UInt32(LO_FLAGS_AUTOCLEAR | LO_FLAGS_DIRECT_IO)
            withUnsafeMutableBytes(of: &config.info.lo_file_name) { buf in
                let name = Array(backingFile.utf8.prefix(buf.count - 1))
                buf.copyBytes(from: name)
            }
            if cb_ioctl_ptr(loop.raw, UInt(LOOP_CONFIGURE), &config) == 0 {
                path = dev
                self.backingFile = backingFile
                fd = loop
                return
            }
            // Another process took the device between GET_FREE and CONFIGURE.
            if Glibc.errno != EBUSY { throw SyscallError("ioctl(LOOP_CONFIGURE)", path: dev) }
        }
        throw SyscallError("ioctl(LOOP_CONFIGURE)", path: backingFile, errno: EBUSY,
                           hint: "no loop device stayed free long enough")
    }

    /// Drops this process's reference; the kernel detaches the device once
    /// nothing else (a mount) holds it.
    public func release() { fd = nil }

    /// The backing file the kernel reports for `device`, or nil if it is detached.
    public static func currentBackingFile(of device: String) -> String? {
        let sys = "/sys/block/\(Path.base(device))/loop/backing_file"
        guard let s = try? FileSystem.read(sys) else { return nil }
        let t = s.trimmingCharacters(in: .newlines)
        return t.isEmpty ? nil : t
    }

    /// Whether `device` is bound to `backingFile`: by device and inode
    /// (LOOP_GET_STATUS64 against stat), so any spelling of the path
    /// matches, a symlinked state dir included; by the kernel's name for it
    /// once the file is gone.
    public static func isBound(_ device: String, to backingFile: String) -> Bool {
        guard let current = currentBackingFile(of: device) else { return false }
        var st = Glibc.stat()
        if let file = try? FileDescriptor(backingFile, flags: O_RDONLY), fstat(file.raw, &st) == 0,
           let fd = try? FileDescriptor(device, flags: O_RDONLY) {
            var info = loop_info64()
            if cb_ioctl_ptr(fd.raw, UInt(LOOP_GET_STATUS64), &info) == 0 {
                return info.lo_device == UInt64(st.st_dev) && info.lo_inode == UInt64(st.st_ino)
            }
        }
        let name = current.hasSuffix(" (deleted)") ? String(current.dropLast(" (deleted)".count)) : current
        return name == Path.resolved(backingFile)
    }

    /// Detaches `device` only if it is still bound to `backingFile`, so a
    /// device reused by someone else is never touched.
    public static func detach(_ device: String, ifBackedBy backingFile: String) throws {
        for _ in 0..<100 {
            guard isBound(device, to: backingFile) else { return }
            usleep(10_000) // autoclear runs when the last opener goes away
        }
        let fd = try FileDescriptor(device, flags: O_RDONLY)
        if cb_ioctl_int(fd.raw, UInt(LOOP_CLR_FD), 0) != 0 && Glibc.errno != ENXIO {
            throw SyscallError("ioctl(LOOP_CLR_FD)", path: device)
        }
    }
}

