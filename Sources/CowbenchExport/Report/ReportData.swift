import CSV
import CowbenchHarness
import Foundation

/// Result directories read back from their CSV files: the input of every
/// report format. Built from file contents, so parsing does no I/O.
public struct ReportData: Sendable, Encodable {
    /// The files of one result directory, by name (`instances.csv`…).
    public typealias Files = [String: String]

    public var runs: [DriverRun] = []
    public var exhaustions: [Exhaustion] = []
    public var baselines: [BaselineRow] = []
    public var claims: [ClaimRow] = []

    /// The environment columns every cowbench CSV starts with.
    public struct Environment: Sendable, Encodable, Hashable {
        public var runID, host, kernel, driver, image, workload, mode, fsType, mountOptions, version: String
        public var rounds = 1, block = 0, parallel = 1, warmup = 0, usageEvery = 0
        public var seed: UInt64 = 0
        public var isolation = ""
        /// `--label`s, `;`-separated; nil in runs without any.
        public var labels: String?
    }

    /// One driver's instances from one run.
    public struct DriverRun: Sendable, Encodable {
        public var environment: Environment
        public var instances: [Instance]
        /// From rounds.csv: each block's wall and settle time.
        public var blocks: [Block] = []
        /// From summary.csv, when it is there.
        public var teardownSeconds: Double?
        public var warnings: [String] = []

        /// The same aggregate the harness printed when the run ended.
        public var summary: RunSummary {
            let e = environment
            var env = RunEnvironment(runID: e.runID, host: e.host, kernel: e.kernel, driver: e.driver, image: e.image,
                                     workload: e.workload, mode: e.mode, filesystem: e.fsType,
                                     mountOptions: e.mountOptions, cowbenchVersion: e.version)
            (env.rounds, env.block, env.seed, env.parallel, env.warmup, env.usageEvery, env.isolation) =
                (e.rounds, e.block, e.seed, e.parallel, e.warmup, e.usageEvery, e.isolation)
            env.labels = e.labels ?? ""
            var s = RunSummary(environment: env)
            var byRound: [Int: [Double]] = [:]
            for i in instances {
                var r = InstanceResult(index: i.index)
                (r.create, r.start, r.run, r.destroy) = (i.create, i.start, i.run, i.destroy)
                (r.round, r.probe, r.addedBytes, r.addedInodes) = (i.round, i.probe, i.addedBytes, i.addedInodes)
                if let p = i.errorPhase { r.error = PhaseError(phase: Phase(rawValue: p) ?? .run, message: i.errno ?? "failed") }
                s.add(r, timings: !i.probe)
                if r.error == nil && !i.probe { byRound[i.round, default: []].append(r.total) }
            }
            s.blocks = blocks.map { BlockRecord(round: $0.round, instances: $0.instances, failures: $0.failures,
                                                wallSeconds: $0.wallSeconds, settleSeconds: $0.settleSeconds, settled: $0.settled) }
            let full = s.blocks.filter { $0.failures == 0 && $0.instances == e.block }.map(\.round)
            if let first = full.first, let last = full.dropFirst().last {
                s.firstBlockTotals = byRound[first] ?? []
                s.lastBlockTotals = byRound[last] ?? []
            }
            s.teardownSeconds = teardownSeconds
            s.warnings = warnings
            return s
        }
    }

    public struct Instance: Sendable, Encodable {
        public var index: Int
        public var round: Int
        public var probe: Bool
        public var create, start, run, destroy: Double?
        public var addedBytes: Int64?
        public var addedInodes: Int64?
        public var fsUsedBytes: Int64?
        public var runMemoryBytes: Int64? = nil
        public var errorPhase: String?
        public var errno: String?
    }

    /// A row of rounds.csv.
    public struct Block: Sendable, Encodable {
        public var round, instances, failures: Int
        public var wallSeconds, settleSeconds: Double
        /// false when settle_s is empty: a block a stop cut short.
        public var settled: Bool
    }

    /// An `exhaust` run: its samples and its summary rows.
    public struct Exhaustion: Sendable, Encodable {
        public var environment: Environment
        public var samples: [Space]
        public var steps: [Step]
        public var mkfs: String
        public var reclaim: String
    }

    /// The space columns of exhaust.csv and exhaust-summary.csv, in bytes.
    public struct Space: Sendable, Encodable {
        public var instance: Int
        public var seconds: Double?
        public var fsSize, dfFree, dfAvail: Int64
        public var dataUsed, dataTotal, metaUsed, metaTotal, globalReserve, unallocated: Int64?
        public var metaProfile: String
    }

    /// A row of exhaust-summary.csv: the failure, a recovery step or the proof.
    public struct Step: Sendable, Encodable {
        public var step: String
        public var instance: String
        public var phase, syscall, errno, path, classification: String
        public var space: Space?
        public var relocatedChunks: String
        public var helped: String
        public var seconds: Double?
    }

