import ArgumentParser
import CowbenchCore

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare", abstract: "Run the same image and workload on several drivers, each on its own scratch filesystem.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var scratch: ScratchOptions
    @OptionGroup var options: BenchmarkOptions
    @Option(help: "Comma-separated driver specs to compare; a spec may carry options after a colon, and a variant's options stay in its name: overlay:metacopy=on. See `cowbench drivers`.") var drivers = DriverRegistry.defaultNames.joined(separator: ",")

    var driverList: [String] { DriverRegistry.splitSpecs(drivers) }

    func validate() throws {
        for d in driverList { try validateDriverName(d, flag: "--drivers") }
        if driverList.isEmpty { throw ValidationError("--drivers names no driver") }
        let duplicates = Dictionary(grouping: driverList, by: { $0 }).filter { $0.value.count > 1 }.keys.sorted()
        if !duplicates.isEmpty {
            throw ValidationError("--drivers names \(duplicates.joined(separator: ", ")) more than once; name each driver once")
        }
    }

    func run() throws {
        try BenchmarkSession.execute(drivers: driverList, options: options, placement: Placement(root: nil, scratchBytes: scratch.scratchBytes),
                                      global: global)
    }
}
