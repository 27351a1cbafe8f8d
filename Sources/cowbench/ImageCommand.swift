import ArgumentParser
import CowbenchCore
import Foundation

struct ImageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image", abstract: "Import real container images, list them and remove them.",
        subcommands: [Import.self, List.self, Remove.self])

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import an OCI image layout, a docker-save archive, a rootfs tarball or a rootfs directory.")

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The image: a directory or an archive (tar, tar.gz, tar.zst).") var path: String
        @Option(help: "Name to store it under (default: from the path).") var name: String?
        @Option(help: "Which image of a multi-image layout or archive (OCI ref name or REPO:TAG).") var ref: String?
        @Option(name: .customLong("max-size"), help: "Refuse images that unpack to more than this.") var maxSize = "16G"

        func validate() throws {
            guard ByteSize.parse(maxSize) != nil else { throw ValidationError("--max-size '\(maxSize)' is not a size; write e.g. 2G") }
        }

        func run() throws {
            try stoppable(results: nil) {
                try global.requirePrivilege()
                try Preflight.requireWritable(global.stateDirectory, flag: "--state-dir")
                StopRequest.install()
                let source = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
                var importer = ImageImporter(source: source, reference: ref)
                importer.limits.maxBytes = ByteSize.parse(maxSize)!
                importer.progress = { ProgressBar.status("import: " + $0) }
                // A journal of its own, so an import cut short can be cleaned up.
                let journal = try ResourceJournal(path: "\(global.stateDirectory)/runs/image-\(getpid()).journal")
                defer { _ = try? journal.teardown() }
                let catalog = ImageCatalog(stateDirectory: global.stateDirectory, journal: journal)
                let chosen = name ?? Self.defaultName(source)
                let layers = try catalog.importImage(importer, name: chosen)
                ProgressBar.clearStatus()
                print("imported \(chosen): \(layers.layers.count) layer\(layers.layers.count == 1 ? "" : "s"); use --image \(chosen)")
            }
        }

        static func defaultName(_ path: String) -> String {
            var base = Path.base(path.hasSuffix("/") ? String(path.dropLast()) : path).lowercased()
            for ext in [".tar.gz", ".tar.zst", ".tgz", ".tar", ".oci"] where base.hasSuffix(ext) { base = String(base.dropLast(ext.count)) }
            let cleaned = String(base.map { "abcdefghijklmnopqrstuvwxyz0123456789._-".contains($0) ? $0 : "-" })
            return cleaned.drop { !$0.isLetter && !$0.isNumber }.isEmpty ? "image" : String(cleaned.drop { !$0.isLetter && !$0.isNumber })
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List stored images.")
        @OptionGroup var global: GlobalOptions

        func run() throws {
            let catalog = ImageCatalog(stateDirectory: global.stateDirectory)
            let images = catalog.list()
            if images.isEmpty {
                print("no images yet in \(global.stateDirectory)/images")
                return
            }
            // The layer count is what drivers stack, read from the built image, not
            // from the import record (a rootfs import records no layer digests).
            let rows = [["NAME", "LAYERS", "FORMAT", "SOURCE"]] + images.map { r in
                [r.name, "\((try? catalog.layerCount(r.name)) ?? r.layers.count)", r.format?.rawValue ?? "built-in", r.source]
            }
            let widths = (0..<3).map { c in rows.map { $0[c].count }.max()! }
            for row in rows {
                print((0..<3).map { row[$0].padding(widths[$0] + 1) }.joined() + " " + row[3])
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove a stored image.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The image's name.") var name: String

        func run() throws {
            try global.requirePrivilege()
            try ImageCatalog(stateDirectory: global.stateDirectory).remove(name)
            print("removed \(name)")
        }
    }
}