    public struct BaselineRow: Sendable, Encodable {
        public var host, kernel, version, driver, image, phase: String
        public var instances: Int
        public var rawSeconds, cowbenchSeconds: Double?
        public var ratio: Double?
        public var shellSeconds: Double?
    }

    /// A row of claims.csv.
    public struct ClaimRow: Sendable, Encodable {
        public var claim, source, measured, threshold, verdict, reason, host, kernel: String
    }

    public init() {}

    /// Adds one result directory's files.
    public mutating func add(_ files: Files) throws {
        if let text = files["instances.csv"] { try addRuns(text, summary: files["summary.csv"], rounds: files["rounds.csv"]) }
        if let text = files["exhaust.csv"] { try addExhaustion(text, summary: files["exhaust-summary.csv"] ?? "") }
        if let text = files["claims.csv"] {
            for r in try Self.rows(text, file: "claims.csv", required: ClaimsCSV.columns.prefix(5).map { $0 }) {
                claims.append(ClaimRow(claim: r["claim"], source: r["source"], measured: r["measured"], threshold: r["threshold"],
                                       verdict: r["verdict"], reason: r["reason"], host: r["host"], kernel: r["kernel"]))
            }
        }
        if let text = files["baseline.csv"] {
            for r in try Self.rows(text, file: "baseline.csv", required: ["driver", "phase", "raw_p50_s"]) {
                baselines.append(BaselineRow(host: r["host"], kernel: r["kernel"], version: r["cowbench_version"], driver: r["driver"],
                                             image: r["image"], phase: r["phase"], instances: Int(r["instances"]) ?? 0,
                                             rawSeconds: Double(r["raw_p50_s"]), cowbenchSeconds: Double(r["cowbench_p50_s"]),
                                             ratio: Double(r["ratio"]), shellSeconds: Double(r["shell_s"])))
            }
        }
    }

    /// The CSV files a report reads.
    public static let fileNames = ["instances.csv", "summary.csv", "rounds.csv", "exhaust.csv", "exhaust-summary.csv", "baseline.csv", "claims.csv"]

    private mutating func addRuns(_ text: String, summary: String?, rounds: String?) throws {
        var order: [Environment] = []
        var byRun: [Environment: [Instance]] = [:]
        for r in try Self.rows(text, file: "instances.csv", required: ["run_id", "driver", "instance", "create_s"]) {
            let env = Self.environment(r)
            if byRun[env] == nil { order.append(env) }
            byRun[env, default: []].append(Instance(
                index: Int(r["instance"]) ?? 0, round: Int(r["round"]) ?? 0, probe: r["probe"] == "1",
                create: Double(r["create_s"]), start: Double(r["start_s"]), run: Double(r["run_s"]),
                destroy: Double(r["destroy_s"]), addedBytes: Int64(r["instance_bytes"]), addedInodes: Int64(r["instance_inodes"]),
                fsUsedBytes: Int64(r["fs_used_bytes"]), runMemoryBytes: Int64(r["run_memory_bytes"]), errorPhase: r["error_phase"].nilIfEmpty, errno: r["errno"].nilIfEmpty))
        }
        var extra: [Environment: (Double?, [String])] = [:]
        for r in try summary.map({ try Self.rows($0, file: "summary.csv", required: ["run_id", "driver", "instances", "failures"]) }) ?? [] {
            let count = (byRun[Self.environment(r)] ?? []).count
            // Teardown failures in accumulate mode have no row, so only fewer rows than counted is wrong.
            if let n = Int(r["instances"]), let f = Int(r["failures"]), n > count || n + f < count {
                throw ReportError("summary.csv line \(r.line): says \(n) instances and \(f) failures for \(r["driver"]), "
                    + "but instances.csv has \(count) rows for it; the two files are not from the same run")
            }
            extra[Self.environment(r)] = (Double(r["teardown_s"]), r["warnings"].isEmpty ? [] : r["warnings"].components(separatedBy: " | "))
        }
        var blocks: [Environment: [Block]] = [:]
        for r in try rounds.map({ try Self.rows($0, file: "rounds.csv", required: ["run_id", "driver", "round", "wall_s"]) }) ?? [] {
            blocks[Self.environment(r), default: []].append(Block(
                round: Int(r["round"]) ?? 0, instances: Int(r["instances"]) ?? 0, failures: Int(r["failures"]) ?? 0,
                wallSeconds: Double(r["wall_s"]) ?? 0, settleSeconds: Double(r["settle_s"]) ?? 0, settled: !r["settle_s"].isEmpty))
        }
        for env in order {
            runs.append(DriverRun(environment: env, instances: byRun[env]!, blocks: blocks[env] ?? [],
                                  teardownSeconds: extra[env]?.0 ?? nil, warnings: extra[env]?.1 ?? []))
        }
    }

