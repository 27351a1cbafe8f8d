import CowbenchCore
import Foundation
import Glibc
import Testing

/// Inputs that once crashed, hung or invented a result: each now ends with
/// a sentence that names the file and what is wrong, and leaves nothing.
@Suite(.serialized, .enabled(if: HostCheck.privilegeProblem() == nil, "needs root with CAP_SYS_ADMIN"))
struct NeverCrashTests {
    static let base = "/var/tmp/cowbench-nocrash-\(getpid())"

    @Test func importOfWhatIsNotAnArchiveSaysSo() throws {
        let dir = Self.base + "/import"
        try FileSystem.createDirectories(dir)
        defer { try? TreeRemover.remove(Self.base) }
        try FileSystem.write("just some text\n", to: dir + "/notes.txt")
        try FileSystem.write([UInt8]((0..<65536).map { _ in UInt8.random(in: 0...255) }), to: dir + "/random.bin")
        // A real tar cut short in its second block.
        let tar = try CLI.runTool(["/usr/bin/tar", "-C", "/usr/share/doc", "-cf", dir + "/whole.tar", "util-linux"])
        #expect(tar.status == 0)
        let whole = try FileSystem.readPrefix(dir + "/whole.tar", bytes: 3000)
        try FileSystem.write(whole, to: dir + "/cut.tar")
        for name in ["notes.txt", "random.bin", "cut.tar"] {
            let r = try CLI.run(["image", "import", dir + "/" + name, "--name", "x", "--state-dir", Self.base + "/state"])
            #expect(r.status == 1, "\(name): \(r.all)")
            #expect(r.stderr.contains("\(dir)/\(name) is not"), "\(name): \(r.stderr)")
            #expect(!r.all.contains("PROGRAMMER ERROR") && !r.all.contains("Fatal error"), "\(name): \(r.all)")
            let images = (try? FileSystem.list(Self.base + "/state/images")) ?? []
            #expect(images.isEmpty, "\(name) left \(images)")
        }
    }
}
