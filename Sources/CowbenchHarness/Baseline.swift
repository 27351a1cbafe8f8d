import CRawLoops
import Foundation
import CowbenchCore
import Glibc

/// What cowbench adds to the work it measures: the same instances done by a
/// tight C loop (the physical limit) and by the shell loop a user would
/// otherwise write, on a fresh scratch filesystem of the same kind.
public struct BaselineRun: Sendable {
    /// Per-iteration phases of the C loop; start covers clone to exit, as
    /// cowbench's start + run does.
    public var raw: [Phase: PhaseStatistics] = [.create: .init(), .start: .init(), .destroy: .init()]
    public var rawSecondsPerInstance = 0.0
    public var shellSecondsPerInstance = 0.0
    public var shellScript = ""
}

/// The C reference loop and the shell loop for one driver, on a workspace
/// of their own (a fresh scratch filesystem of the driver's kind), run a
/// block at a time so that `baseline` can interleave them with cowbench's
/// own blocks: drift on a shared host then hits both alike.
public final class RawLoopSession {
    public private(set) var result = BaselineRun()
    private let journal: ResourceJournal
    private let workspace: DriverWorkspace
    private let image: PreparedImage
    private let mechanism: DriverMechanism
    private let directory: String
    private var done = 0
    private var closed = false
    private let isolation: Isolation

    /// The driver's mechanism has no C or shell loop to compare against.
    public struct NoRawReference: Error, CustomStringConvertible {
        public let driver: String
        public var description: String { "\(driver): no raw reference (no C loop reproduces this driver's mechanism); its baseline row is skipped" }
    }

    public init(driver driverName: String, image imageName: String, warmup: Int, stateDirectory: String, runID: String,
                scratchSize: UInt64, isolation: Isolation = .container) throws {
        self.isolation = isolation
        let type = try DriverRegistry.resolve(driverName)
        journal = try ResourceJournal(path: "\(stateDirectory)/runs/\(runID)-\(type.spec.pathComponent)-baseline.journal")
        do {
            workspace = try DriverWorkspace(type, root: nil, scratchDirectory: "\(stateDirectory)/scratch/\(runID)-\(type.spec.pathComponent)-baseline",
                                            scratchSize: scratchSize, journal: journal)
        } catch {
            _ = try? journal.teardown()
            throw error
        }
        do {
            let layers = try ImageCatalog(stateDirectory: stateDirectory, journal: journal).resolve(imageName)
            image = try workspace.driver.prepare(layers)
            guard let m = workspace.driver.mechanism(for: image) else { throw NoRawReference(driver: driverName) }
            mechanism = m
            directory = workspace.root + "/baseline"
            try journal.record(.directory(directory))
            try FileSystem.mkdir(directory, mode: 0o700)
            _ = try Baseline.rawLoop(mechanism, directory: directory, first: 0, iterations: warmup, isolation: isolation)
            done = warmup
            try workspace.driver.settle()
        } catch {
            try? workspace.close()
            throw error
        }
    }

    /// `iterations` more C-loop instances, timed into `result.raw`.
    public func runBlock(_ iterations: Int) throws {
        let t = Clock.now()
        let samples = try Baseline.rawLoop(mechanism, directory: directory, first: done, iterations: iterations, isolation: isolation)
        let wall = Clock.since(t)
        done += iterations
        let before = Double(result.raw[.create]!.count)
        result.rawSecondsPerInstance = (result.rawSecondsPerInstance * before + wall) / (before + Double(iterations))
        for s in samples {
            result.raw[.create]!.record(seconds: Double(s.create_ns) / 1e9)
            result.raw[.start]!.record(seconds: Double(s.start_run_ns) / 1e9)
            result.raw[.destroy]!.record(seconds: Double(s.destroy_ns) / 1e9)
        }
        // cowbench settles after every block; so must the reference, or
        // btrfs's cleaner backlog would slow only the C loop's snapshots.
        try workspace.driver.settle()
    }

    /// The shell loop a user would write, `iterations` times.
    public func runShell(_ iterations: Int) throws {
        try workspace.driver.settle()
        result.shellScript = ShellLoop.script(mechanism, directory: directory, iterations: iterations, isolation: isolation)
        let scriptPath = directory + "/loop.sh"
        try FileSystem.write(result.shellScript, to: scriptPath)
        let bash = Command.find("bash") ?? "/bin/sh"
        let t = Clock.now()
        try Command.run([bash, scriptPath])
        result.shellSecondsPerInstance = Clock.since(t) / Double(iterations)
        try workspace.driver.settle()
    }

    /// Removes the image and tears the workspace down; safe to call twice.
    public func close() {
        guard !closed else { return }
        closed = true
        do { try workspace.driver.remove(image) } catch { Diagnostics.warn("removing baseline image: \(error)") }
        do { try workspace.close() } catch { Diagnostics.warn("teardown of baseline: \(error)") }
    }

    deinit { close() }
}

public enum Baseline {
    /// Runs `iterations` raw C instances and then the same number in a shell
    /// loop, on a workspace of its own that is torn down afterwards.
    public static func run(driver: String, image: String, iterations: Int, warmup: Int,
                           stateDirectory: String, runID: String, scratchSize: UInt64) throws -> BaselineRun {
        let session = try RawLoopSession(driver: driver, image: image, warmup: warmup, stateDirectory: stateDirectory,
                                         runID: runID, scratchSize: scratchSize)
        defer { session.close() }
        try session.runBlock(iterations)
        try session.runShell(iterations)
        return session.result
    }

