import CowbenchContainerd
import CowbenchCore
import Foundation
import Glibc
import Testing

/// How the conformance suite gets a driver: a spec, resolved as users'
/// specs are, so variants (`overlay:volatile`) run the same suite and the
/// suite decides by their capabilities.
struct DriverFactory: Sendable, CustomStringConvertible {
    let choice: DriverChoice

    init(_ spec: String) {
        choice = try! DriverRegistry.resolve(spec)
    }

    init(_ type: any StorageDriver.Type) { choice = DriverChoice(type) }

    var type: any StorageDriver.Type { choice.type }
    var capabilities: DriverCapabilities { choice.capabilities }
    func make(_ root: String, _ journal: ResourceJournal) throws -> any StorageDriver { try choice.open(root: root, journal: journal) }
    var description: String { choice.description }

    /// Every driver, and every variant the issue names: adding a driver
    /// or a variant to the conformance suite is one line here.
    static let all: [DriverFactory] = {
        DriverRegistry.register(ContainerdDriver.self)
        return [
            "overlay", "overlay:volatile", "overlay:metacopy=on", "overlay:redirect_dir=on,index=on",
            "btrfs", "copy", "reflink", "reflink:btrfs", "fuse-overlayfs",
            "containerd:overlayfs", "containerd:btrfs", "containerd:native",
        ].map(DriverFactory.init)
    }()
}

/// A private state directory, a scratch filesystem of the driver's kind and
/// the driver on it. `close()` tears everything down and checks that no
/// mount or loop device of the fixture's is left.
final class DriverFixture {
    let state: String
    let journal: ResourceJournal
    let scratch: ScratchFilesystem
    let driver: any StorageDriver
    let factory: DriverFactory
    private var layerSets = 0

    init(_ factory: DriverFactory, scratchSize: UInt64 = 1 << 30) throws {
        self.factory = factory
        state = "/var/tmp/cowbench-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileSystem.createDirectories(state)
        journal = try ResourceJournal(path: state + "/journal")
        scratch = try ScratchFilesystem(kind: factory.capabilities.scratchFilesystem, size: scratchSize,
                                        directory: state + "/scratch", journal: journal)
        driver = try factory.make(scratch.mountPoint, journal)
    }

    /// Writes layers (bottom first) under the state directory and returns them as an image.
    func image(_ name: String, _ layers: [[LayerEntry]], busyboxBase: Bool = false) throws -> ImageLayers {
        layerSets += 1
        let dir = state + "/layers-\(layerSets)"
        var paths: [String] = []
        if busyboxBase {
            try FileSystem.createDirectories(dir + "/bb")
            try BusyboxImage.build(into: dir + "/bb")
            paths.append(dir + "/bb/0")
        }
        for (i, entries) in layers.enumerated() {
            let l = dir + "/\(i)"
            try FileSystem.createDirectories(l)
            for e in entries { try e.write(into: l) }
            paths.append(l)
        }
        return ImageLayers(name: name, layers: paths)
    }

    func close() throws {
        defer { try? TreeRemover.remove(state) }
        try journal.teardown()
        #expect(Mounts.mounts(under: state).isEmpty, "mounts left under \(state)")
        let loops = (try? FileSystem.list("/sys/block")) ?? []
        for l in loops where l.hasPrefix("loop") {
            let backing = LoopDevice.currentBackingFile(of: "/dev/" + l) ?? ""
            #expect(!backing.hasPrefix(state), "/dev/\(l) still attached to \(backing)")
        }
    }

    /// Runs `body` with a fixture and always closes it.
    static func with(_ factory: DriverFactory, _ body: (DriverFixture) throws -> Void) throws {
        let f = try DriverFixture(factory)
        do { try body(f) } catch {
            try? f.close()
            throw error
        }
        try f.close()
    }
}

/// Reading instance trees in assertions.
enum Look {
    static func read(_ root: String, _ path: String) -> String? {
        try? FileSystem.read(root + "/" + path)
    }

    static func exists(_ root: String, _ path: String) -> Bool { FileSystem.exists(root + "/" + path) }

    /// Every path under `root` with its type, mode, owner and (for files) content:
    /// equal fingerprints mean an unchanged tree. Crosses btrfs subvolumes.
    static func fingerprint(_ root: String) -> [String] {
        var out: [String] = []
        func walk(_ rel: String) {
            let full = rel.isEmpty ? root : root + "/" + rel
            guard let names = try? FileSystem.list(full) else { return }
            for n in names {
                let r = rel.isEmpty ? n : rel + "/" + n
                guard let st = try? FileSystem.lstat(root + "/" + r) else { continue }
                let kind = st.st_mode & S_IFMT
                var line = "\(r) \(String(st.st_mode, radix: 8)) \(st.st_uid):\(st.st_gid)"
                if kind == S_IFREG { line += " " + (read(root, r) ?? "?") }
                if kind == S_IFCHR { line += " rdev=\(st.st_rdev)" }
                out.append(line)
                if kind == S_IFDIR { walk(r) }
            }
        }
        walk("")
        return out
    }
}
