import ArgumentParser
import CowbenchCore

struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor", abstract: "Check this host: privileges, kernel filesystems, loop devices, tools, disk space, leftovers.")

    @OptionGroup var global: GlobalOptions
    @Option(help: "Also check whether each driver can work in this existing directory.") var root: String?

    func run() throws {
        var checks = Doctor.checks(.gather(stateDirectory: global.stateDirectory))
        if let root {
            checks += DriverRegistry.all.map { type in
                let problem = DriverWorkspace.rootProblem(Path.resolved(root), for: DriverChoice(type))
                return Doctor.Check(name: "root for \(type.name)", status: problem == nil ? .ok : .fail, detail: problem ?? root)
            }
        }
        for c in checks {
            print("\(c.status.rawValue.uppercased().padding(5))  \(c.name.padding(18))  \(c.detail)")
        }
        let failed = checks.filter { $0.status == .fail }.count
        if failed > 0 {
            print("\(failed) check\(failed == 1 ? "" : "s") failed")
            throw ExitCode(1)
        }
    }
}
