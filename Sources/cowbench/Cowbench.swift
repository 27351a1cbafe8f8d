import ArgumentParser
import CowbenchContainerd
import CowbenchCore

@main
struct Cowbench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cowbench",
        abstract: "Benchmark container storage drivers (overlay, btrfs, copy) on real kernel mounts.",
        version: CowbenchVersion.display,
        subcommands: [CompareCommand.self, RunCommand.self, SweepCommand.self, ClaimsCommand.self, BaselineCommand.self, ExhaustCommand.self, ImageCommand.self, ReportCommand.self, DiffCommand.self, CleanupCommand.self, DoctorCommand.self, DriversCommand.self, InstanceCommand.self])

    static func main() {
        // Drivers from modules the core does not link, known before any flag is parsed.
        DriverRegistry.register(ContainerdDriver.self)
        main(nil)
    }
}

enum CowbenchVersion {
    static let number = "0.1.0"
    /// What results record: the version with the commit as build metadata.
    static var string: String { number + "+" + BuildInfo.commit }
    /// What --version prints.
    static var display: String { "\(number) (commit \(BuildInfo.commit))" }
}
