import Foundation

/// Every sample and the environment, as JSON for other tools. Keys sorted,
/// so the same CSVs give the same bytes.
public enum JSONReport {
    public static func render(_ data: ReportData) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // Encoding plain structs of strings and numbers cannot fail.
        let bytes = try! encoder.encode(data)
        return String(decoding: bytes, as: UTF8.self) + "\n"
    }
}
