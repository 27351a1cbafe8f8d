import ArgumentParser
import CowbenchCore
import CowbenchExport
import CowbenchHarness

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Run the drivers at every point of one or more parameters, each point on fresh scratch filesystems.",
        discussion: "Several --param give their cross product. summary.csv has a row per driver and point with a sweep_<name> column per parameter; sweep.html draws each figure against each parameter.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var scratch: ScratchOptions
    @OptionGroup var options: BenchmarkOptions
    @Option(help: "Comma-separated drivers.") var drivers = DriverRegistry.defaultNames.joined(separator: ",")
    @Option(help: "NAME=v1,v2,…: \(Sweep.names.joined(separator: ", ")) (repeatable).") var param: [String] = []

    var driverList: [String] { DriverRegistry.splitSpecs(drivers) }

    func validate() throws {
        for d in driverList { try validateDriverName(d, flag: "--drivers") }
        if param.isEmpty { throw ValidationError("--param is required, e.g. --param layers=1,100,500") }
        do {
            let names = try param.map { try Sweep.parameter($0).name }
            if Set(names).count != names.count { throw ValidationError("--param names one parameter twice; give each once with all its values") }
        } catch let e as SetupError { throw ValidationError(e.description) }
    }

    func run() throws {
        try stoppable(results: nil) {
            try global.beginRun()
            let parameters = try param.map(Sweep.parameter)
            let names = parameters.map(\.name)
            let points = Sweep.points(parameters)
            let seed = options.seed ?? UInt64.random(in: 1...999_999)
            let placement = Placement(root: nil, scratchBytes: scratch.scratchBytes)
            let base = try driverList.map { try options.configuration(driver: $0, placement: placement, seed: seed) }
            let plans = try points.map { p in try base.map { try Sweep.apply(p, to: $0) } }
            try BenchmarkSession.preflight(plans.flatMap { $0 }, placement: placement, global: global)
            let runID = String(UInt32.random(in: 0...UInt32.max), radix: 16)
            let out = options.out ?? ResultWriter.defaultDirectory(runID: runID)
            try ResultWriter.check(out, force: options.force)
            let writer = try ResultWriter(directory: out, replacing: options.force)
            let instances = try writer.stream("instances.csv", header: InstancesCSV.header())
            Diagnostics.note("\(driverList.joined(separator: ", ")) at \(points.count) point\(points.count == 1 ? "" : "s"), "
                + "order within each point shuffled with --seed \(seed)")
            var rows: [(point: Sweep.Point, summary: RunSummary)] = []
            do {
                for (i, (point, configs)) in zip(points, plans).enumerated() where !StopRequest.requested {
                    let label = point.map { "\($0.name)=\($0.value)" }.joined(separator: " ")
                    ProgressBar.status("point \(i + 1)/\(points.count): \(label)")
                    let bar = ProgressBar(label: label)
                    let progress = Harness.Progress(status: { ProgressBar.status("\(label): \($0)") }, instances: { bar.update($0, $1) })
                    let harness = Harness(configurations: configs, stateDirectory: global.stateDirectory, runID: "\(runID)-p\(i)",
                                          version: CowbenchVersion.string)
                    let summaries = try harness.run(progress: progress, afterRound: { _ in }) { result, env in
                        try instances.append(InstancesCSV.row(result, env))
                    }
                    rows += summaries.map { (point, $0) }
                    try writer.write("summary.csv", SweepCSV.render(names: names, rows: rows))
                    try writer.write("sweep.html", SweepReport.render(names: names, rows: rows))
                    print("\(label):")
                    print(TerminalTable.render(summaries), terminator: "")
                }
            } catch {
                writer.discardIfEmpty()
                throw error
            }
            print("results: \(writer.directory)/instances.csv, summary.csv, sweep.html")
            try exitIfInterrupted(results: writer.directory)
            if rows.contains(where: { $0.summary.failures > 0 }) { throw ExitCode(1) }
        }
    }
}
