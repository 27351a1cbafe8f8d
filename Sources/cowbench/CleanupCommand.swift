import ArgumentParser
import CowbenchCore

struct CleanupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cleanup",
        abstract: "Remove what crashed or killed runs left behind (and `instance create` workspaces), from their journals.",
        discussion: "Only what cowbench recorded before creating it is touched. Journals of a running cowbench are skipped. Safe to run twice.")

    @OptionGroup var global: GlobalOptions

    func run() throws {
        try global.requirePrivilege()
        var lines = 0
        do {
            let removed = try Cleanup.run(global.stateDirectory) { line in
                print(line)
                lines += 1
            }
            print(removed == 0 && lines == 0 ? "nothing to clean up in \(global.stateDirectory)"
                                             : "removed \(removed) resource\(removed == 1 ? "" : "s")")
        } catch {
            throw ValidationError("cleanup could not remove everything: \(error)")
        }
    }
}
