import CowbenchCore
import Glibc
import Testing

/// The behaviour every driver must show, taken from the overlayfs blog post's
/// lower/upper walk-through and from the OCI layer rules. Each driver's test
/// file runs every case through its own factory.
enum ConformanceCase: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case seedWalkthrough, twentyFiveLayers, whiteoutStaysHidden, opaqueDirectory, removedAndRecreatedDirectory
    case ownershipAndModes, renames, hardlinksAndSymlinks, deepStack128, deepStack500, deepStackAtLimit
    case isolation, destroyFreesStorage, processRunsInside, renameOfImageDirectory, chownCopiesUp

    var testDescription: String { rawValue }

    func check(_ factory: DriverFactory) throws {
        try DriverFixture.with(factory) { f in
            switch self {
            case .seedWalkthrough: try Cases.seedWalkthrough(f)
            case .twentyFiveLayers: try Cases.stack(f, depth: 25)
            case .whiteoutStaysHidden: try Cases.whiteoutStaysHidden(f)
            case .opaqueDirectory: try Cases.opaqueDirectory(f)
            case .removedAndRecreatedDirectory: try Cases.removedAndRecreatedDirectory(f)
            case .ownershipAndModes: try Cases.ownershipAndModes(f)
            case .renames: try Cases.renames(f)
            case .hardlinksAndSymlinks: try Cases.hardlinksAndSymlinks(f)
            // Up to each driver's limit, never past it.
            case .deepStack128: try Cases.stack(f, depth: min(128, factory.capabilities.maxLayers))
            case .deepStack500: try Cases.stack(f, depth: min(500, factory.capabilities.maxLayers))
            case .deepStackAtLimit: try Cases.stack(f, depth: min(1000, factory.capabilities.maxLayers))
            case .isolation: try Cases.isolation(f)
            case .destroyFreesStorage: try Cases.destroyFreesStorage(f)
            case .processRunsInside: try Cases.processRunsInside(f)
            case .renameOfImageDirectory: try Cases.renameOfImageDirectory(f)
            case .chownCopiesUp: try Cases.chownCopiesUp(f)
            }
        }
    }
}

private enum Cases {
    static let lower = SeedDemoImage.lowerText, upper = SeedDemoImage.upperText

    static func seedWalkthrough(_ f: DriverFixture) throws {
        let d = f.driver
        let layers = try f.image("seed", [
            [.file("in_lower.txt", lower), .file("in_both.txt", lower)],
            [.file("in_upper.txt", upper), .file("in_both.txt", upper)],
        ])
        let sourceBefore = layers.layers.map(Look.fingerprint)
        let image = try d.prepare(layers)
        let imageBefore = Look.fingerprint(image.path)
        let a = try d.create(id: "a", from: image)

        #expect(Look.read(a.rootfs, "in_lower.txt") == lower)
        #expect(Look.read(a.rootfs, "in_upper.txt") == upper)
        #expect(Look.read(a.rootfs, "in_both.txt") == upper, "a file in both layers reads from the upper one")

        let before = try d.usage(of: a)
        try FileSystem.write("new file\n", to: a.rootfs + "/new_file")
        #expect(Look.read(a.rootfs, "new_file") == "new file\n")
        #expect(try d.usage(of: a).inodes > before.inodes, "the new file is counted in the instance's own storage")

        try FileSystem.unlink(a.rootfs + "/in_both.txt")
        #expect(!Look.exists(a.rootfs, "in_both.txt"), "a deleted lower file is hidden in the instance")

        #expect(Look.fingerprint(image.path) == imageBefore, "the prepared image is unchanged")
        #expect(layers.layers.map(Look.fingerprint) == sourceBefore, "the source layers are unchanged")
        let b = try d.create(id: "b", from: image)
        #expect(Look.read(b.rootfs, "in_both.txt") == upper)
        #expect(!Look.exists(b.rootfs, "new_file"))
        try d.destroy(a)
        try d.destroy(b)
        try d.remove(image)
    }

    /// Each layer adds `f<i>` and rewrites `top.txt`; the top layer must win.
    static func stack(_ f: DriverFixture, depth: Int) throws {
        let layers = try f.image("stack\(depth)", (0..<depth).map { i in
            [.file("f\(i)", "\(i)"), .file("top.txt", "layer \(i)")]
        })
        let image = try f.driver.prepare(layers)
        let a = try f.driver.create(id: "a", from: image)
        #expect(Look.read(a.rootfs, "top.txt") == "layer \(depth - 1)")
        let missing = (0..<depth).filter { Look.read(a.rootfs, "f\($0)") != "\($0)" }
        #expect(missing.isEmpty, "files of layers \(missing) are not visible")
        try f.driver.destroy(a)
        try f.driver.remove(image)
    }

