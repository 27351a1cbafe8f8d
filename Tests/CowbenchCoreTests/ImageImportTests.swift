import CowbenchCore
import Foundation
import Glibc
import Testing

/// A state directory and a "victim" directory beside it whose contents no
/// import may change, however hostile the archive.
final class ImportSandbox {
    let base = "/var/tmp/cowbench-itest-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    var state: String { base + "/state" }
    var victim: String { base + "/victim" }
    var work: String { base + "/work" }
    let journal: ResourceJournal
    let catalog: ImageCatalog

    init() throws {
        let base = self.base
        try FileSystem.createDirectories(base + "/victim")
        try FileSystem.createDirectories(base + "/work")
        try FileSystem.write("original", to: base + "/victim/file")
        journal = try ResourceJournal(path: base + "/state/runs/journal")
        catalog = ImageCatalog(stateDirectory: base + "/state", journal: journal)
    }

    /// Everything outside the state directory, for before/after comparison.
    func outside() -> [String] { Look.fingerprint(base).filter { !$0.hasPrefix("state") && !$0.hasPrefix("work") } }

    func close() { try? TreeRemover.remove(base) }

    /// Imports expecting refusal; checks the message and that nothing changed or stayed.
    func expectRefused(_ source: String, _ expected: String, limits: ImportLimits = ImportLimits(),
                       sourceLocation: SourceLocation = #_sourceLocation) {
        let before = outside()
        var importer = ImageImporter(source: source)
        importer.limits = limits
        do {
            _ = try catalog.importImage(importer, name: "hostile")
            Issue.record("imported \(source) without complaint", sourceLocation: sourceLocation)
        } catch {
            #expect("\(error)".contains(expected), "\(error)", sourceLocation: sourceLocation)
        }
        #expect(outside() == before, "something outside the import directory changed", sourceLocation: sourceLocation)
        #expect(!FileSystem.exists(victim + "/pwned"), sourceLocation: sourceLocation)
        #expect(catalog.list().isEmpty, "a refused import leaves no image", sourceLocation: sourceLocation)
        #expect(((try? FileSystem.list(state + "/images")) ?? []).isEmpty, "nor a partial one", sourceLocation: sourceLocation)
    }
}

/// The layers most tests import: the second deletes a file and replaces a
/// directory wholesale (opaque), as OCI tools write it.
enum SampleImage {
    static let base: [TarEntry] = [
        .dir("etc"), .file("etc/keep", "k"), .file("etc/gone", "g"), .symlink("etc/link", to: "keep"),
        .hardlink("etc/hard", to: "etc/keep"), .dir("d"), .file("d/old", "o"), .dir("d/sub"), .file("d/sub/x", "x"),
        .dir("bin"), .file("bin/suid", "#!/bin/sh\n", mode: 0o4755),
    ]
    static let upper: [TarEntry] = [
        .file("etc/.wh.gone", ""), .dir("d"), .file("d/.wh..wh..opq", ""), .file("d/new", "n"), .file("etc/added", "a"),
    ]

    /// What every driver's instance must show.
    static func checkTree(_ root: String) {
        #expect(Look.read(root, "etc/keep") == "k")
        #expect(!Look.exists(root, "etc/gone"), "the whiteout hides the lower file")
        #expect(!Look.exists(root, "d/old") && !Look.exists(root, "d/sub"), "the opaque directory hides everything below")
        #expect(Look.read(root, "d/new") == "n")
        #expect(Look.read(root, "etc/added") == "a")
        #expect(Look.read(root, "etc/link") == "k")
        #expect((try? FileSystem.lstat(root + "/bin/suid").st_mode & 0o7777) == 0o4755)
    }
}

