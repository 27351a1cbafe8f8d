import Foundation
import Glibc

/// The drivers cowbench knows, looked up by name, and whether each works here.
public enum DriverRegistry {
    public static let all: [any StorageDriver.Type] = [OverlayDriver.self, BtrfsDriver.self, CopyDriver.self]

    public static var names: [String] { all.map { $0.name } }

    public static func driver(named name: String) throws -> any StorageDriver.Type {
        guard let d = all.first(where: { $0.name == name }) else {
            throw SetupError("unknown driver '\(name)'; known drivers: \(names.joined(separator: ", "))")
        }
        return d
    }

    /// Whether `driver` can run on this host, and if not, why and what to do.
    public static func availability(of driver: any StorageDriver.Type) -> (works: Bool, reason: String) {
        if let problem = HostCheck.privilegeProblem() { return (false, problem) }
        let caps = driver.capabilities
        if caps.mountsInstances, !HostCheck.kernelHasFilesystem("overlay") {
            return (false, "the kernel has no overlay filesystem (not in /proc/filesystems; try modprobe overlay)")
        }
        let fs = caps.scratchFilesystem.rawValue
        if !HostCheck.kernelHasFilesystem(fs) {
            return (false, "the kernel has no \(fs) filesystem (not in /proc/filesystems; try modprobe \(fs))")
        }
        if Command.find("mkfs.\(fs)") == nil {
            return (false, "mkfs.\(fs) is missing, so no scratch \(fs) can be made; run scripts/setup.sh")
        }
        if !FileSystem.exists("/dev/loop-control") {
            return (false, "/dev/loop-control is missing, so no loop-backed scratch filesystem can be made; pass --root")
        }
        return (true, "ok: scratch \(fs) on a loop device")
    }
}

/// Facts about the host that decide what can run.
public enum HostCheck {
    public static func kernelHasFilesystem(_ name: String) -> Bool {
        guard let text = try? FileSystem.read("/proc/filesystems") else { return false }
        return text.split(separator: "\n").contains { $0.split(separator: "\t").last.map(String.init) == name }
    }

    /// CAP_SYS_ADMIN is what mount, loop devices and snapshots need; root
    /// in a container may lack it, so check the capability, not the uid.
    public static func hasSysAdmin() -> Bool {
        guard let status = try? FileSystem.read("/proc/self/status"),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("CapEff:") }),
              let mask = UInt64(line.dropFirst("CapEff:".count).trimmingCharacters(in: .whitespaces), radix: 16)
        else { return false }
        return mask & (1 << 21) != 0
    }

    public static func privilegeProblem() -> String? {
        if geteuid() != 0 { return "cowbench must run as root (it mounts filesystems and attaches loop devices); try sudo" }
        if !hasSysAdmin() { return "this process lacks CAP_SYS_ADMIN, which mount and loop devices need (root in a container without it?)" }
        return nil
    }
}
