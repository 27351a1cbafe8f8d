import CSV
import Foundation

/// Rows to CSV bytes through CSV.swift's writer, into memory: quoting is the
/// library's job, and writing to files is the caller's.
enum CSVEncoding {
    static func encode(_ rows: [[String]]) -> String {
        let stream = OutputStream(toMemory: ())
        stream.open()
        // The writer only fails when the stream refuses bytes; memory does not.
        let writer = try! CSVWriter(stream: stream)
        for row in rows { try! writer.write(row: row) }
        stream.close()
        let data = stream.property(forKey: .dataWrittenToMemoryStreamKey) as? Data ?? Data()
        return String(decoding: data, as: UTF8.self) + (rows.isEmpty ? "" : "\n")
    }

    static func seconds(_ s: Double?) -> String { s.map { String(format: "%.6f", $0) } ?? "" }
    static func ratio(_ r: Double?) -> String { r.map { String(format: "%.3f", $0) } ?? "" }
    static func fraction(_ f: Double?) -> String { f.map { String(format: "%.4f", $0) } ?? "" }
    static func number<T: BinaryInteger>(_ n: T?) -> String { n.map { "\($0)" } ?? "" }
}
