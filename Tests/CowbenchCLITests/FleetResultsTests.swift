import CowbenchCore
import Foundation
import Glibc
import Testing

/// Results from many hosts: labels, the host comparison, OpenMetrics that a
/// real parser reads, the version and commit every row records, and the
/// Kubernetes manifests checked against Kubernetes' own schema.
@Suite(.serialized) struct FleetResultsTests {
    static let venv = ReferenceRunTests.root + "/.venv-tests/bin/python"

    /// Runs `script` with the tests' venv Python (scripts/setup.sh --tests).
    func python(_ script: String, _ args: [String] = []) throws -> CLI.Result {
        guard FileSystem.exists(Self.venv) else { throw TestFailure("\(Self.venv) is missing; run scripts/setup.sh --tests") }
        return try CLI.runTool([Self.venv, "-c", script] + args)
    }

    @Test func openMetricsParsesWithARealParserAndCarriesTheRunsFigures() throws {
        let base = "/var/tmp/cowbench-fleet-om-\(getpid())"
        defer { _ = try? CLI.run(["cleanup", "--state-dir", base + "/state"]); try? TreeRemover.remove(base) }
        let r = try CLI.run(["compare", "--drivers", "overlay,btrfs", "--instances", "20", "--block", "5", "--label", "disk=nvme",
                             "--label", "rack=r12", "--state-dir", base + "/state", "--out", base + "/run"])
        #expect(r.status == 0, "\(r.all)")
        let prom = base + "/textfile/cowbench.prom"
        try FileSystem.createDirectories(base + "/textfile")
        let report = try CLI.run(["report", base + "/run", "--format", "openmetrics", "--out", prom])
        #expect(report.status == 0, "\(report.all)")
        #expect(try FileSystem.list(base + "/textfile") == ["cowbench.prom"], "written under a temporary name, then renamed into place")
        // prometheus_client's OpenMetrics parser refuses anything the format does not allow.
        let parsed = try python("""
            import sys, json
            from prometheus_client.openmetrics.parser import text_string_to_metric_families
            out = {}
            for f in text_string_to_metric_families(open(sys.argv[1]).read()):
                for s in f.samples:
                    if s.name == "cowbench_sustained_seconds":
                        out[s.labels["driver"]] = [s.value, s.labels.get("label_disk"), s.labels.get("label_rack"), f.unit]
                    if s.name == "cowbench_phase_seconds_count" and s.labels["phase"] == "create":
                        out["count_" + s.labels["driver"]] = s.value
            print(json.dumps(out))
            """, [prom])
        #expect(parsed.status == 0, "the parser accepts the file: \(parsed.all)")
        let values = try JSONSerialization.jsonObject(with: Data(parsed.stdout.utf8)) as? [String: Any] ?? [:]
        let summary = try CLI.rows(base + "/run/summary.csv")
        for driver in ["overlay", "btrfs"] {
            let row = try #require(summary.first { $0["driver"] == driver })
            let metric = try #require(values[driver] as? [Any], "\(driver) has a sustained sample: \(parsed.stdout)")
            let sustained = try #require(Double(row["sustained_s"] ?? ""))
            // summary.csv rounds to microseconds, and report re-derives sustained cost from rounded block times.
            #expect(abs((metric[0] as? Double ?? -1) - sustained) <= 2e-6, "the metric is summary.csv's sustained_s")
            #expect(metric[1] as? String == "nvme" && metric[2] as? String == "r12", "the run's labels are the series' labels")
            #expect(metric[3] as? String == "seconds")
            let probes = Double(row["probes"] ?? "") ?? -1
            #expect(values["count_" + driver] as? Double == (Double(row["instances"] ?? "") ?? 0) - probes,
                    "the summary counts the measured instances that were not space probes")
        }
    }

    @Test func reportSetsHostsSideBySideAndSaysWhereVerdictsDiffer() throws {
        let base = "/var/tmp/cowbench-fleet-hosts-\(getpid())"
        try FileSystem.createDirectories(base)
        // Two real settings: the instances' filesystem is the default scratch
        // ext4 on one "host" and a user's own xfs (--root) on the other.
        let journal = try ResourceJournal(path: base + "/test.journal")
        defer { _ = try? CLI.run(["cleanup", "--state-dir", base + "/state"]); _ = try? journal.teardown(); try? TreeRemover.remove(base) }
        let xfs = try ScratchFilesystem(kind: .xfs, size: 512 << 20, directory: base + "/xfs", journal: journal)
        var dirs: [String] = []
        for (label, root) in [("fs=ext4", nil as String?), ("fs=xfs", xfs.mountPoint)] {
            for driver in ["overlay", "copy"] {
                let out = base + "/\(label)-\(driver)"
                if let root { try FileSystem.mkdir(root + "/" + driver) }
                let r = try CLI.run(["run", "--driver", driver, "--instances", "20", "--block", "5", "--label", label,
                                     "--state-dir", base + "/state", "--out", out] + (root.map { ["--root", $0 + "/" + driver] } ?? []))
                #expect(r.status == 0, "\(r.all)")
                dirs.append(out)
            }
        }
        let md = try CLI.run(["report"] + dirs)
        #expect(md.status == 0, "\(md.all)")
        #expect(md.stdout.contains("## Hosts compared: start on busybox, churn"), "\(md.stdout)")
        let host = HostInfo.hostname
        for (driver, fs) in [("overlay", "ext4"), ("overlay", "xfs"), ("copy", "ext4"), ("copy", "xfs")] {
            #expect(md.stdout.contains("| \(driver) | \(host), kernel \(HostInfo.kernelRelease), fs=\(fs) | \(fs)"), "a row for \(driver) on \(fs)")
        }
        #expect(md.stdout.contains("- on \(host), kernel \(HostInfo.kernelRelease), fs=ext4, "), "a verdict line per host")
        let html = try CLI.run(["report", "--format", "html"] + dirs)
        #expect(html.stdout.contains("<title>Sustained cost per instance by host (start on busybox, churn)</title>"), "the chart")
        // One host's runs alone are no comparison.
        let one = try CLI.run(["report"] + dirs.prefix(2))
        #expect(!one.stdout.contains("Hosts compared"), "\(one.stdout)")
        #expect(CLI.leftovers(under: base + "/state").isEmpty, "\(CLI.leftovers(under: base + "/state"))")
    }

    @Test func labelsAreCheckedAndEveryRowRecordsVersionCommitAndLabels() throws {
        let bad = try CLI.run(["compare", "--label", "disk"])
        #expect(bad.status != 0 && bad.stderr.contains("--label 'disk' is not KEY=VALUE"), "\(bad.all)")
        let twice = try CLI.run(["compare", "--label", "a=1", "--label", "a=2"])
        #expect(twice.status != 0 && twice.stderr.contains("--label a is given twice"), "\(twice.all)")
        let semicolon = try CLI.run(["compare", "--label", "a=1;b=2"])
        #expect(semicolon.status != 0 && semicolon.stderr.contains("cannot hold ';'"), "\(semicolon.all)")

        let head = try CLI.runTool([Command.find("git") ?? "git", "-C", ReferenceRunTests.root, "rev-parse", "--short=12", "HEAD"])
        let version = try CLI.run(["--version"])
        #expect(version.stdout.hasPrefix("0.1.0 (commit \(head.stdout.trimmingCharacters(in: .whitespacesAndNewlines))"),
                "--version names the commit: \(version.stdout)")
        let base = "/var/tmp/cowbench-fleet-label-\(getpid())"
        defer { _ = try? CLI.run(["cleanup", "--state-dir", base + "/state"]); try? TreeRemover.remove(base) }
        let r = try CLI.run(["run", "--driver", "overlay", "--instances", "3", "--warmup", "0", "--label", "disk=nvme", "--label", "rack=r12",
                             "--state-dir", base + "/state", "--out", base + "/out"])
        #expect(r.status == 0, "\(r.all)")
        // exhaust (surviving two instances on ext4: exit 3) and baseline record them too.
        let exhaust = try CLI.run(["exhaust", "--driver", "overlay", "--size", "256M", "--max-instances", "2", "--label", "disk=nvme",
                                   "--label", "rack=r12", "--state-dir", base + "/state", "--out", base + "/exhaust"])
        #expect(exhaust.status == 3, "\(exhaust.all)")
        let baseline = try CLI.run(["baseline", "--drivers", "overlay", "--instances", "5", "--label", "disk=nvme", "--label", "rack=r12",
                                    "--state-dir", base + "/state", "--out", base + "/baseline"])
        #expect(baseline.status == 0, "\(baseline.all)")
        let claims = try CLI.run(["claims", "--only", "redirect-dir", "--label", "disk=nvme", "--label", "rack=r12",
                                  "--state-dir", base + "/state", "--out", base + "/claims"])
        #expect(claims.status == 0, "\(claims.all)")
        for file in ["out/instances.csv", "out/summary.csv", "out/rounds.csv", "exhaust/exhaust.csv", "exhaust/exhaust-summary.csv",
                     "baseline/baseline.csv", "baseline/instances.csv", "claims/claims.csv"] {
            let rows = try CLI.rows(base + "/" + file)
            #expect(!rows.isEmpty, "\(file)")
            for row in rows {
                #expect(row["labels"] == "disk=nvme;rack=r12", "\(file)")
                #expect(row["cowbench_version"]?.hasPrefix("0.1.0+" + head.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) == true, "\(file)")
            }
        }
    }

    @Test func kubernetesManifestsAreValidObjectsOfTheirKinds() throws {
        let dir = ReferenceRunTests.root + "/deploy/kubernetes"
        let manifests = try FileSystem.list(dir).filter { $0.hasSuffix(".yaml") }.map { dir + "/" + $0 }
        #expect(!manifests.isEmpty)
        let validate = ReferenceRunTests.root + "/.venv-tests/bin/kubernetes-validate"
        guard FileSystem.exists(validate) else { throw TestFailure("\(validate) is missing; run scripts/setup.sh --tests") }
        let r = try CLI.runTool([validate, "--strict"] + manifests)
        #expect(r.status == 0, "\(r.all)")
        #expect(r.stdout.contains("passed for resource job/cowbench-NODE"), "\(r.stdout)")
        // The validator must be able to fail: a misplaced field is refused.
        let broken = "/var/tmp/cowbench-k8s-broken-\(getpid()).yaml"
        defer { try? FileSystem.unlink(broken) }
        try FileSystem.write(try FileSystem.read(manifests[0]).replacingOccurrences(of: "restartPolicy: Never", with: "restartPolicy: Never\n      privileged: true"), to: broken)
        let refused = try CLI.runTool([validate, "--strict", broken])
        #expect(refused.status != 0, "\(refused.all)")
    }
}
