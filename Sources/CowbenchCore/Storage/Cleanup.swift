import Glibc

/// Finds and removes what earlier cowbench processes left behind, from their
/// journals alone: exactly what they recorded, nothing else. Journals a
/// running cowbench holds (flock) are left alone.
public enum Cleanup {
    /// A journal of a process that is gone, with what it still records.
    public struct Leftover: Sendable {
        public let journal: String
        public let resources: [Resource]
    }

    static func journals(_ state: String) -> [String] {
        ["runs", "workspaces"].flatMap { sub in
            ((try? FileSystem.list("\(state)/\(sub)")) ?? []).filter { $0.hasSuffix(".journal") }.sorted().map { "\(state)/\(sub)/\($0)" }
        }
    }

    /// Leftovers of runs that did not finish (`instance create` workspaces
    /// are meant to outlive their process and are not counted).
    public static func leftovers(_ state: String) -> [Leftover] {
        journals(state).filter { !$0.contains("/workspaces/") }.compactMap { path in
            guard let j = try? ResourceJournal(path: path), !j.resources.isEmpty else { return nil }
            return Leftover(journal: path, resources: j.resources)
        }
    }

    /// Whether `r` lies where cowbench makes things: under the state
    /// directory, or under a `--root` directory that holds cowbench's root
    /// marker. A journal naming anything else is not replayed at all.
    static func isCowbenchs(_ r: Resource, state: String) -> Bool {
        if case .loop(let device, _) = r, !device.hasPrefix("/dev/loop") { return false }
        if case .cgroup(let p) = r { return MemoryCgroup.isCowbenchs(p) }
        // Removed only from cowbench's namespace in that containerd, and only by names cowbench gives.
        if case .containerdSnapshot(_, _, let key) = r { return key.hasPrefix(ContainerdResources.prefix) }
        if case .containerdImage(_, let reference) = r { return reference.hasPrefix(ContainerdResources.imagePrefix) }
        let p = r.path
        guard p.hasPrefix("/"), !p.split(separator: "/").contains("..") else { return false }
        if p == state || p.hasPrefix(state + "/") { return true }
        var dir = Path.parent(p)
        while dir != "/" && !dir.isEmpty {
            if FileSystem.exists(dir + "/" + DriverWorkspace.rootMarker) { return true }
            dir = Path.parent(dir)
        }
        return false
    }

    /// Tears down every journal no running cowbench holds, including the
    /// workspaces of `instance create`. Reports each step through `report`;
    /// throws the first failure after trying everything. Safe to run twice.
    @discardableResult
    public static func run(_ state: String, report: (String) -> Void) throws -> Int {
        var removed = 0
        var firstError: Error?
        for path in journals(state) {
            let journal: ResourceJournal
            do { journal = try ResourceJournal(path: path) } catch let e as ResourceJournal.Busy {
                report("skipped \(e.path): in use by a running cowbench")
                continue
            } catch {
                firstError = firstError ?? error
                report("cannot open \(path): \(error)")
                continue
            }
            if let foreign = journal.resources.first(where: { !isCowbenchs($0, state: state) }) {
                firstError = firstError ?? SetupError("\(path) names \(foreign), which is outside cowbench's directories")
                report("refused \(path): it names \(foreign), outside \(state) and any --root cowbench made; "
                    + "nothing of it was removed: check it and remove it by hand")
                continue
            }
            do {
                for r in try journal.teardown() {
                    report("removed \(r)")
                    removed += 1
                }
            } catch {
                firstError = firstError ?? error
                report("could not remove everything in \(path): \(error)")
            }
            if journal.resources.isEmpty, path.contains("/workspaces/") {
                try? FileSystem.unlink(String(path.dropLast(".journal".count)) + ".json")
            }
        }
        if let firstError { throw firstError }
        return removed
    }
}
