import Crypto
import Glibc

/// Content digests as the OCI image-spec writes them (`sha256:<hex>`),
/// computed while streaming, never by loading a blob into memory.
public enum BlobDigest {
    /// Checks the algorithm and the hex, so that a digest can never turn
    /// into a path that leaves `blobs/`.
    static func parse(_ digest: String, what: String) throws -> (algorithm: String, hex: String) {
        let parts = digest.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { throw ImportError("\(what): '\(digest)' is not a digest (algorithm:hex)") }
        let lengths = ["sha256": 64, "sha512": 128]
        guard let length = lengths[parts[0]] else {
            throw ImportError("\(what): digest algorithm '\(parts[0])' is not supported (sha256, sha512)")
        }
        guard parts[1].count == length, parts[1].utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else {
            throw ImportError("\(what): '\(digest)' is not a well-formed \(parts[0]) digest")
        }
        return (parts[0], parts[1])
    }

    /// The sha256 digest (`sha256:<hex>`) of the file at `path`, streamed.
    public static func sha256(ofFile path: String) throws -> String {
        try of(file: FileDescriptor(path, flags: O_RDONLY | O_CLOEXEC), algorithm: "sha256")
    }

    /// The sha256 digest of `bytes`.
    public static func sha256(of bytes: [UInt8]) -> String {
        "sha256:" + hexString(SHA256.hash(data: bytes))
    }

    /// The digest of a file's bytes, with `algorithm`.
    static func of(file fd: FileDescriptor, algorithm: String) throws -> String {
        var sha256 = SHA256(), sha512 = SHA512()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var offset: off_t = 0
        while true {
            let n = buffer.withUnsafeMutableBytes { pread(fd.raw, $0.baseAddress, $0.count, offset) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SyscallError("pread", path: fd.path)
            }
            if n == 0 { break }
            offset += off_t(n)
            buffer.withUnsafeBytes {
                let chunk = UnsafeRawBufferPointer(rebasing: $0[0..<n])
                if algorithm == "sha512" { sha512.update(bufferPointer: chunk) } else { sha256.update(bufferPointer: chunk) }
            }
        }
        let hex = algorithm == "sha512" ? hexString(sha512.finalize()) : hexString(sha256.finalize())
        return "\(algorithm):\(hex)"
    }

    /// The sha256 of an archive's decompressed bytes: a docker image config's
    /// `diff_ids` name layers this way.
    static func ofDecompressed(_ path: String) throws -> String {
        let reader = try ArchiveReader(path: path, raw: true)
        var hash = SHA256()
        if try reader.next() != nil {
            try reader.readData { block, _ in hash.update(bufferPointer: block) }
        }
        return "sha256:" + hexString(hash.finalize())
    }

    static func hexString<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        digest.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }
}