    private mutating func addExhaustion(_ text: String, summary: String) throws {
        let sampleRows = try Self.rows(text, file: "exhaust.csv", required: ["run_id", "instance", "fs_size_bytes"])
        guard let first = sampleRows.first else { return }
        let summaryRows = try Self.rows(summary, file: "exhaust-summary.csv")
        exhaustions.append(Exhaustion(
            environment: Self.environment(first), samples: sampleRows.map { Self.space($0) },
            steps: summaryRows.map { r in
                Step(step: r["step"], instance: r["instance"], phase: r["phase"], syscall: r["syscall"], errno: r["errno"],
                     path: r["path"], classification: r["classification"], space: r["fs_size_bytes"].isEmpty ? nil : Self.space(r),
                     relocatedChunks: r["relocated_chunks"], helped: r["helped"], seconds: Double(r["seconds"]))
            },
            mkfs: summaryRows.first?["mkfs"] ?? "", reclaim: summaryRows.first?["reclaim"] ?? ""))
    }

    /// A CSV row by column name; a missing column reads as "".
    struct Row {
        let fields: [String: String]
        var line = 0
        subscript(_ name: String) -> String { fields[name] ?? "" }
    }

    /// The rows of one CSV file, checked: every row as wide as the header,
    /// the file's own columns present, numbers where numbers belong. A torn
    /// or foreign file is refused with its name and line, never rendered.
    static func rows(_ text: String, file: String, required: [String] = []) throws -> [Row] {
        let reader: CSVReader
        do { reader = try CSVReader(string: text, hasHeaderRow: true) } catch {
            throw ReportError("\(file): not CSV (\(error))")
        }
        let header = reader.headerRow ?? []
        for c in required where !header.contains(c) {
            throw ReportError("\(file) line 1: there is no \(c) column, so this is not a cowbench \(file)")
        }
        var out: [Row] = []
        var line = 1
        while let r = reader.next() {
            line += 1
            guard r.count == header.count else {
                throw ReportError("\(file) line \(line): \(r.count) fields where the header has \(header.count); the file is torn or not cowbench's")
            }
            for (name, value) in zip(header, r) where !value.isEmpty && isNumeric(name) && Double(value) == nil {
                throw ReportError("\(file) line \(line): \(name) is '\(value)', not a number")
            }
            out.append(Row(fields: Dictionary(zip(header, r), uniquingKeysWith: { a, _ in a }), line: line))
        }
        return out
    }

    static func isNumeric(_ column: String) -> Bool {
        ["_s", "_bytes", "_inodes", "_used", "_total", "_per_s", "_per_instance"].contains { column.hasSuffix($0) }
            || ["instance", "round", "probe", "instances", "failures", "probes", "rounds", "block", "seed", "parallel", "warmup",
                "usage_every", "drift", "drift_ci_low", "drift_ci_high", "ratio", "ratio_ci_low", "ratio_ci_high", "btrfs_unallocated",
                "btrfs_global_reserve", "unallocated"].contains(column)
    }

    static func environment(_ r: Row) -> Environment {
        Environment(runID: r["run_id"], host: r["host"], kernel: r["kernel"], driver: r["driver"], image: r["image"],
                    workload: r["workload"], mode: r["mode"], fsType: r["fs_type"], mountOptions: r["mount_options"],
                    version: r["cowbench_version"], rounds: Int(r["rounds"]) ?? 1, block: Int(r["block"]) ?? 0,
                    parallel: Int(r["parallel"]) ?? 1, warmup: Int(r["warmup"]) ?? 0, usageEvery: Int(r["usage_every"]) ?? 0,
                    seed: UInt64(r["seed"]) ?? 0, isolation: r["isolation"], labels: r["labels"].isEmpty ? nil : r["labels"])
    }

    static func space(_ r: Row) -> Space {
        Space(instance: Int(r["instance"]) ?? 0, seconds: Double(r["seconds"]), fsSize: Int64(r["fs_size_bytes"]) ?? 0,
              dfFree: Int64(r["df_free_bytes"]) ?? 0, dfAvail: Int64(r["df_avail_bytes"]) ?? 0,
              dataUsed: Int64(r["data_used"]), dataTotal: Int64(r["data_total"]), metaUsed: Int64(r["meta_used"]),
              metaTotal: Int64(r["meta_total"]), globalReserve: Int64(r["global_reserve_total"]), unallocated: Int64(r["unallocated"]),
              metaProfile: r["meta_profile"])
    }
}

/// A result file that cannot be read back as it was written.
public struct ReportError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension String {
    var nilIfEmpty: String? { isEmpty ? nil : self }
}
