import ArgumentParser
import CowbenchCore

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Start many short-lived instances of one driver and measure every phase.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var placement: DriverRootOptions
    @OptionGroup var options: BenchmarkOptions
    @Option(help: "Storage driver: \(DriverRegistry.names.joined(separator: ", ")).") var driver: String

    func validate() throws { try validateDriverName(driver, flag: "--driver") }

    func run() throws {
        try BenchmarkSession.execute(drivers: [driver], options: options, placement: placement.placement, global: global)
    }
}