    static func whiteoutStaysHidden(_ f: DriverFixture) throws {
        let layers = try f.image("wh", [
            [.file("gone.txt", "0"), .file("kept.txt", "0"), .file("dir/gone2", "0")],
            [.whiteout("gone.txt"), .whiteout("dir/gone2"), .file("dir/other", "1")],
            [.file("later.txt", "2")],
        ])
        let image = try f.driver.prepare(layers)
        let a = try f.driver.create(id: "a", from: image)
        #expect(!Look.exists(a.rootfs, "gone.txt"), "deleted in layer 1, still hidden under layer 2")
        #expect(!Look.exists(a.rootfs, "dir/gone2"))
        #expect(Look.read(a.rootfs, "kept.txt") == "0")
        #expect(Look.read(a.rootfs, "dir/other") == "1")
        #expect(Look.read(a.rootfs, "later.txt") == "2")
        #expect(try FileSystem.list(a.rootfs + "/dir") == ["other"])
        try f.driver.destroy(a)
        try f.driver.remove(image)
    }

    static func opaqueDirectory(_ f: DriverFixture) throws {
        let layers = try f.image("opq", [
            [.file("etc/old1", "0"), .file("etc/sub/old2", "0"), .file("keep", "0")],
            [.opaque("etc"), .file("etc/new", "1")],
        ])
        let image = try f.driver.prepare(layers)
        let a = try f.driver.create(id: "a", from: image)
        #expect(try FileSystem.list(a.rootfs + "/etc") == ["new"], "an opaque directory hides everything below it")
        #expect(Look.read(a.rootfs, "keep") == "0")
        try f.driver.destroy(a)
        try f.driver.remove(image)
    }

    static func removedAndRecreatedDirectory(_ f: DriverFixture) throws {
        let layers = try f.image("recreate", [
            [.file("opt/app/old", "0")],
            [.whiteout("opt/app")],
            [.file("opt/app/new", "2")],
        ])
        let image = try f.driver.prepare(layers)
        let a = try f.driver.create(id: "a", from: image)
        #expect(try FileSystem.list(a.rootfs + "/opt/app") == ["new"])
        try f.driver.destroy(a)
        try f.driver.remove(image)
    }

    static func ownershipAndModes(_ f: DriverFixture) throws {
        let layers = try f.image("perm", [
            [.dir("srv", mode: 0o750, uid: 33, gid: 33), .file("srv/data", "x", mode: 0o640, uid: 1000, gid: 1001),
             .file("bin/tool", "#!", mode: 0o4755)],
            // A layer carries its directories' metadata too; the upper one wins.
            [.dir("srv", mode: 0o750, uid: 33, gid: 33), .file("srv/more", "y", mode: 0o600, uid: 7, gid: 8),
             .dir("var", mode: 0o700, uid: 5, gid: 5)],
        ])
        let image = try f.driver.prepare(layers)
        let a = try f.driver.create(id: "a", from: image)
        let srv = try FileSystem.lstat(a.rootfs + "/srv")
        #expect(srv.st_mode & 0o7777 == 0o750 && srv.st_uid == 33 && srv.st_gid == 33)
        let data = try FileSystem.lstat(a.rootfs + "/srv/data")
        #expect(data.st_mode & 0o7777 == 0o640 && data.st_uid == 1000 && data.st_gid == 1001)
        #expect(try FileSystem.lstat(a.rootfs + "/bin/tool").st_mode & 0o7777 == 0o4755, "setuid survives")
        let v = try FileSystem.lstat(a.rootfs + "/var")
        #expect(v.st_mode & 0o7777 == 0o700 && v.st_uid == 5)
        let more = try FileSystem.lstat(a.rootfs + "/srv/more")
        #expect(more.st_mode & 0o7777 == 0o600 && more.st_uid == 7 && more.st_gid == 8)

        #expect(chown(a.rootfs + "/srv/data", 2000, 2000) == 0)
        #expect(chmod(a.rootfs + "/srv/data", 0o600) == 0)
        let changed = try FileSystem.lstat(a.rootfs + "/srv/data")
        #expect(changed.st_uid == 2000 && changed.st_mode & 0o7777 == 0o600)
        let b = try f.driver.create(id: "b", from: image)
        let original = try FileSystem.lstat(b.rootfs + "/srv/data")
        #expect(original.st_uid == 1000 && original.st_mode & 0o7777 == 0o640, "chown/chmod stayed in instance a")
        try f.driver.destroy(a)
        try f.driver.destroy(b)
        try f.driver.remove(image)
    }

