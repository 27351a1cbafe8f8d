import Glibc

/// Recent kernel log lines, for errors where the kernel explains more in
/// dmesg than in an errno (overlayfs does: "overlayfs: failed to resolve …").
enum KernelLog {
    /// Lines from /dev/kmsg logged in the last `seconds` that contain `needle`,
    /// newest last, at most `limit`.
    static func recent(containing needle: String, seconds: Double = 2, limit: Int = 1) -> [String] {
        let fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        let now = Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
        var lines: [String] = []
        var buf = [UInt8](repeating: 0, count: 8192)
        while true {
            let n = read(fd, &buf, buf.count)
            if n < 0 && errno == EPIPE { continue } // a record was overwritten while reading; go on
            if n <= 0 { break }
            // "priority,sequence,microseconds,flags;message"
            let record = String(decoding: buf[0..<n], as: UTF8.self)
            guard let semi = record.firstIndex(of: ";") else { continue }
            let fields = record[..<semi].split(separator: ",")
            guard fields.count >= 3, let micros = Double(fields[2]), now - micros / 1e6 <= seconds else { continue }
            let message = record[record.index(after: semi)...].split(separator: "\n").first.map(String.init) ?? ""
            if message.contains(needle) { lines.append(message) }
        }
        return Array(lines.suffix(limit))
    }
}