    static func rawLoop(_ mechanism: DriverMechanism, directory: String, first: Int, iterations: Int,
                        isolation: Isolation) throws -> [cbr_sample] {
        guard iterations > 0 else { return [] }
        let (kind, source, extra): (Int32, String, String) = switch mechanism {
        case .overlay(let lowerdir, let options): (Int32(CBR_OVERLAY.rawValue), lowerdir, options.joined(separator: ","))
        case .snapshot(let source): (Int32(CBR_SNAPSHOT.rawValue), source, "")
        case .copy(let source): (Int32(CBR_COPY.rawValue), source, "")
        }
        var samples = [cbr_sample](repeating: cbr_sample(), count: iterations)
        var message = [CChar](repeating: 0, count: 512)
        let err = source.withCString { src in
            extra.withCString { ext in
                directory.withCString { dir in
                    "/bin/true".withCString { program in
                        var config = cbr_config(kind: kind, source: src, extra_options: ext, directory: dir,
                                                program: program, first: Int32(first), iterations: Int32(iterations),
                                                isolation: isolation.cValue)
                        return cbr_run(&config, &samples, &message, message.count)
                    }
                }
            }
        }
        if err != 0 {
            let what = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let call = String(what.prefix { $0 != " " })
            throw SyscallError("raw loop " + call, path: String(what.dropFirst(call.count + 1)), errno: err)
        }
        return samples
    }
}

/// The loop a user would write by hand with the stock tools.
enum ShellLoop {
    /// With container isolation the shell loop boxes each process the way a
    /// user would with util-linux: new mount, PID, IPC and UTS namespaces with
    /// private propagation, then chroot (dropping capabilities and
    /// pivot_root need tools inside the image, which it may not have).
    static func script(_ mechanism: DriverMechanism, directory: String, iterations: Int,
                       isolation: Isolation = .container) -> String {
        let q = quote
        let box = isolation == .container ? "unshare --mount --pid --ipc --uts --fork --propagation private chroot" : "unshare -m chroot"
        let body: String
        switch mechanism {
        case .overlay(let lowerdir, let options):
            let extra = options.map { "," + $0 }.joined()
            body = """
              mkdir -p "$d/upper" "$d/work" "$d/merged"
              mount -t overlay overlay -o \(q("lowerdir=" + lowerdir))",upperdir=$d/upper,workdir=$d/work"\(q(extra)) "$d/merged"
              \(box) "$d/merged" /bin/true
              umount "$d/merged"
              rm -r "$d"
            """
        case .snapshot(let source):
            body = """
              btrfs -q subvolume snapshot \(q(source)) "$d"
              \(box) "$d" /bin/true
              btrfs -q subvolume delete "$d"
            """
        case .copy(let source):
            body = """
              cp -a \(q(source)) "$d"
              \(box) "$d" /bin/true
              rm -r "$d"
            """
        }
        return """
        set -e
        i=0
        while [ $i -lt \(iterations) ]; do
          d=\(q(directory))/sh$i
        \(body)
          i=$((i+1))
        done

        """
    }

    /// Single-quotes `s` for sh.
    static func quote(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }
}

/// One driver's baseline next to cowbench's own figures for the same work.
public struct BaselineComparison: Sendable {
    public var driver: String
    public var raw: [Phase: PhaseStatistics]
    public var rawSecondsPerInstance: Double
    public var shellSecondsPerInstance: Double
    /// cowbench's create, start (start + run, as the raw loop times it) and destroy.
    public var cowbench: [Phase: PhaseStatistics] = [.create: .init(), .start: .init(), .destroy: .init()]
    public var cowbenchSecondsPerInstance = 0.0

    public init(driver: String, baseline: BaselineRun) {
        self.driver = driver
        raw = baseline.raw
        rawSecondsPerInstance = baseline.rawSecondsPerInstance
        shellSecondsPerInstance = baseline.shellSecondsPerInstance
    }

    /// Adds a timed cowbench instance; probes and failures are not timings.
    public mutating func add(_ r: InstanceResult) {
        guard !r.probe, r.error == nil else { return }
        if let c = r.create { cowbench[.create]!.record(seconds: c) }
        if let s = r.start, let run = r.run { cowbench[.start]!.record(seconds: s + run) }
        if let d = r.destroy { cowbench[.destroy]!.record(seconds: d) }
    }

    /// cowbench's median over the C loop's, for create, start and destroy,
    /// with a conservative 95% interval.
    public func ratio(_ phase: Phase) -> Estimate? {
        guard let c = cowbench[phase], let r = raw[phase], c.count > 0, r.count > 0, r.median > 0 else { return nil }
        return c.medianEstimate.ratio(to: r.medianEstimate)
    }

    public mutating func update(_ baseline: BaselineRun) {
        raw = baseline.raw
        rawSecondsPerInstance = baseline.rawSecondsPerInstance
        shellSecondsPerInstance = baseline.shellSecondsPerInstance
    }
}
