import ArgumentParser
import CowbenchContainerd
import CowbenchCore

@main
struct Cowbench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cowbench",
        abstract: "Benchmark container storage drivers (overlay, btrfs, copy) on real kernel mounts.",
        version: CowbenchVersion.string,
        subcommands: [CompareCommand.self, RunCommand.self, SweepCommand.self, ClaimsCommand.self, BaselineCommand.self, ExhaustCommand.self, ImageCommand.self, ReportCommand.self, DiffCommand.self, CleanupCommand.self, DoctorCommand.self, DriversCommand.self, InstanceCommand.self])

    static func main() {
        // Drivers from modules the core does not link, known before any flag is parsed.
        DriverRegistry.register(ContainerdDriver.self)
        main(nil)
    }
}

enum CowbenchVersion {
    static let string = "0.1.0"
}
