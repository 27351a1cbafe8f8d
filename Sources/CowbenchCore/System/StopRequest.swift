import CShim

/// Ctrl-C and SIGTERM as a request to stop: long loops check `requested`
/// between steps, stop taking new work, and tear down what exists, so an
/// interrupted run leaves nothing behind and keeps every finished row.
public enum StopRequest {
    /// Installs the handlers; until then SIGINT and SIGTERM kill as usual.
    public static func install() {
        if cb_install_stop_handlers() != 0 { Diagnostics.warn("cannot install SIGINT/SIGTERM handlers: \(SyscallError("sigaction"))") }
    }

    public static var requested: Bool { cb_stop_count() > 0 }

    /// The signal that asked, for the exit status (128 + signal).
    public static var signal: Int32 { cb_stop_signal() }

    public static var signalName: String { signal == 2 ? "SIGINT" : signal == 15 ? "SIGTERM" : "signal \(signal)" }

    /// Throws `Stopped` once a stop was requested: long loops (image builds,
    /// imports, tree copies, waiting for the cleaner) call it per step, so
    /// Ctrl-C is honoured within one step, and their callers tear down.
    public static func check(_ doing: @autoclosure () -> String) throws {
        if requested { throw Stopped(doing: doing()) }
    }
}

/// A long step given up because SIGINT or SIGTERM asked the run to stop.
public struct Stopped: Error, CustomStringConvertible {
    public let doing: String
    public var description: String { "stopped by \(StopRequest.signalName) while \(doing)" }
}