extension KernelTests {
    @Suite struct ImageImportTests {
        @Test(arguments: ["gzip", "zstd", "none"])
        func ociLayoutBecomesOverlayFormatLayers(_ packing: String) throws {
            let compression: TarWriter.Compression = packing == "gzip" ? .gzip : packing == "zstd" ? .zstd : .none
            let s = try ImportSandbox()
            defer { s.close() }
            try ImageFixture.ociLayout(s.work + "/oci", layers: [SampleImage.base, SampleImage.upper], compression: compression)
            let image = try s.catalog.importImage(ImageImporter(source: s.work + "/oci"), name: "sample")
            #expect(image.layers.count == 2)
            let gone = try FileSystem.lstat(image.layers[1] + "/etc/gone")
            #expect(gone.st_mode & S_IFMT == S_IFCHR && gone.st_rdev == 0, "whiteout as a character device 0/0")
            #expect(FileSystem.getxattr(image.layers[1] + "/d", "trusted.overlay.opaque") == Array("y".utf8))
            #expect(!FileSystem.exists(image.layers[1] + "/d/.wh..wh..opq"), "markers never appear in the result")
            let keep = try FileSystem.lstat(image.layers[0] + "/etc/keep")
            #expect(keep.st_nlink == 2, "the hardlink is a hardlink")
            #expect(keep.st_mtim.tv_sec == 1_700_000_000, "times are kept")
            #expect(s.catalog.list().map(\.name) == ["sample"])
            #expect(s.catalog.list().first?.format == .ociLayout)
        }

        @Test func everyDriverShowsTheSameTree() throws {
            let s = try ImportSandbox()
            defer { s.close() }
            try ImageFixture.ociLayout(s.work + "/oci", layers: [SampleImage.base, SampleImage.upper])
            let oci = try s.catalog.importImage(ImageImporter(source: s.work + "/oci"), name: "from-oci")
            try ImageFixture.dockerSave(s.work + "/saved.tar", layers: [SampleImage.base, SampleImage.upper], work: s.work)
            let docker = try s.catalog.importImage(ImageImporter(source: s.work + "/saved.tar"), name: "from-docker")
            #expect(s.catalog.list().first { $0.name == "from-docker" }?.format == .dockerSave)
            var trees: [[String]] = []
            for type in DriverRegistry.all {
                for image in [oci, docker] {
                    try DriverFixture.with(DriverFactory(type)) { f in
                        let prepared = try f.driver.prepare(image)
                        let instance = try f.driver.create(id: "i", from: prepared)
                        SampleImage.checkTree(instance.rootfs)
                        trees.append(Look.fingerprint(instance.rootfs))
                        try f.driver.destroy(instance)
                        try f.driver.remove(prepared)
                    }
                }
            }
            #expect(trees.count == 2 * DriverRegistry.all.count && Set(trees.map { $0.joined(separator: "\n") }).count == 1,
                    "every driver shows one tree for both formats")
        }

        @Test func anIndependentToolsLayoutImports() throws {
            guard let umoci = Command.find("umoci") else {
                Issue.record("umoci is missing; run scripts/setup.sh")
                return
            }
            let s = try ImportSandbox()
            defer { s.close() }
            let layout = s.work + "/img", bundle = s.work + "/bundle"
            try Command.run([umoci, "init", "--layout", layout])
            try Command.run([umoci, "new", "--image", layout + ":t"])
            try Command.run([umoci, "unpack", "--image", layout + ":t", bundle])
            try FileSystem.createDirectories(bundle + "/rootfs/etc")
            try FileSystem.write("stays", to: bundle + "/rootfs/etc/keep")
            try FileSystem.write("deleted in layer 2", to: bundle + "/rootfs/etc/gone")
            try Command.run([umoci, "repack", "--image", layout + ":t", bundle])
            try TreeRemover.remove(bundle)
            try Command.run([umoci, "unpack", "--image", layout + ":t", bundle])
            try FileSystem.unlink(bundle + "/rootfs/etc/gone")
            try Command.run([umoci, "repack", "--image", layout + ":t", bundle])

            var importer = ImageImporter(source: layout)
            importer.reference = "t"
            let image = try s.catalog.importImage(importer, name: "umoci")
            #expect(image.layers.count == 2)
            var trees: Set<[String]> = []
            for type in DriverRegistry.all {
                try DriverFixture.with(DriverFactory(type)) { f in
                    let prepared = try f.driver.prepare(image)
                    let instance = try f.driver.create(id: "i", from: prepared)
                    #expect(Look.read(instance.rootfs, "etc/keep") == "stays", "\(type.name)")
                    #expect(!Look.exists(instance.rootfs, "etc/gone"), "\(type.name): the file umoci deleted is absent")
                    trees.insert(Look.fingerprint(instance.rootfs))
                    try f.driver.destroy(instance)
                    try f.driver.remove(prepared)
                }
            }
            #expect(trees.count == 1)
        }

