import Foundation

/// What cowbench leaves in a containerd it did not start (the host's):
/// snapshots and images, all in cowbench's own namespace there, all named
/// with cowbench's prefixes. Removed with containerd's `ctr`, because the
/// core links no gRPC; a missing one is a no-op, so cleanup is safe twice.
public enum ContainerdResources {
    /// The namespace every cowbench object lives in, on any containerd.
    public static let namespace = "cowbench"
    /// How every snapshot key cowbench makes begins.
    public static let prefix = "cowbench-"
    /// How every image reference cowbench imports begins.
    public static let imagePrefix = "docker.io/cowbench/"

    public static func removeSnapshot(_ key: String, snapshotter: String, address: String) throws {
        try ctr(address, ["snapshots", "--snapshotter", snapshotter, "rm", key], what: "snapshot \(key)")
    }

    /// Removes the image and waits for containerd's garbage collection,
    /// which takes its content and the layer snapshots no image holds.
    public static func removeImage(_ reference: String, address: String) throws {
        try ctr(address, ["images", "rm", "--sync", reference], what: "image \(reference)")
        // The namespace appeared with cowbench's first object there; containerd
        // refuses to remove one that still holds anything (another run's).
        try? ctr(address, ["namespaces", "rm", namespace], what: "namespace \(namespace)")
    }

    /// Runs `ctr` on `address` in cowbench's namespace; "not found" is success.
    public static func ctr(_ address: String, _ arguments: [String], what: String) throws {
        guard let binary = Command.find("ctr") else {
            throw SetupError("ctr is missing, so \(what) cannot be removed from the containerd at \(address); "
                + "install Debian's containerd package (scripts/setup.sh) and run cleanup again")
        }
        do {
            try Command.run([binary, "--address", address, "--namespace", namespace, "--connect-timeout", "5s"] + arguments)
        } catch let f as Command.Failure {
            let output = f.output.trimmingCharacters(in: .whitespacesAndNewlines)
            if output.hasSuffix("not found") { return }
            throw SetupError("ctr \(arguments.joined(separator: " ")) on \(address) failed (status \(f.status)): \(output); "
                + "is containerd running there? Run cleanup again once it is")
        }
    }
}
