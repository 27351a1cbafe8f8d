import ArgumentParser
import CowbenchCore
import CowbenchExport
import Foundation

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: "Render result directories (from run, compare, exhaust, baseline) as Markdown, JSON or HTML.")

    enum Format: String, ExpressibleByArgument, CaseIterable { case markdown, json, html, gobench, openmetrics }

    @Argument(help: "Result directories, from one host or many.") var directories: [String]
    @Option(help: "markdown, json, html, gobench (Go benchmark lines for benchstat), or openmetrics (a Prometheus textfile-collector file).")
    var format: Format = .markdown
    @Option(help: "Write here instead of standard output; written to a temporary name beside it and renamed into place, so a reader never sees half a file.")
    var out: String?
    @Option(help: "Also write every chart as a standalone SVG file into this directory.") var charts: String?

    func validate() throws {
        if directories.isEmpty { throw ValidationError("name at least one result directory") }
        for d in directories where !FileSystem.isDirectory(d) {
            throw ValidationError("'\(d)' is not a directory of cowbench results")
        }
    }

    func run() throws {
        let data = try Self.load(directories)
        let text = Self.render(data, format)
        if let out {
            // A textfile collector may read the file at any moment.
            let temporary = Path.parent(out) + "/.\(Path.base(out)).\(getpid()).tmp"
            try FileSystem.write(text, to: temporary)
            do { try FileSystem.rename(temporary, out) } catch {
                try? FileSystem.unlink(temporary)
                throw error
            }
        } else {
            print(text, terminator: "")
        }
        if let charts {
            try FileSystem.createDirectories(charts)
            for c in HTMLReport.charts(data) { try FileSystem.write(c.svg, to: charts + "/" + c.name) }
        }
    }

    /// Reads every CSV a report knows from each directory, in order.
    static func load(_ directories: [String]) throws -> ReportData {
        var data = ReportData()
        var seen = Set<String>()
        // The same directory named twice (report D D, or D and D/) would repeat every claim.
        for d in directories where seen.insert(Path.resolved(d)).inserted {
            var files: ReportData.Files = [:]
            for name in ReportData.fileNames where FileSystem.exists(d + "/" + name) { files[name] = try FileSystem.read(d + "/" + name) }
            if files.isEmpty { throw SetupError("\(d) holds none of \(ReportData.fileNames.joined(separator: ", "))") }
            do { try data.add(files) } catch { throw SetupError("cannot read the CSVs in \(d): \(error)") }
        }
        return data
    }

    static func render(_ data: ReportData, _ format: Format) -> String {
        switch format {
        case .markdown: MarkdownReport.render(data)
        case .json: JSONReport.render(data)
        case .html: HTMLReport.render(data)
        case .gobench: GoBenchFormat.render(data)
        case .openmetrics: OpenMetricsFormat.render(data)
        }
    }

    /// What run, compare, exhaust and baseline leave next to their CSVs.
    static func writeAlongside(_ directory: String) throws {
        let data = try load([directory])
        try FileSystem.write(MarkdownReport.render(data), to: directory + "/report.md")
        try FileSystem.write(HTMLReport.render(data), to: directory + "/report.html")
    }
}
