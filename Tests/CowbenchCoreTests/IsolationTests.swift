import CowbenchCore
import Foundation
import Glibc
import Testing

/// An image's code tries the known ways out of a chroot. In cowbench's
/// default box every attempt must fail and leave the host untouched; in the
/// bare chroot box the same attempts succeed, which shows the test can see
/// an escape when there is one.
extension KernelTests {
    @Suite struct Isolation {
        static let attempts = ["chroot", "mknod", "shipped-device", "mount", "proc-sys", "kill", "inherited-fd"]

        struct Box {
            let base: String
            let rootfs: String
            let hostDir: String
            let device: (major: UInt32, minor: UInt32)
        }

        /// A busybox rootfs with the escape program and a device node, as a
        /// hostile layer could ship it.
        func makeBox() throws -> Box? {
            guard let gcc = Command.find("gcc") else { return nil }
            let base = "/var/tmp/cowbench-escape-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            try FileSystem.createDirectories(base + "/image")
            try FileSystem.createDirectories(base + "/host")
            try BusyboxImage.build(into: base + "/image")
            let rootfs = base + "/image/0"
            let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/escape.c").path
            try Command.run([gcc, "-static", "-O1", "-o", rootfs + "/escape", source])
            // A node for a host device, as a hostile layer can ship one: /dev/zero's
            // numbers, which every devices cgroup allows (a disk is opened the same way).
            let device: (UInt32, UInt32) = (1, 5)
            try FileSystem.createDirectories(rootfs + "/dev")
            try Command.run(["/usr/bin/mknod", "-m", "600", rootfs + "/dev/hostdev", "c", "\(device.0)", "\(device.1)"])
            return Box(base: base, rootfs: rootfs, hostDir: base + "/host", device: device)
        }

        /// Runs every attempt in `isolation`, with a host process to signal
        /// and a descriptor of a host directory open without O_CLOEXEC, as a
        /// careless parent would leave one. Returns the attempts that escaped.
        func escapes(_ box: Box, _ isolation: CowbenchCore.Isolation) throws -> [String] {
            var escaped: [String] = []
            for attempt in Self.attempts {
                let sleep = Process()
                sleep.executableURL = URL(fileURLWithPath: "/bin/sleep")
                sleep.arguments = ["60"]
                try sleep.run()
                let sleeper = sleep.processIdentifier
                let leaked = open(box.hostDir, O_RDONLY | O_DIRECTORY)  // no O_CLOEXEC, on purpose
                let r = try RootfsProcess.run(rootfs: box.rootfs, argv: [
                    "/escape", attempt, box.hostDir + "/marker-" + attempt, "\(sleeper)", "\(box.device.major)", "\(box.device.minor)",
                ], isolation: isolation)
                close(leaked)
                usleep(20_000)
                let sleeperAlive = sleep.isRunning
                kill(sleeper, SIGKILL)
                sleep.waitUntilExit()
                if r.output.contains("ESCAPED") { escaped.append(attempt) }
                if attempt == "kill" && !sleeperAlive && !escaped.contains("kill") { escaped.append("kill") }
            }
            return escaped
        }

        func withBox(_ body: (Box) throws -> Void) throws {
            guard let box = try makeBox() else {
                Issue.record("gcc is missing; scripts/setup.sh --tests installs it")
                return
            }
            defer { try? TreeRemover.remove(box.base) }
            try body(box)
        }

        @Test func everyKnownEscapeFailsInTheDefaultBox() throws {
            try withBox { box in
                let escaped = try escapes(box, .container)
                #expect(escaped.isEmpty, "escaped the container box: \(escaped)")
                #expect(try FileSystem.list(box.hostDir).isEmpty, "nothing was written on the host")
            }
        }

        @Test func theSameAttemptsEscapeABareChroot() throws {
            try withBox { box in
                let escaped = try escapes(box, .chroot)
                for a in ["chroot", "mknod", "shipped-device", "mount", "kill", "inherited-fd"] {
                    #expect(escaped.contains(a), "\(a) did not escape a bare chroot, so the test could not see it: \(escaped)")
                }
                #expect(FileSystem.exists(box.hostDir + "/marker-chroot"), "the chroot escape wrote on the host")
            }
        }
    }
}
