import CowbenchCore
import Glibc

/// Without redirect_dir, overlay cannot record where a lower directory
/// moved, so rename(2) of one fails with EXDEV and `mv` falls back to a
/// recursive copy; with redirect_dir=on the rename works.
struct RedirectDirClaim: ClaimCheck {
    let id = "redirect-dir"
    let claim = "Without redirect_dir, renaming a lower directory on overlay fails with EXDEV; with redirect_dir=on it works"
    let source = "kernel docs: overlayfs.rst, Renaming directories"
    let threshold = "rename(2) of the image's /etc in an instance: EXDEV with redirect_dir=off, success with redirect_dir=on"

    func check(_ context: ClaimContext) throws -> (figures: [ClaimFigure], judgement: ClaimJudgement) {
        try context.withOverlay(id) { workspace, image, journal in
            var outcomes: [Int32] = []
            for option in ["redirect_dir=off", "redirect_dir=on"] {
                let driver = try OverlayDriver(root: workspace.root, journal: journal, mountFlags: [option])
                let instance = try driver.create(id: option.replacingOccurrences(of: "=", with: "-"), from: image)
                let rc = rename(instance.rootfs + "/etc", instance.rootfs + "/etc-moved")
                outcomes.append(rc == 0 ? 0 : errno)
                try driver.destroy(instance)
            }
            let figures = zip(["redirect_dir=off", "redirect_dir=on"], outcomes).map {
                ClaimFigure.outcome("rename with \($0)", $1 == 0 ? "renamed" : Errno.name($1))
            }
            return (figures, Self.judge(off: outcomes[0], on: outcomes[1]))
        }
    }

    /// `off` and `on` are rename's errno, 0 for success.
    static func judge(off: Int32, on: Int32) -> ClaimJudgement { off == EXDEV && on == 0 ? .holds : .doesNotHold }
}
