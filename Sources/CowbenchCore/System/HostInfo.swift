import Glibc

/// The host's name and kernel release, from uname(2), for result rows.
public enum HostInfo {
    public static var hostname: String { field(\.nodename) }
    public static var kernelRelease: String { field(\.release) }
    /// The machine as OCI platforms name it (amd64, arm64…).
    public static var ociArchitecture: String {
        let m = field(\.machine)
        return ["x86_64": "amd64", "aarch64": "arm64", "i686": "386", "armv7l": "arm"][m] ?? m
    }

    private static func field<T>(_ key: KeyPath<utsname, T>) -> String {
        var u = utsname()
        uname(&u)
        return withUnsafeBytes(of: u[keyPath: key]) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
    }
}
