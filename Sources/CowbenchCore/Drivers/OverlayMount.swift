import Glibc

/// Mounts an overlay, choosing the API by how long the option string gets.
///
/// mount(2) passes options in one page; past that the kernel silently cuts the
/// string and fails with a misleading ENOENT (around 120 layers with typical
/// paths). So long stacks go through fsopen/fsconfig with one `lowerdir+` per
/// layer, which has no such limit (kernel 6.8 and later).
public enum OverlayMount {
    static let pageLimit = Int(getpagesize()) - 1

    /// Whether these layers fit mount(2)'s one page of options; if not, the
    /// mount goes through fsopen/fsconfig.
    static func fitsMountOptions(lowers: [String], upper: String, work: String, flags: [String]) -> Bool {
        let options = (["lowerdir=" + lowers.joined(separator: ":"), "upperdir=" + upper, "workdir=" + work] + flags)
            .joined(separator: ",")
        return options.utf8.count <= pageLimit && !lowers.contains(where: { $0.contains(":") || $0.contains(",") })
    }

    /// Mounts overlay on `target`, through fsopen/fsconfig when the options
    /// pass one page. `lowers` is top layer first, as overlayfs orders them.
    public static func mount(lowers: [String], upper: String, work: String, target: String, flags: [String] = []) throws {
        let options = (["lowerdir=" + lowers.joined(separator: ":"), "upperdir=" + upper, "workdir=" + work] + flags)
            .joined(separator: ",")
        do {
            if fitsMountOptions(lowers: lowers, upper: upper, work: work, flags: flags) {
                try Mounts.mount(source: "overlay", target: target, type: "overlay", data: options)
            } else {
                try mountWithContext(lowers: lowers, upper: upper, work: work, target: target, flags: flags)
            }
        } catch let error as SyscallError {
            throw explain(error, lowers: lowers, upper: upper, work: work, target: target)
        }
    }

    private static func mountWithContext(lowers: [String], upper: String, work: String, target: String, flags: [String]) throws {
        let fs = fsopen("overlay", UInt32(FSOPEN_CLOEXEC))
        if fs < 0 { throw SyscallError("fsopen", path: "overlay") }
        defer { close(fs) }
        func set(_ key: String, _ value: String) throws {
            if fsconfig(fs, UInt32(FSCONFIG_SET_STRING.rawValue), key, value, 0) != 0 {
                throw SyscallError("fsconfig(\(key))", path: value, hint: kernelMessages(fs))
            }
        }
        for layer in lowers { try set("lowerdir+", layer) }
        try set("upperdir", upper)
        try set("workdir", work)
        // mount(2)'s "metacopy=on" is a key and a string here; only a bare
        // "volatile" is a flag, which the kernel refuses a value for.
        for option in flags {
            let kv = option.split(separator: "=", maxSplits: 1).map(String.init)
            if kv.count == 2 {
                try set(kv[0], kv[1])
            } else if fsconfig(fs, UInt32(FSCONFIG_SET_FLAG.rawValue), option, nil, 0) != 0 {
                throw SyscallError("fsconfig(\(option))", path: target, hint: kernelMessages(fs))
            }
        }
        if fsconfig(fs, UInt32(FSCONFIG_CMD_CREATE.rawValue), nil, nil, 0) != 0 {
            throw SyscallError("fsconfig(create)", path: target, hint: kernelMessages(fs))
        }
        let mnt = fsmount(fs, UInt32(FSMOUNT_CLOEXEC), 0)
        if mnt < 0 { throw SyscallError("fsmount", path: target, hint: kernelMessages(fs)) }
        defer { close(mnt) }
        if move_mount(mnt, "", AT_FDCWD, target, UInt32(MOVE_MOUNT_F_EMPTY_PATH)) != 0 {
            throw SyscallError("move_mount", path: target)
        }
    }

    /// The kernel's words for the first of `options` it refuses, set one by
    /// one on a filesystem context that is never created; nil if it takes all.
    static func refused(_ options: [String]) -> String? {
        let fs = fsopen("overlay", UInt32(FSOPEN_CLOEXEC))
        if fs < 0 { return nil } // no fsopen (kernel before 5.2): the probe mount will tell
        defer { close(fs) }
        for option in options {
            let kv = option.split(separator: "=", maxSplits: 1).map(String.init)
            let rc = kv.count == 2 ? fsconfig(fs, UInt32(FSCONFIG_SET_STRING.rawValue), kv[0], kv[1], 0)
                                   : fsconfig(fs, UInt32(FSCONFIG_SET_FLAG.rawValue), option, nil, 0)
            if rc != 0 {
                let e = errno
                return "the kernel refuses overlay option \(option): fsconfig: \(Errno.name(e))"
                    + (kernelMessages(fs).map { "; " + $0 } ?? "")
            }
        }
        return nil
    }

    /// The kernel's own words from the filesystem context ("e overlay: ...").
    private static func kernelMessages(_ fs: Int32) -> String? {
        let saved = errno
        defer { errno = saved }
        var lines: [String] = []
        var buf = [UInt8](repeating: 0, count: 1024)
        while true {
            let n = read(fs, &buf, buf.count)
            if n <= 0 { break }
            lines.append(String(decoding: buf[0..<n], as: UTF8.self))
        }
        return lines.isEmpty ? nil : "kernel says: " + lines.joined(separator: "; ")
    }

    /// mount(8)'s "special device overlay does not exist" really means a
    /// directory is missing. Name it, instead of repeating the lie.
    static func explain(_ error: SyscallError, lowers: [String], upper: String, work: String, target: String) -> SyscallError {
        var problems: [String] = []
        func check(_ role: String, _ path: String) {
            var st = stat()
            if lstat(path, &st) != 0 {
                problems.append("\(role) \(path) does not exist")
            } else if (st.st_mode & S_IFMT) != S_IFDIR {
                problems.append("\(role) \(path) is not a directory")
            }
        }
        for (i, l) in lowers.enumerated() { check("lowerdir #\(i + 1) (of \(lowers.count), top first)", l) }
        check("upperdir", upper)
        check("workdir", work)
        check("mount point", target)
        if error.hint == nil, problems.isEmpty {
            let dmesg = KernelLog.recent(containing: "overlay")
            if !dmesg.isEmpty { problems.append("dmesg: " + dmesg.joined(separator: " | ")) }
        }
        let hint = problems.isEmpty ? error.hint : ([problems.joined(separator: "; ")] + (error.hint.map { [$0] } ?? [])).joined(separator: "; ")
        return SyscallError(error.call, path: error.path, errno: error.errno, hint: hint)
    }
}
