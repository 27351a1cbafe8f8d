import ArgumentParser
import CowbenchCore

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare", abstract: "Run the same image and workload on several drivers, each on its own scratch filesystem.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var placement: DriverRootOptions
    @OptionGroup var options: BenchmarkOptions
    @Option(help: "Comma-separated drivers to compare.") var drivers = DriverRegistry.names.joined(separator: ",")

    var driverList: [String] { drivers.split(separator: ",").map(String.init) }

    func validate() throws {
        for d in driverList { try validateDriverName(d, flag: "--drivers") }
        if driverList.isEmpty { throw ValidationError("--drivers names no driver") }
        if placement.root != nil && driverList.count > 1 {
            throw ValidationError("--root is one directory, but compare runs each driver on its own filesystem; use `run --driver` with --root")
        }
    }

    func run() throws {
        try BenchmarkSession.execute(drivers: driverList, options: options, placement: placement, global: global)
    }
}