        @Test func digestMismatchIsRefused() throws {
            let s = try ImportSandbox()
            defer { s.close() }
            let digests = try ImageFixture.ociLayout(s.work + "/oci", layers: [SampleImage.base, SampleImage.upper])
            let blob = s.work + "/oci/blobs/sha256/" + digests[1].dropFirst(7)
            var bytes = try ImageFixture.bytes(blob)
            bytes[bytes.count / 2] ^= 0xff
            try FileSystem.write(bytes, to: blob)
            s.expectRefused(s.work + "/oci", "layer 1 blob \(digests[1]) does not match its digest")

            let index = try FileSystem.read(s.work + "/oci/index.json")
            let manifestDigest = String(index.split(separator: "\"").first { $0.hasPrefix("sha256:") }!)
            try FileSystem.write(index.replacingOccurrences(of: manifestDigest, with: "sha256:../../../../victim/file"),
                                 to: s.work + "/oci/index.json")
            s.expectRefused(s.work + "/oci", "is not a well-formed sha256 digest")
        }

        @Test func hostileArchivesAreRefused() throws {
            let s = try ImportSandbox()
            defer { s.close() }
            let cases: [(String, [TarEntry], String)] = [
                ("absolute", [.file(s.victim + "/pwned", "x")], "absolute path"),
                ("dotdot", [.file("a/../../victim/pwned", "x")], "'..' in the path"),
                ("symlink out", [.symlink("link", to: s.victim), .file("link/pwned", "x")], "'link' is a symlink"),
                ("relative symlink out", [.symlink("up", to: "../../.."), .file("up/victim/pwned", "x")], "'up' is a symlink"),
                ("hardlink out", [.hardlink("h", to: "../victim/file")], "'..' in the path"),
                ("hardlink absolute", [.hardlink("h", to: s.victim + "/file")], "absolute path"),
                ("hardlink elsewhere", [.hardlink("h", to: "etc/passwd")], "not a file this layer created"),
                ("whiteout of ..", [.file(".wh..", "")], "a whiteout must name an entry"),
                ("nested whiteout of ..", [.dir("a"), .file("a/.wh..", "")], "a whiteout must name an entry"),
                ("twice", [.file("f", "1"), .file("f", "2")], "'f' appears twice"),
                ("dir then file", [.dir("d"), .file("d", "x")], "'d' appears twice"),
                ("whiteout of own file", [.file("g", "1"), .file(".wh.g", "")], "whiteout for 'g', which this same layer creates"),
                ("file as parent", [.file("p", "1"), .file("p/child", "x")], "'p' is not a directory"),
                ("overlay xattr", [TarEntry(path: "e", kind: .file("x"), xattrs: ["trusted.overlay.redirect": "/etc"])],
                 "trusted.overlay.redirect"),
            ]
            for (name, entries, expected) in cases {
                let tarball = s.work + "/\(name.replacingOccurrences(of: " ", with: "-")).tar"
                try TarWriter.write(entries, to: tarball)
                s.expectRefused(tarball, expected)
                s.expectRefused(tarball, "entry '\(entries.last!.path)'")
            }
            // The same escape inside an OCI layout's second layer names that layer.
            try ImageFixture.ociLayout(s.work + "/oci", layers: [SampleImage.base, [.symlink("x", to: s.victim), .file("x/pwned", "x")]])
            s.expectRefused(s.work + "/oci", "layer 1 (sha256:")

            let bomb = s.work + "/bomb.tar.gz"
            try TarWriter.write([TarEntry(path: "zeros", kind: .zeros(64 << 20))], to: bomb, compression: .gzip)
            #expect(try FileSystem.lstat(bomb).st_size < 1 << 20, "64 MiB of zeros packs small")
            var limits = ImportLimits()
            limits.maxBytes = 8 << 20
            s.expectRefused(bomb, "decompression bomb", limits: limits)
        }
    }
}
