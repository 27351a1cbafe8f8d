import CowbenchHarness
import Foundation

/// The plain-language account of an exhaustion run: what failed, why, with
/// the numbers, and which recovery steps helped.
public enum ExhaustReport {
    public static func render(_ o: ExhaustOutcome) -> String {
        let e = o.environment
        let size = o.failure?.sample.filesystem.totalBytes ?? o.fragmented?.filesystem.totalBytes ?? o.sizeSeen
        var out = "\(e.driver) on a \(mib(size)) \(e.filesystem) "
            + "(\(o.mkfs); mount \(e.mountOptions)), kernel \(e.kernel)\n"
        if !o.reclaim.isEmpty { out += "block-group reclaim: \(o.reclaim)\n" }
        if let f = o.fragmented?.btrfs {
            out += "after fragmenting data: data \(mib(f.dataUsed))/\(mib(f.dataTotal)), unallocated \(mib(f.unallocated)), "
                + "df avail \(mib(o.fragmented!.filesystem.availableBytes))\n"
            out += "(the data fragmentation is staged to make the failure quick; `--like docker` fails the way a runtime does)\n"
        }
        if e.workload.hasPrefix("docker(") {
            out += "stream: per container an init and a writable snapshot of the image, Docker's bookkeeping files written and "
                + "renamed beside them, and the workload's \(e.workload.dropFirst("docker(".count).dropLast()) files; "
                + (e.mode == "rm" ? "each removed after its workload, as docker run --rm does\n" : "kept, as a careless user's are\n")
        }
        out += "\n" + explain(o) + "\n"
        if !o.steps.isEmpty {
            let width = max(32, (o.steps.map(\.name.count).max() ?? 0) + 1)
            out += "\n" + "recovery step".padding(toLength: width + 3, withPad: " ", startingAt: 0)
                + " time     unallocated   metadata free        df avail  helped\n"
            for s in o.steps {
                out += s.name.padding(toLength: width, withPad: " ", startingAt: 0)
                    + String(format: "%7.2f s", s.seconds)
                    + change(s.before.btrfs?.unallocated, s.after.btrfs?.unallocated).leftPad(16)
                    + change(s.before.btrfs?.metadataFree, s.after.btrfs?.metadataFree).leftPad(16)
                    + change(s.before.filesystem.availableBytes, s.after.filesystem.availableBytes).leftPad(16)
                    + (s.helped ? "   yes" : s.deferred ? "   not yet: the cleaner frees it, next step" : "   no")
                    + (s.errno.map { " (\($0))" } ?? "")
                    + (s.relocated.map { $0 > 0 ? ", \($0) chunks moved" : "" } ?? "") + "\n"
            }
            out += "\n" + advice(o) + "\n"
        }
        return out
    }

    /// "Instance 19 failed with ENOSPC in write on …: metadata 114/142 MiB
    /// (DUP), unallocated 1 MiB, not above the 102 MiB the kernel keeps back
    /// for a data chunk, so metadata could not grow,
    /// while df still reported 66 MiB available (13% of 512 MiB)."
    public static func explain(_ o: ExhaustOutcome) -> String {
        if let c = o.churn {
            let back = c.spaceBackSeconds.map { String(format: "%.1f s", $0) } ?? String(format: "more than %.0f s", c.waitedSeconds)
            return "The filesystem survived \(c.instances) containers created and removed in \(String(format: "%.1f", o.seconds)) s. "
                + String(format: "Metadata peaked at %.1f MiB (from %.1f MiB), with at most ", Double(c.peakMetadataUsed) / 1048576,
                         Double(c.baselineMetadataUsed) / 1048576) + "\(c.peakBacklog) "
                + "deleted subvolumes waiting for the cleaner; the space was back \(back) after the last delete, with nothing forced."
        }
        guard let f = o.failure else {
            return "No ENOSPC after \(o.instancesCreated) instances in \(String(format: "%.1f", o.seconds)) s: this kernel "
                + "and filesystem kept up. That is a real outcome (kernels reclaim and reserve differently); raise "
                + "--max-instances, shrink --size, or keep --fragment-data to push harder."
        }
        let s = f.sample.filesystem
        let pct = s.totalBytes > 0 ? Double(s.availableBytes) * 100 / Double(s.totalBytes) : 0
        let df = "df still reported \(mib(s.availableBytes)) available (\(Int(pct.rounded()))% of \(mib(s.totalBytes)))"
        let head = "Instance \(f.instance) failed with \(f.errno) in \(f.call) on \(f.path) after \(String(format: "%.1f", o.seconds)) s"
        guard let b = f.sample.btrfs else {
            switch f.classification {
            case .inodes: return "\(head): the filesystem ran out of inodes (\(s.freeInodes) of \(s.totalInodes) free), while \(df)."
            case .data: return "\(head): the filesystem ran out of data blocks; df reported \(mib(s.availableBytes)) available."
            default: return "\(head), yet \(df) and \(s.freeInodes) inodes were free."
            }
        }
        let meta = "metadata \(mib(b.metadataUsed, unit: false))/\(mib(b.metadataTotal)) (\(b.metadataProfile), "
            + "\(mib(b.globalReserveTotal)) of it held as global reserve)"
        let data = "data \(mib(b.dataUsed, unit: false))/\(mib(b.dataTotal))"
        let unalloc = "unallocated \(mib(b.unallocated))"
        switch f.classification {
        case .metadata:
            let floor = "\(mib(b.metadataGrowthFloor)) the kernel keeps back for a data chunk"
                + (b.metadataCopies > 1 ? " (\(b.metadataCopies) times over for \(b.metadataProfile))" : "")
            return "\(head): metadata exhaustion. \(meta), \(unalloc), not above the \(floor), so metadata could not grow, while \(df). "
                + "The \(mib(b.dataFree)) free inside data chunks (\(data)) cannot hold metadata: btrfs gives space to data "
                + "or metadata a whole chunk at a time, and only a balance moves it back."
        case .data:
            return "\(head): data exhaustion. \(data) with \(unalloc); \(meta) still had room."
        case .both:
            return "\(head): data and metadata both ran out. \(data), \(meta), \(unalloc)."
        case .inodes, .unclear:
            return "\(head), yet no figure shows a full resource: \(data), \(meta), \(unalloc), and \(df)."
        }
    }

    static func advice(_ o: ExhaustOutcome) -> String {
        let helped = o.steps.filter(\.helped).map(\.name)
        let failed = o.steps.filter { $0.error != nil }.map { "\($0.name) (\($0.errno ?? "failed"))" }
        let idle = o.steps.filter { !$0.helped && !$0.deferred && $0.error == nil }.map(\.name)
        var lines: [String] = []
        if !helped.isEmpty { lines.append("Helped: " + helped.joined(separator: "; ") + ".") }
        if !idle.isEmpty { lines.append("Did not help: " + idle.joined(separator: "; ") + ".") }
        if !failed.isEmpty { lines.append("Failed: " + failed.joined(separator: "; ") + ".") }
        if let usable = o.usableAgain {
            lines.append(usable ? "Afterwards a new instance was created and written: the filesystem is usable again."
                                : "Afterwards a new instance still failed: the filesystem is not usable yet.")
        }
        return lines.joined(separator: "\n")
    }

    static func mib(_ v: UInt64, unit: Bool = true) -> String { "\(v >> 20)" + (unit ? " MiB" : "") }

    static func change(_ before: UInt64?, _ after: UInt64?) -> String {
        guard let before, let after else { return "-" }
        return "\(before >> 20)→\(after >> 20) MiB"
    }
}
