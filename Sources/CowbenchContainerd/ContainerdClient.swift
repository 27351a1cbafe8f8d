import ContainerdAPI
import CowbenchCore
import Dispatch
import GRPCCore
import Glibc
import GRPCNIOTransportHTTP2
import Synchronization

/// containerd's snapshots and leases services over its gRPC socket, called
/// synchronously: the storage-driver protocol is synchronous, so each call
/// runs as a task and the caller waits for it. One connection serves every
/// call for the life of the client.
final class ContainerdClient: Sendable {
    typealias API = Containerd_Services_Snapshots_V1_Snapshots
    let socket: String
    let snapshotter: String
    private let grpc: GRPCClient<HTTP2ClientTransport.Posix>
    fileprivate let snapshots: API.Client<HTTP2ClientTransport.Posix>
    fileprivate let leases: Containerd_Services_Leases_V1_Leases.Client<HTTP2ClientTransport.Posix>
    fileprivate let introspection: Containerd_Services_Introspection_V1_Introspection.Client<HTTP2ClientTransport.Posix>
    fileprivate let metadata: Metadata = {
        var m = Metadata()
        m.addString(ContainerdResources.namespace, forKey: "containerd-namespace")
        return m
    }()

    init(socket: String, snapshotter: String) throws {
        self.socket = socket
        self.snapshotter = snapshotter
        let transport = try HTTP2ClientTransport.Posix(target: .unixDomainSocket(path: socket), transportSecurity: .plaintext)
        grpc = GRPCClient(transport: transport)
        snapshots = API.Client(wrapping: grpc)
        leases = Containerd_Services_Leases_V1_Leases.Client(wrapping: grpc)
        introspection = Containerd_Services_Introspection_V1_Introspection.Client(wrapping: grpc)
        let client = grpc, stopped = connectionsStopped
        Task.detached {
            try? await client.runConnections()
            stopped.signal()
        }
    }

    deinit { grpc.beginGracefulShutdown() }

    /// Signalled once the connection is closed.
    private let connectionsStopped = DispatchSemaphore(value: 0)

    /// Closes the connection and waits (up to 2 s) until it is closed.
    func close() {
        grpc.beginGracefulShutdown()
        _ = connectionsStopped.wait(timeout: .now() + 2)
    }

    /// An active snapshot `key` on `parent` (a chain ID), and the mounts
    /// that make it a rootfs.
    func prepare(key: String, parent: String, labels: [String: String] = [:]) throws -> [Containerd_Types_Mount] {
        var req = Containerd_Services_Snapshots_V1_PrepareSnapshotRequest()
        req.snapshotter = snapshotter
        req.key = key
        req.parent = parent
        req.labels = labels
        let (snapshots, metadata, request) = (self.snapshots, self.metadata, req)
        return try Self.blocking("Prepare(\(key))", socket, repeated: { e in
            e.code == .alreadyExists ? try self.mounts(key: key) : nil
        }) {
            try await snapshots.prepare(request, metadata: metadata).mounts
        }
    }

    func remove(key: String) throws {
        var req = Containerd_Services_Snapshots_V1_RemoveSnapshotRequest()
        req.snapshotter = snapshotter
        req.key = key
        let (snapshots, metadata, request) = (self.snapshots, self.metadata, req)
        _ = try Self.blocking("Remove(\(key))", socket, repeated: { e in e.code == .notFound ? () : nil }) {
            try await snapshots.remove(request, metadata: metadata)
        }
    }

    /// Whether snapshot `key` exists (Stat), for cleanup and for checks.
    func exists(key: String) throws -> Bool {
        var req = Containerd_Services_Snapshots_V1_StatSnapshotRequest()
        req.snapshotter = snapshotter
        req.key = key
        let (snapshots, metadata, request) = (self.snapshots, self.metadata, req)
        do {
            _ = try Self.blocking("Stat(\(key))", socket) { try await snapshots.stat(request, metadata: metadata) }
            return true
        } catch let e as ContainerdError where e.code == .notFound {
            return false
        }
    }

    /// Calls that met a closed connection and ran again, for the run's record.
    static let retries = Atomic<Int>(0)

