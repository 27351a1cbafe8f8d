import ContainerdAPI
import CowbenchCore
import Glibc

/// Performs the mounts a snapshotter returns, as containerd's own
/// mount.All does, with cowbench's overlay mount (which goes through
/// fsconfig when the options pass one page).
enum SnapshotMounts {
    static func perform(_ mounts: [Containerd_Types_Mount], on target: String) throws {
        guard mounts.count == 1, let m = mounts.first else {
            throw DriverError("containerd returned \(mounts.count) mounts for \(target); cowbench performs exactly one")
        }
        switch m.type {
        case "overlay":
            var lowers: [String] = [], upper = "", work = "", flags: [String] = []
            for o in m.options {
                if o.hasPrefix("lowerdir=") { lowers = o.dropFirst("lowerdir=".count).split(separator: ":").map(String.init) }
                else if o.hasPrefix("upperdir=") { upper = String(o.dropFirst("upperdir=".count)) }
                else if o.hasPrefix("workdir=") { work = String(o.dropFirst("workdir=".count)) }
                else { flags.append(o) }
            }
            guard !upper.isEmpty, !work.isEmpty else {
                throw DriverError("containerd's overlay mount for \(target) has no upperdir or workdir: \(m.options)")
            }
            try OverlayMount.mount(lowers: lowers, upper: upper, work: work, target: target, flags: flags)
        case "bind", "rbind":
            let recursive = m.type == "rbind" || m.options.contains("rbind")
            try Mounts.mount(source: m.source, target: target, type: "none", flags: UInt(MS_BIND) | (recursive ? UInt(MS_REC) : 0))
            if m.options.contains("ro") {
                try Mounts.mount(source: "none", target: target, type: "none", flags: UInt(MS_BIND) | UInt(MS_REMOUNT) | UInt(MS_RDONLY))
            }
        default:
            var flags: UInt = 0
            var data: [String] = []
            for o in m.options {
                switch o {
                case "ro": flags |= UInt(MS_RDONLY)
                case "rw": break
                default: data.append(o)
                }
            }
            try Mounts.mount(source: m.source, target: target, type: m.type, flags: flags, data: data.isEmpty ? nil : data.joined(separator: ","))
        }
    }
}
