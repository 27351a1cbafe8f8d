import CShim
import Foundation

/// Which source the running binary came from, so results name it.
public enum BuildInfo {
    /// The commit: the one a release build was made from, or, for a build
    /// from a git checkout (`scripts/cowbench`), that checkout's HEAD when
    /// the binary runs, with `-dirty` for uncommitted changes; "unknown"
    /// when neither is there to ask.
    public static let commit: String = {
        let built = String(cString: cb_build_commit())
        if !built.isEmpty { return built }
        return checkoutCommit() ?? "unknown"
    }()

    /// The package directory this file was compiled from.
    static let sourceRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    static func checkoutCommit() -> String? {
        guard FileSystem.exists(sourceRoot + "/.git"), let git = Command.find("git") else { return nil }
        guard let head = try? Command.run([git, "-C", sourceRoot, "rev-parse", "--short=12", "HEAD"])
            .trimmingCharacters(in: .whitespacesAndNewlines), !head.isEmpty else { return nil }
        let changes = (try? Command.run([git, "-C", sourceRoot, "status", "--porcelain", "--untracked-files=no"])) ?? ""
        return head + (changes.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? "" : "-dirty")
    }
}