    /// Renames done by the image's own `mv`, as a container would: a rename
    /// of a lower directory may need mv's copy fallback (EXDEV on overlay).
    static func renames(_ f: DriverFixture) throws {
        let layers = try f.image("mv", [[.file("a/file.txt", "f"), .file("a/dir/inner", "i")]], busyboxBase: true)
        let image = try f.driver.prepare(layers)
        let a = try f.driver.create(id: "a", from: image)
        let r = try RootfsProcess.run(rootfs: a.rootfs,
                                      argv: ["/bin/sh", "-c", "mv /a/file.txt /a/renamed.txt && mv /a/dir /a/moved"])
        #expect(r.status == 0)
        #expect(Look.read(a.rootfs, "a/renamed.txt") == "f")
        #expect(!Look.exists(a.rootfs, "a/file.txt"))
        #expect(Look.read(a.rootfs, "a/moved/inner") == "i")
        #expect(!Look.exists(a.rootfs, "a/dir"))
        let b = try f.driver.create(id: "b", from: image)
        #expect(Look.read(b.rootfs, "a/dir/inner") == "i", "the image still has the old names")
        try f.driver.destroy(a)
        try f.driver.destroy(b)
        try f.driver.remove(image)
    }

    static func hardlinksAndSymlinks(_ f: DriverFixture) throws {
        let layers = try f.image("links", [
            [.file("data/orig", "shared"), .hardlink("data/link", to: "data/orig"),
             .symlink("data/rel", target: "orig"), .symlink("abs", target: "/data/orig")],
        ])
        let image = try f.driver.prepare(layers)
        let a = try f.driver.create(id: "a", from: image)
        let o = try FileSystem.lstat(a.rootfs + "/data/orig"), l = try FileSystem.lstat(a.rootfs + "/data/link")
        #expect(o.st_ino == l.st_ino && o.st_nlink == 2, "hardlinked names share one inode")
        #expect(Look.read(a.rootfs, "data/rel") == "shared")
        var buf = [CChar](repeating: 0, count: 256)
        let n = readlink(a.rootfs + "/abs", &buf, 255)
        #expect(n > 0 && String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) == "/data/orig")
        try f.driver.destroy(a)
        try f.driver.remove(image)
    }

    static func isolation(_ f: DriverFixture) throws {
        let layers = try f.image("iso", [[.file("shared.txt", "image")]])
        let image = try f.driver.prepare(layers)
        let imageBefore = Look.fingerprint(image.path)
        let a = try f.driver.create(id: "a", from: image)
        let b = try f.driver.create(id: "b", from: image)
        try FileSystem.write("from a", to: a.rootfs + "/shared.txt")
        try FileSystem.write("only a", to: a.rootfs + "/a-only.txt")
        #expect(Look.read(b.rootfs, "shared.txt") == "image")
        #expect(!Look.exists(b.rootfs, "a-only.txt"))
        #expect(Look.fingerprint(image.path) == imageBefore)
        try f.driver.destroy(a)
        try f.driver.destroy(b)
        try f.driver.remove(image)
    }

