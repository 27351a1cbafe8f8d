import CSV
import CowbenchCore
import Foundation
import Glibc
import Testing

/// `claims` on the real kernel: every claim is measured (none left as
/// "cannot test here" for want of a driver or a memory cgroup, which this
/// host has; only a noisy host's undecided interval may be), written to
/// claims.csv as it goes, and carried into the report.
@Suite(.serialized, .enabled(if: HostCheck.privilegeProblem() == nil, "needs root with CAP_SYS_ADMIN"))
struct ClaimsTests {
    @Test func everyClaimIsMeasuredAndReported() throws {
        let base = "/var/tmp/cowbench-claims-\(getpid())"
        defer { try? TreeRemover.remove(base) }
        let out = base + "/out"
        let r = try CLI.run(["claims", "--state-dir", base + "/state", "--out", out])
        #expect(r.status == 0, "\(r.all)")
        #expect(CLI.leftovers(under: base).isEmpty, "\(CLI.leftovers(under: base))")
        let reader = try CSVReader(stream: InputStream(fileAtPath: out + "/claims.csv")!, hasHeaderRow: true)
        #expect(Array(reader.headerRow!.prefix(5)) == ["claim", "source", "measured", "threshold", "verdict"])
        var rows: [[String: String]] = []
        while let row = reader.next() { rows.append(Dictionary(uniqueKeysWithValues: zip(reader.headerRow!, row))) }
        #expect(rows.map { $0["id"] ?? "" } == ["page-cache", "copy-up", "layer-lookup", "redirect-dir", "unmount-sync", "seq-write", "metadata-enospc"])
        for row in rows {
            let decided = ["holds", "does not hold"].contains(row["verdict"] ?? "")
            let undecided = row["verdict"] == "cannot test here" && (row["reason"] ?? "").contains("too noisy to decide")
            #expect(decided || undecided, "\(row["id"] ?? ""): \(row["verdict"] ?? "") \(row["reason"] ?? "")")
            #expect(!(row["measured"] ?? "").isEmpty && !(row["threshold"] ?? "").isEmpty && !(row["source"] ?? "").isEmpty, "\(row)")
        }
        // The numbers are the experiment's own: the copy-up row carries a whole 64 MiB file on overlay.
        let copyUp = rows.first { $0["id"] == "copy-up" }?["measured"] ?? ""
        #expect(copyUp.contains("overlay per instance 64."), "\(copyUp)")
        for row in rows { #expect(r.stdout.contains("[\(row["id"] ?? "")]"), "the table has a row for \(row["id"] ?? "")") }
        let report = try FileSystem.read(out + "/report.md")
        #expect(report.contains("The documentation's claims, measured on"), "\(report)")
        let reported = ["holds", "does not hold", "cannot test here"].map { report.components(separatedBy: "\n| \($0) |").count - 1 }
        #expect(reported.reduce(0, +) == 7, "\(report)")
    }

    @Test func onlyPicksClaimsAndRefusesUnknownOnes() throws {
        let base = "/var/tmp/cowbench-claims-only-\(getpid())"
        defer { try? TreeRemover.remove(base) }
        let bad = try CLI.run(["claims", "--only", "page-cache,nonsense", "--state-dir", base + "/state", "--out", base + "/bad"])
        #expect(bad.status != 0 && bad.stderr.contains("--only") && bad.stderr.contains("nonsense"), "\(bad.all)")
        let r = try CLI.run(["claims", "--only", "redirect-dir", "--state-dir", base + "/state", "--out", base + "/out"])
        #expect(r.status == 0, "\(r.all)")
        let csv = try FileSystem.read(base + "/out/claims.csv")
        #expect(csv.split(separator: "\n").count == 2 && csv.contains("EXDEV"), "\(csv)")
        #expect(CLI.leftovers(under: base).isEmpty, "\(CLI.leftovers(under: base))")
    }
}