    /// `once`, again after a connection that closed under the call: seen
    /// here in most runs of 100 instances, always under the sync lease
    /// delete, the client's HTTP/2 channel going inactive right after a
    /// PING from containerd, with no error; the client reconnects. `repeated` says what a second attempt means
    /// when the first did reach containerd (alreadyExists, notFound).
    static func blocking<T: Sendable>(_ what: String, _ socket: String, repeated: ((ContainerdError) throws -> T?)? = nil,
                                      _ body: @escaping @Sendable () async throws -> T) throws -> T {
        for attempt in 1... {
            do {
                return try once(what, socket, body)
            } catch let e as ContainerdError where e.code == .unavailable && attempt < 20 {
                if retries.add(1, ordering: .relaxed).newValue == 1 {
                    Diagnostics.warn("\(e); calling again (said once per run; containerd's connection closed under a call)")
                }
                usleep(UInt32(min(attempt, 5)) * 20_000) // while the client reconnects
            } catch let e as ContainerdError where attempt > 1 {
                if let value = try repeated?(e) { return value }
                throw e
            }
        }
        fatalError("unreachable")
    }

    /// Runs `body` on the concurrency pool and waits for it on this thread,
    /// which is never one of the pool's (the harness calls drivers from its own).
    static func once<T: Sendable>(_ what: String, _ socket: String, _ body: @escaping @Sendable () async throws -> T) throws -> T {
        let result = Mutex<Result<T, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            let r: Result<T, any Error>
            do { r = .success(try await body()) } catch { r = .failure(error) }
            result.withLock { $0 = r }
            done.signal()
        }
        done.wait()
        switch result.withLock({ $0! }) {
        case .success(let value): return value
        case .failure(let error as RPCError):
            let cause = error.cause.map { " (\($0))" } ?? ""
            throw ContainerdError(call: what, socket: socket, code: error.code, message: error.message + cause)
        case .failure(let error): throw error
        }
    }
}

/// A failed containerd call, named as containerd's API names it.
struct ContainerdError: Error, CustomStringConvertible {
    let call: String
    let socket: String
    let code: RPCError.Code
    let message: String
    var description: String { "containerd \(call) on \(socket): \(code): \(message)" }
}

extension ContainerdClient {
    /// The mounts of active snapshot `key`, as Prepare returned them.
    func mounts(key: String) throws -> [Containerd_Types_Mount] {
        var req = Containerd_Services_Snapshots_V1_MountsRequest()
        req.snapshotter = snapshotter
        req.key = key
        let (snapshots, metadata, request) = (self.snapshots, self.metadata, req)
        return try Self.blocking("Mounts(\(key))", socket) { try await snapshots.mounts(request, metadata: metadata).mounts }
    }
}

extension ContainerdClient {
    /// Runs containerd's garbage collection and waits for it. Remove only
    /// drops a snapshot's record; its files go at the next collection, which
    /// by default waits for 100 changes. A lease deleted with `sync` is the
    /// API's one way to run a collection and wait for it to finish.
    func collectGarbage() throws {
        var create = Containerd_Services_Leases_V1_CreateRequest()
        create.id = "cowbench-settle"
        var delete = Containerd_Services_Leases_V1_DeleteRequest()
        delete.id = create.id
        delete.sync = true
        let (leases, metadata, c, d) = (self.leases, self.metadata, create, delete)
        _ = try Self.blocking("Leases.Create(\(c.id))", socket, repeated: { e in e.code == .alreadyExists ? Containerd_Services_Leases_V1_CreateResponse() : nil }) {
            try await leases.create(c, metadata: metadata)
        }
        // A sync delete that reached containerd ran the collection; again is harmless.
        _ = try Self.blocking("Leases.Delete(\(d.id), sync)", socket, repeated: { e in e.code == .notFound ? () : nil }) {
            try await leases.delete(d, metadata: metadata)
        }
    }
}

extension ContainerdClient {
    /// A snapshotter plugin as the daemon reports it.
    struct Snapshotter {
        let id: String
        /// Where its snapshots live (the plugin's exported root).
        let root: String?
        /// Why it did not load, if it did not.
        let failure: String?
    }

    /// The snapshotter plugins the daemon has (Introspection.Plugins).
    func snapshotterPlugins() throws -> [Snapshotter] {
        var req = Containerd_Services_Introspection_V1_PluginsRequest()
        req.filters = ["type==io.containerd.snapshotter.v1"]
        let (introspection, metadata, request) = (self.introspection, self.metadata, req)
        let plugins = try Self.blocking("Introspection.Plugins", socket) { try await introspection.plugins(request, metadata: metadata).plugins }
        return plugins.map { p in
            Snapshotter(id: p.id, root: p.exports["root"], failure: p.hasInitErr && p.initErr.code != 0 ? p.initErr.message : nil)
        }
    }
}
