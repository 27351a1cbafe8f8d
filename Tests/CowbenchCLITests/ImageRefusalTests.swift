import CowbenchCore
import Foundation
import Glibc
import Testing

/// Images that would make the drivers disagree, fill the disk, or run every
/// instance to failure are refused, with what is wrong and what to do.
@Suite(.serialized, .enabled(if: HostCheck.privilegeProblem() == nil, "needs root with CAP_SYS_ADMIN"))
struct ImageRefusalTests {
    static let base = "/var/tmp/cowbench-imgref-\(getpid())"
    var state: String { Self.base + "/state" }

    @Test func aSparseFileCountsItsApparentSize() throws {
        defer { try? TreeRemover.remove(Self.base) }
        try FileSystem.createDirectories(Self.base + "/src")
        try FileSystem.write("", to: Self.base + "/src/huge")
        #expect(truncate(Self.base + "/src/huge", 10 << 30) == 0)
        let tar = try CLI.runTool(["/usr/bin/tar", "--sparse", "-C", Self.base + "/src", "-cf", Self.base + "/sparse.tar", "huge"])
        #expect(tar.status == 0, "\(tar.all)")
        #expect(try FileSystem.lstat(Self.base + "/sparse.tar").st_size < 1 << 20, "the archive itself is small")
        let r = try CLI.run(["image", "import", Self.base + "/sparse.tar", "--name", "sparse", "--max-size", "1G", "--state-dir", state])
        #expect(r.status != 0 && r.stderr.contains("expands past the 1.0 GiB limit"), "\(r.all)")
        #expect(((try? FileSystem.list(state + "/images")) ?? []).isEmpty)
    }

    @Test func anOCILayoutWithSeveralImagesNeedsARef() throws {
        guard let umoci = Command.find("umoci") else {
            Issue.record("umoci is missing; run scripts/setup.sh --tests")
            return
        }
        defer { try? TreeRemover.remove(Self.base) }
        let layout = Self.base + "/layout"
        try FileSystem.createDirectories(Self.base)
        try Command.run([umoci, "init", "--layout", layout])
        try Command.run([umoci, "new", "--image", layout + ":first"])
        try Command.run([umoci, "new", "--image", layout + ":second"])
        let r = try CLI.run(["image", "import", layout, "--name", "two", "--state-dir", state])
        #expect(r.status != 0 && r.stderr.contains("holds 2 images; choose one with --ref: first, second"), "\(r.all)")
        let one = try CLI.run(["image", "import", layout, "--name", "two", "--ref", "second", "--state-dir", state])
        #expect(one.status == 0, "\(one.all)")
    }

    @Test func aDirLayerWithOverlayRedirectsIsRefused() throws {
        defer { try? TreeRemover.remove(Self.base) }
        let layer = Self.base + "/layer"
        try FileSystem.createDirectories(layer + "/moved")
        try FileSystem.setxattr(layer + "/moved", "trusted.overlay.redirect", Array("/elsewhere".utf8))
        let r = try CLI.run(["run", "--driver", "copy", "--image", "dir:" + layer, "--instances", "2", "--state-dir", state,
                             "--out", Self.base + "/out"])
        #expect(r.status != 0 && r.stderr.contains("carries trusted.overlay.redirect, which only overlayfs would follow"), "\(r.all)")
        #expect(CLI.leftovers(under: state).isEmpty)
    }

    @Test func anImageWithoutTheWorkloadsBinaryIsRefusedUpFront() throws {
        defer { try? TreeRemover.remove(Self.base) }
        let r = try CLI.run(["run", "--driver", "overlay", "--image", "seed-demo", "--instances", "5", "--state-dir", state,
                             "--out", Self.base + "/out"])
        #expect(r.status != 0, "\(r.all)")
        #expect(r.stderr.contains("the image seed-demo has no /bin/true, which the start workload runs"), "\(r.stderr)")
        #expect(!r.all.contains("failures"), "no instance ran to failure")
        #expect(!FileSystem.exists(Self.base + "/out"), "a run refused before its first row leaves no --out behind")
        #expect(CLI.leftovers(under: state).isEmpty)
    }
}
