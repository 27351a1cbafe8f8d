import CowbenchCore
import Glibc
import Testing

/// Every test that mounts, attaches loop devices or forks lives under this
/// suite, which runs its contents one at a time: parallel mount tests hit
/// EBUSY on unmount while another test's fork holds copies of descriptors.
@Suite(.serialized, .enabled(if: KernelRequirement.missing == nil, Comment(rawValue: KernelRequirement.missing ?? "")))
struct KernelTests {}

/// Why kernel tests cannot run here, or nil when they can.
enum KernelRequirement {
    static let missing: String? = {
        if let p = HostCheck.privilegeProblem() { return "skipped: \(p)" }
        for fs in ["overlay", "btrfs", "ext4"] where !HostCheck.kernelHasFilesystem(fs) {
            return "skipped: the kernel has no \(fs) filesystem"
        }
        for tool in ["mkfs.ext4", "mkfs.btrfs"] where Command.find(tool) == nil {
            return "skipped: \(tool) is missing (run scripts/setup.sh)"
        }
        if !FileSystem.exists("/dev/loop-control") { return "skipped: no /dev/loop-control" }
        return nil
    }()
}
