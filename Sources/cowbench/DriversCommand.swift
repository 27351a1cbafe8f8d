import ArgumentParser
import CowbenchCore

struct DriversCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drivers", abstract: "List the storage drivers and whether each works on this host.")

    func run() throws {
        for d in DriverRegistry.all {
            let (works, reason) = DriverRegistry.availability(of: d)
            let c = d.capabilities
            print("\(d.name.padding(15))\(works ? "works" : "NO   ")  \(c.summary)")
            print("        copy-on-write: \(c.copyGranularity.rawValue), shared page cache: \(c.sharesPageCache ? "yes" : "no"), "
                + "max layers: \(c.maxLayers), scratch fs: \(c.scratchFilesystem.rawValue)"
                + (c.daemonPerInstance ? ", a daemon per instance" : "")
                + (c.requiredFilesystem.map { ", needs \($0.rawValue)" } ?? ""))
            for o in d.options { print("        option \(o.usage): \(o.help)") }
            print("        \(reason)")
        }
    }
}

extension String {
    func padding(_ n: Int) -> String { count >= n ? self + " " : self + String(repeating: " ", count: n - count) }
}
