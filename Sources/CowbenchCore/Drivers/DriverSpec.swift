/// A driver as users name it: `overlay`, `overlay:metacopy=on`,
/// `overlay:redirect_dir=on,index=on`, `reflink:btrfs`. The whole spec is
/// the driver's name in every figure, so variants never merge.
public struct DriverSpec: Sendable, Equatable, Hashable, CustomStringConvertible {
    public let name: String
    public let options: DriverOptions

    public init(name: String, options: DriverOptions = DriverOptions()) {
        self.name = name
        self.options = options
    }

    /// Parses `name[:option[,option]…]`, where an option is `key` or `key=value`.
    public init(parsing text: String) throws {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard let name = parts.first, !name.isEmpty else { throw SetupError("driver spec '\(text)' has no driver name") }
        var entries: [DriverOptions.Entry] = []
        if parts.count == 2 {
            for item in parts[1].split(separator: ",", omittingEmptySubsequences: false) {
                let kv = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
                guard !kv[0].isEmpty, kv.count == 1 || !kv[1].isEmpty else {
                    throw SetupError("driver spec '\(text)' has an empty option; write options as key or key=value, comma-separated")
                }
                guard !entries.contains(where: { $0.key == kv[0] }) else {
                    throw SetupError("driver spec '\(text)' sets \(kv[0]) twice")
                }
                entries.append(.init(key: kv[0], value: kv.count == 2 ? kv[1] : nil))
            }
        }
        self.init(name: name, options: DriverOptions(entries))
    }

    /// The spec as typed, options in the user's order.
    public var description: String { options.isEmpty ? name : name + ":" + options.description }

    /// The spec with only `[A-Za-z0-9._-]`, for directory and journal
    /// names: a ':' or ',' in a path would split overlay's lowerdir option.
    public var pathComponent: String {
        String(description.map { $0.isLetter || $0.isNumber || "._-".contains($0) ? $0 : "-" })
    }
}

/// A driver's options, in the order given.
public struct DriverOptions: Sendable, Equatable, Hashable, CustomStringConvertible {
    public struct Entry: Sendable, Equatable, Hashable {
        public let key: String
        public let value: String?
        public init(key: String, value: String?) {
            self.key = key
            self.value = value
        }
        /// `key=value`, or the bare `key`.
        public var text: String { value.map { key + "=" + $0 } ?? key }
    }

    public let entries: [Entry]
    public init(_ entries: [Entry] = []) { self.entries = entries }

    public var isEmpty: Bool { entries.isEmpty }
    public func has(_ key: String) -> Bool { entries.contains { $0.key == key } }
    public func value(_ key: String) -> String? { entries.first { $0.key == key }?.value }
    public var description: String { entries.map(\.text).joined(separator: ",") }
}

/// An option a driver accepts, for validation and for `cowbench drivers`.
public struct DriverOptionInfo: Sendable {
    public let key: String
    /// The values it takes; empty for a bare flag or a free value.
    public let values: [String]
    /// What a free value stands for (`SOCKET`), when any value is taken.
    public let placeholder: String?
    public let help: String

    public init(_ key: String, values: [String] = [], help: String) {
        self.key = key
        self.values = values
        placeholder = nil
        self.help = help
    }

    /// An option whose value is the user's own (a path), checked by the driver.
    public init(_ key: String, placeholder: String, help: String) {
        self.key = key
        values = []
        self.placeholder = placeholder
        self.help = help
    }

    /// `metacopy=on|off`, `address=SOCKET`, or `volatile`.
    public var usage: String {
        if let placeholder { return key + "=" + placeholder }
        return values.isEmpty ? key : key + "=" + values.joined(separator: "|")
    }
}
