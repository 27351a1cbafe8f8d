import CowbenchCore
import Glibc
import Testing

@Suite struct DoctorTests {
    static var healthy: Doctor.HostFacts {
        Doctor.HostFacts(kernelFilesystems: ["overlay", "btrfs", "ext4", "xfs", "fuse"], loopControl: true, attachedLoops: 0,
                         tools: ["mkfs.ext4": "/sbin/mkfs.ext4", "mkfs.btrfs": "/sbin/mkfs.btrfs", "btrfs": "/bin/btrfs",
                                 "mkfs.xfs": "/sbin/mkfs.xfs", "fuse-overlayfs": "/bin/fuse-overlayfs",
                                 "unshare": "/bin/unshare", "chroot": "/sbin/chroot", "umoci": "/bin/umoci",
                                 "chromium": "/bin/chromium", "containerd": "/bin/containerd", "ctr": "/bin/ctr"],
                         libarchive: "libarchive 3.6.2", stateDirectory: "/var/lib/cowbench", stateFilesystem: "ext4",
                         stateAvailable: 50 << 30, leftovers: 0)
    }

    func line(_ facts: Doctor.HostFacts, _ name: String) -> Doctor.Check? { Doctor.checks(facts).first { $0.name == name } }

    @Test func aHealthyHostPassesEveryCheck() {
        let failing = Doctor.checks(Self.healthy).filter { $0.status != .ok }.map(\.name)
        #expect(failing.isEmpty, "\(failing)")
    }

    @Test func aMissingToolIsNamedWithTheFix() {
        var facts = Self.healthy
        facts.tools["mkfs.btrfs"] = .some(nil)
        let c = line(facts, "tool: mkfs.btrfs")
        #expect(c?.status == .fail)
        #expect(c?.detail.contains("run scripts/setup.sh") == true)
        facts.tools["umoci"] = .some(nil)
        #expect(line(facts, "tool: umoci")?.status == .warn, "only the tests need umoci")
        #expect(line(facts, "tool: umoci")?.detail.hasSuffix("run scripts/setup.sh --tests") == true)
    }

    /// xfs is a scratch kind only reflink uses: doctor learns that from
    /// the kinds and capabilities, and warns instead of failing.
    @Test func aKindOnlyAnOptionalDriverNeedsWarns() {
        var facts = Self.healthy
        facts.kernelFilesystems.remove("xfs")
        facts.tools["mkfs.xfs"] = .some(nil)
        #expect(line(facts, "kernel: xfs")?.status == .warn)
        #expect(line(facts, "kernel: xfs")?.detail.contains("reflink") == true)
        #expect(line(facts, "tool: mkfs.xfs")?.status == .warn)
        #expect(line(facts, "tool: mkfs.xfs")?.detail.contains("reflink") == true)
    }

    @Test func aKernelWithoutBtrfsFails() {
        var facts = Self.healthy
        facts.kernelFilesystems.remove("btrfs")
        #expect(line(facts, "kernel: btrfs")?.detail.contains("modprobe btrfs") == true)
        #expect(line(facts, "kernel: btrfs")?.status == .fail)
    }

    @Test func leftoversAndLowSpaceWarn() {
        var facts = Self.healthy
        facts.leftovers = 2
        facts.stateAvailable = 1 << 30
        #expect(line(facts, "leftovers")?.detail.contains("run `cowbench cleanup`") == true)
        #expect(line(facts, "state directory")?.status == .warn)
    }
}

/// The real doctor on this host, and with a root that cannot hold btrfs.
@Suite(.serialized, .enabled(if: HostCheck.privilegeProblem() == nil, "needs root with CAP_SYS_ADMIN"))
struct DoctorOnThisHostTests {
    @Test func passesHere() throws {
        let r = try CLI.run(["doctor", "--state-dir", "/var/tmp/cowbench-doctor-\(getpid())"])
        #expect(r.status == 0, "\(r.all)")
        #expect(!r.stdout.contains("FAIL"))
        #expect(r.stdout.split(separator: "\n").contains { $0.hasPrefix("OK") && $0.contains("kernel: overlay") })
    }

    @Test func namesANonBtrfsRoot() throws {
        let r = try CLI.run(["doctor", "--state-dir", "/var/tmp/cowbench-doctor-\(getpid())", "--root", "/var/tmp"])
        #expect(r.status == 1)
        #expect(r.stdout.split(separator: "\n").contains { $0.hasPrefix("FAIL") && $0.contains("root for btrfs") }, "\(r.stdout)")
        #expect(r.stdout.contains("is on ext4, but the btrfs driver needs btrfs"))
    }
}
