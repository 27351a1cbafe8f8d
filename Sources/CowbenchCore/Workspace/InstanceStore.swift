import Foundation
import Glibc

/// Instances a person creates with `cowbench instance create` and inspects
/// by hand. They outlive the process, so each driver's workspace (scratch
/// filesystem, prepared images, instances) is described in a JSON file under
/// the state directory, next to the journal that can undo all of it. When
/// the last instance of a driver is destroyed, its workspace goes too.
public final class InstanceStore {
    public let stateDirectory: String
    private var workspaces: String { stateDirectory + "/workspaces" }

    struct State: Codable {
        var root: String
        /// The --root it was made on (nil: a scratch filesystem), and the
        /// scratch filesystem's size, so a later create cannot silently differ.
        var userRoot: String?
        var scratchSize: UInt64?
        var images: [PreparedImage] = []
        var instances: [Instance] = []
    }

    public init(stateDirectory: String) {
        self.stateDirectory = stateDirectory
    }

    public func create(driver name: String, image spec: String, root: String?,
                       scratchSize: UInt64 = DriverWorkspace.defaultScratchSize) throws -> Instance {
        let type = try DriverRegistry.driver(named: name)
        return try locked {
            let journal = try ResourceJournal(path: journalPath(name))
            let catalog = ImageCatalog(stateDirectory: stateDirectory, journal: journal)
            let layers = try catalog.resolve(spec)
            var state: State
            let ws: DriverWorkspace
            if let s = try load(name) {
                if s.userRoot != root {
                    throw SetupError("the \(name) workspace already lives \(s.userRoot.map { "on --root \($0)" } ?? "on a scratch filesystem"), "
                        + "not \(root.map { "on --root \($0)" } ?? "on a scratch filesystem"); pass the same placement, "
                        + "or destroy its instances first (cowbench instance destroy --all)")
                }
                if root == nil, let size = s.scratchSize, size != scratchSize {
                    throw SetupError("the \(name) workspace's scratch filesystem is \(ByteSize.format(Double(size))), "
                        + "not \(ByteSize.format(Double(scratchSize))); pass --scratch-size \(size >> 20)M, or destroy its instances first")
                }
                state = s
                ws = try DriverWorkspace(reopening: type, root: s.root, journal: journal)
            } else {
                ws = try DriverWorkspace(type, root: root, scratchDirectory: workspaces + "/" + name,
                                         scratchSize: scratchSize, journal: journal)
                state = State(root: ws.root, userRoot: root, scratchSize: root == nil ? scratchSize : nil)
                try save(name, state)
            }
            let image: PreparedImage
            if let p = state.images.first(where: { $0.name == layers.name }) {
                image = p
            } else {
                image = try ws.driver.prepare(layers)
                state.images.append(image)
                try save(name, state)
            }
            let instance = try ws.driver.create(id: Self.newID(), from: image)
            state.instances.append(instance)
            try save(name, state)
            return instance
        }
    }

    /// Every instance of every driver, oldest first per driver.
    public func list() throws -> [Instance] {
        try DriverRegistry.names.flatMap { try load($0)?.instances ?? [] }
    }

    public func destroy(id: String) throws {
        try locked {
            for name in DriverRegistry.names {
                guard var state = try load(name), let i = state.instances.firstIndex(where: { $0.id == id }) else { continue }
                let journal = try ResourceJournal(path: journalPath(name))
                let ws = try DriverWorkspace(reopening: DriverRegistry.driver(named: name), root: state.root, journal: journal)
                try ws.driver.destroy(state.instances[i])
                state.instances.remove(at: i)
                if state.instances.isEmpty {
                    for image in state.images { try ws.driver.remove(image) }
                    try ws.close()
                    try? FileSystem.unlink(statePath(name))
                } else {
                    try save(name, state)
                }
                return
            }
            throw SetupError("no instance with id \(id); `cowbench instance list` shows the ones that exist")
        }
    }

    @discardableResult
    public func destroyAll() throws -> [Instance] {
        let all = try list()
        for instance in all { try destroy(id: instance.id) }
        return all
    }

    private func statePath(_ driver: String) -> String { workspaces + "/" + driver + ".json" }
    private func journalPath(_ driver: String) -> String { workspaces + "/" + driver + ".journal" }

    private func load(_ driver: String) throws -> State? {
        guard FileSystem.exists(statePath(driver)) else { return nil }
        let text = try FileSystem.read(statePath(driver))
        return try JSONDecoder().decode(State.self, from: Data(text.utf8))
    }

    private func save(_ driver: String, _ state: State) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        let tmp = statePath(driver) + ".tmp"
        try FileSystem.write(Array(try enc.encode(state)), to: tmp)
        try FileSystem.rename(tmp, statePath(driver))
    }

    /// One cowbench at a time changes the store.
    private func locked<T>(_ body: () throws -> T) throws -> T {
        try FileSystem.createDirectories(workspaces)
        let lock = try FileDescriptor(workspaces + "/.lock", flags: O_RDWR | O_CREAT, mode: 0o600)
        try retrying("flock", path: lock.path) { flock(lock.raw, LOCK_EX) }
        return try body()
    }

    static func newID() -> String {
        var g = SystemRandomNumberGenerator()
        return String(g.next() & 0xffff_ffff_ffff, radix: 16).leftPadded(to: 12)
    }
}

extension String {
    func leftPadded(to n: Int, with c: Character = "0") -> String {
        count >= n ? self : String(repeating: c, count: n - count) + self
    }
}
