/// The blog post's example as a two-layer image: `in_lower.txt` and
/// `in_both.txt` in the lower layer; `in_upper.txt` and another `in_both.txt`
/// in the upper one, so reading `in_both.txt` shows the upper file.
public enum SeedDemoImage {
    public static let lowerText = "I'm from lower!\n"
    public static let upperText = "I'm from upper!\n"

    /// Writes layers `0` (lower) and `1` (upper) into `directory`.
    @discardableResult
    public static func build(into directory: String) throws -> Int {
        let lower = directory + "/0", upper = directory + "/1"
        try FileSystem.mkdir(lower)
        try FileSystem.mkdir(upper)
        try FileSystem.write(lowerText, to: lower + "/in_lower.txt")
        try FileSystem.write(lowerText, to: lower + "/in_both.txt")
        try FileSystem.write(upperText, to: upper + "/in_upper.txt")
        try FileSystem.write(upperText, to: upper + "/in_both.txt")
        return 2
    }
}
