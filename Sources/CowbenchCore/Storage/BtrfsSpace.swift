import CShim
import Glibc

/// btrfs's own space accounting, read with BTRFS_IOC_SPACE_INFO and the
/// device info ioctls, not by parsing `btrfs filesystem df`. All bytes.
public struct BtrfsSpace: Sendable, Equatable {
    public var dataUsed: UInt64 = 0, dataTotal: UInt64 = 0
    public var metadataUsed: UInt64 = 0, metadataTotal: UInt64 = 0
    public var systemUsed: UInt64 = 0, systemTotal: UInt64 = 0
    public var globalReserveUsed: UInt64 = 0, globalReserveTotal: UInt64 = 0
    /// Device bytes not yet allocated to any chunk: where new metadata chunks come from.
    public var unallocated: UInt64 = 0
    public var deviceSize: UInt64 = 0
    /// Block-group profiles as btrfs names them: single, DUP, RAID1…
    public var dataProfile = "single", metadataProfile = "single"

    public init() {}

    /// Metadata space not used and not held back as the global reserve,
    /// which btrfs carves out of the metadata chunks.
    public var metadataFree: UInt64 {
        let held = metadataUsed + globalReserveTotal
        return metadataTotal > held ? metadataTotal - held : 0
    }

    public var dataFree: UInt64 { dataTotal &- dataUsed }

    /// Copies each metadata block is written in: DUP and RAID1 keep two.
    public var metadataCopies: UInt64 {
        switch metadataProfile {
        case "DUP", "RAID1", "RAID10": return 2
        case "RAID1C3": return 3
        case "RAID1C4": return 4
        default: return 1
        }
    }

    /// Unallocated bytes at or below which metadata can no longer grow.
    /// Since Linux 6.7 (calc_available_free_space, "adjust overcommit logic
    /// when very close to full") the kernel keeps one data chunk's worth,
    /// min(10% of the device, 1 GiB), out of what metadata may overcommit,
    /// counted per metadata copy; a 192 MiB filesystem with DUP metadata
    /// failed here with 13 MiB unallocated, under this floor of 38 MiB.
    public var metadataGrowthFloor: UInt64 {
        min(deviceSize / 10, 1 << 30) * metadataCopies
    }

    // Block-group type bits from <linux/btrfs_tree.h>.
    static let data: UInt64 = 1 << 0, system: UInt64 = 1 << 1, metadata: UInt64 = 1 << 2
    static let globalReserve: UInt64 = 1 << 49
    static let profiles: [(UInt64, String)] = [(1 << 3, "RAID0"), (1 << 4, "RAID1"), (1 << 5, "DUP"), (1 << 6, "RAID10"),
                                               (1 << 7, "RAID5"), (1 << 8, "RAID6"), (1 << 9, "RAID1C3"), (1 << 10, "RAID1C4")]

    static func profile(_ flags: UInt64) -> String { profiles.first { flags & $0.0 != 0 }?.1 ?? "single" }

    public static func read(_ path: String) throws -> BtrfsSpace {
        let fd = try FileDescriptor(path, flags: O_RDONLY | O_DIRECTORY)
        var rows = [cb_btrfs_space](repeating: cb_btrfs_space(), count: 32)
        let n = cb_btrfs_space_info(fd.raw, &rows, Int32(rows.count))
        if n < 0 { throw SyscallError("ioctl(BTRFS_IOC_SPACE_INFO)", path: path, errno: -n) }
        var s = BtrfsSpace()
        for r in rows.prefix(Int(n)) {
            if r.flags & globalReserve != 0 {
                s.globalReserveTotal += r.total_bytes; s.globalReserveUsed += r.used_bytes
            } else if r.flags & data != 0 && r.flags & metadata != 0 {
                s.dataTotal += r.total_bytes; s.dataUsed += r.used_bytes // mixed block groups
            } else if r.flags & data != 0 {
                s.dataTotal += r.total_bytes; s.dataUsed += r.used_bytes
                s.dataProfile = profile(r.flags)
            } else if r.flags & metadata != 0 {
                s.metadataTotal += r.total_bytes; s.metadataUsed += r.used_bytes
                s.metadataProfile = profile(r.flags)
            } else if r.flags & system != 0 {
                s.systemTotal += r.total_bytes; s.systemUsed += r.used_bytes
            }
        }
        var size: UInt64 = 0, allocated: UInt64 = 0
        let rc = cb_btrfs_device_bytes(fd.raw, &size, &allocated)
        if rc < 0 { throw SyscallError("ioctl(BTRFS_IOC_DEV_INFO)", path: path, errno: -rc) }
        s.deviceSize = size
        s.unallocated = size &- allocated
        return s
    }
}

/// `btrfs balance start -dusage=N -musage=M` through the ioctl.
public enum BtrfsBalance {
    /// Relocates data chunks at most `dataUsage` percent full and metadata
    /// chunks at most `metadataUsage` percent full (nil leaves a type alone).
    /// Returns the chunks relocated; throws ENOSPC and friends as they come.
    public static func run(_ path: String, dataUsage: Int?, metadataUsage: Int?) throws -> UInt64 {
        let fd = try FileDescriptor(path, flags: O_RDONLY | O_DIRECTORY)
        var relocated: UInt64 = 0
        while true {
            let rc = cb_btrfs_balance(fd.raw, Int32(dataUsage ?? -1), Int32(metadataUsage ?? -1), &relocated)
            if rc == 0 { return relocated }
            if -rc == EINTR { continue }
            let filters = [dataUsage.map { "-dusage=\($0)" }, metadataUsage.map { "-musage=\($0)" }].compactMap { $0 }
            throw SyscallError("ioctl(BTRFS_IOC_BALANCE_V2 \(filters.joined(separator: " ")))", path: path, errno: -rc,
                               hint: "relocated \(relocated) chunks before failing")
        }
    }
}
