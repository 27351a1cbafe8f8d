import CowbenchCore
import Glibc
import Testing

extension KernelTests {
    @Suite struct Images {
        @Test func syntheticImageIsDeterministicAndHasDeletions() throws {
            let base = "/var/tmp/cowbench-synth-\(getpid())"
            defer { try? TreeRemover.remove(base) }
            let spec = try SyntheticImage(parameters: ["layers": "4", "files": "30", "delete": "20", "base": "none",
                                                       "sizes": "1k:50/8k:50", "seed": "7"])
            var prints: [[[String]]] = []
            for run in 0..<2 {
                let dir = base + "/\(run)"
                try FileSystem.createDirectories(dir)
                #expect(try spec.build(into: dir) == 4)
                prints.append((0..<4).map { Look.fingerprint(dir + "/\($0)") })
            }
            #expect(prints[0] == prints[1], "same parameters, same bytes")
            let whiteouts = prints[0].joined().filter { $0.contains("rdev=0") }
            #expect(!whiteouts.isEmpty, "later layers delete earlier files with whiteouts")
            let other = try SyntheticImage(parameters: ["layers": "4", "files": "30", "seed": "8"])
            #expect(other.name != spec.name)
        }

        @Test func syntheticImageRejectsBadParameters() throws {
            #expect(throws: SetupError.self) { try SyntheticImage(parameters: ["layers": "x"]) }
            #expect(throws: SetupError.self) { try SyntheticImage(parameters: ["colour": "red"]) }
            #expect(throws: SetupError.self) { try SyntheticImage(parameters: ["sizes": "1k:5:5"]) }
            #expect(throws: SetupError.self) { try SyntheticImage(parameters: ["sizes": "1k:50/2k:20"]) }
            #expect(throws: SetupError.self) { try SyntheticImage(parameters: ["overwrite": "101"]) }
            #expect(try SyntheticImage(parameters: ["sizes": "1k"]).sizes.map(\.bytes) == [1024], "one size is every file")
        }

        @Test func busyboxImageHasAStaticShell() throws {
            let dir = "/var/tmp/cowbench-bb-\(getpid())"
            defer { try? TreeRemover.remove(dir) }
            try FileSystem.createDirectories(dir)
            try BusyboxImage.build(into: dir)
            #expect(FileSystem.exists(dir + "/0/bin/sh"))
            #expect(try FileSystem.lstat(dir + "/0/tmp").st_mode & 0o7777 == 0o1777)
            let r = try RootfsProcess.run(rootfs: dir + "/0", argv: ["/bin/sh", "-c", "echo $((6 * 7))"])
            #expect(r.status == 0 && r.output == "42\n")
        }
    }
}

@Suite struct ByteSizeTests {
    @Test func parsesUnits() {
        #expect(ByteSize.parse("4096") == 4096)
        #expect(ByteSize.parse("16k") == 16384)
        #expect(ByteSize.parse("512M") == 512 << 20)
        #expect(ByteSize.parse("2GiB") == 2 << 30)
        #expect(ByteSize.parse("0") == nil)
        #expect(ByteSize.parse("-1G") == nil)
        #expect(ByteSize.parse("lots") == nil)
    }
}
