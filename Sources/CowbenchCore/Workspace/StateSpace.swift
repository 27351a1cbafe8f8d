/// The state directory's own filesystem running full. The sparse scratch
/// images grow into it as instances write, and a loop device whose backing
/// file cannot grow turns that into EIO inside the scratch filesystem,
/// which ext4 then remounts read-only (EROFS): neither errno says why.
public enum StateSpace {
    /// What mkfs writes into a sparse scratch image, the image, and a margin.
    public static let perScratch: UInt64 = 64 << 20
    /// Below this, an I/O failure is put down to the full state filesystem.
    public static let nearlyFull: UInt64 = 32 << 20

    /// The sentence to show when the state filesystem is (nearly) full, else nil.
    public static func fullProblem(_ stateDirectory: String) -> String? {
        guard let fs = try? FileSystem.statfs(stateDirectory), fs.availableBytes < nearlyFull else { return nil }
        return "the filesystem holding the state dir \(stateDirectory) is full: \(ByteSize.format(Double(fs.availableBytes))) "
            + "available, and the sparse scratch images grow into it as instances write; free space there, "
            + "or pass --state-dir on a larger filesystem"
    }

    /// Whether an errno is what a full backing filesystem looks like from inside a loop device.
    public static func looksLikeFullBacking(_ errnoName: String?) -> Bool {
        ["EIO", "EROFS", "ENOSPC"].contains(errnoName ?? "")
    }

    /// `error`, explained when the state filesystem is full right now.
    public static func explain(_ error: Error, stateDirectory: String) -> Error {
        guard let full = fullProblem(stateDirectory) else { return error }
        return SetupError("\(full) (the failure: \(error))")
    }
}