    static func destroyFreesStorage(_ f: DriverFixture) throws {
        let layers = try f.image("free", [[.file("etc/conf", "c")]])
        let image = try f.driver.prepare(layers)
        try f.driver.settle()
        let before = try f.scratch.stats()
        let a = try f.driver.create(id: "a", from: image)
        try FileSystem.write([UInt8](repeating: 7, count: 4 << 20), to: a.rootfs + "/big")
        for i in 0..<100 { try FileSystem.write("small \(i)", to: a.rootfs + "/s\(i)") }
        try f.driver.settle()
        let during = try f.scratch.stats()
        #expect(during.usedBytes >= before.usedBytes + (3 << 20), "the instance's writes show in statfs")
        try f.driver.destroy(a)
        try f.driver.settle()
        let after = try f.scratch.stats()
        let slack: UInt64 = 1 << 20
        #expect(after.usedBytes <= before.usedBytes + slack,
                "destroy freed the instance: used \(before.usedBytes) before, \(after.usedBytes) after")
        #expect(after.usedInodes <= before.usedInodes + 2)
        #expect(!FileSystem.exists(a.path))
        try f.driver.remove(image)
    }

    static func processRunsInside(_ f: DriverFixture) throws {
        let layers = try f.image("proc", [[.file("etc/motd", "hello from the image\n")]], busyboxBase: true)
        let image = try f.driver.prepare(layers)
        let a = try f.driver.create(id: "a", from: image)
        let r = try RootfsProcess.run(rootfs: a.rootfs, argv: ["/bin/sh", "-c", "cat /etc/motd; echo written > /tmp/out"])
        #expect(r.status == 0)
        #expect(r.output == "hello from the image\n", "the process sees the image, not the host")
        #expect(Look.read(a.rootfs, "tmp/out") == "written\n")
        let fail = try RootfsProcess.run(rootfs: a.rootfs, argv: ["/bin/sh", "-c", "exit 3"])
        #expect(fail.status == 3)
        #expect(throws: SyscallError.self) { try RootfsProcess.run(rootfs: a.rootfs, argv: ["/no/such/binary"]) }
        try f.driver.destroy(a)
        try f.driver.remove(image)
    }

    /// rename(2) itself, not mv: works in place where the capability says
    /// so, and gives EXDEV (so tools fall back to copying) where it does not.
    static func renameOfImageDirectory(_ f: DriverFixture) throws {
        let layers = try f.image("rn", [[.file("d/inner", "i")]])
        let image = try f.driver.prepare(layers)
        let a = try f.driver.create(id: "a", from: image)
        let rc = rename(a.rootfs + "/d", a.rootfs + "/e")
        if f.factory.capabilities.renamesImageDirectories {
            #expect(rc == 0, "rename of an image directory works in place on \(f.factory): errno \(errno)")
            #expect(Look.read(a.rootfs, "e/inner") == "i")
            #expect(!Look.exists(a.rootfs, "d"))
        } else {
            let e = errno
            #expect(rc == -1 && e == EXDEV, "\(f.factory) says it cannot rename image directories, so EXDEV: rc \(rc), errno \(e)")
            #expect(Look.read(a.rootfs, "d/inner") == "i")
        }
        try f.driver.destroy(a)
        try f.driver.remove(image)
    }

    /// chown of a 1 MiB image file: a whole-file copy-up charges the
    /// instance the file unless only metadata is copied up; an extent-level
    /// or full-copy driver copies no data for a chown.
    static func chownCopiesUp(_ f: DriverFixture) throws {
        let size = 1 << 20
        let layers = try f.image("own", [[.file("big", String(repeating: "\u{05}", count: size))]])
        let image = try f.driver.prepare(layers)
        let a = try f.driver.create(id: "a", from: image)
        try f.driver.settle()
        let before = try f.driver.usage(of: a)
        #expect(chown(a.rootfs + "/big", 4242, 4242) == 0, "chown: errno \(errno)")
        try f.driver.settle()
        let grew = try f.driver.usage(of: a).bytes &- before.bytes
        let st = try FileSystem.lstat(a.rootfs + "/big")
        #expect(st.st_uid == 4242 && st.st_size == size)
        #expect(Look.read(a.rootfs, "big")?.utf8.allSatisfy { $0 == 5 } == true, "the data is unchanged after the chown")
        let c = f.factory.capabilities
        if c.copyGranularity == .file && !c.metadataOnlyCopyUp {
            #expect(grew >= UInt64(size), "\(f.factory) copies the whole file up for a chown: grew \(grew) bytes")
        } else if c.metadataOnlyCopyUp {
            #expect(grew < UInt64(size / 2), "\(f.factory) copies up metadata only for a chown: grew \(grew) bytes")
        }
        // btrfs's usage walk charges changed inodes by ctime, so a chowned
        // file counts whole there: not a copy-up figure to assert on.
        let b = try f.driver.create(id: "b", from: image)
        #expect(try FileSystem.lstat(b.rootfs + "/big").st_uid == 0, "the chown stayed in instance a")
        try f.driver.destroy(a)
        try f.driver.destroy(b)
        try f.driver.remove(image)
    }
}
