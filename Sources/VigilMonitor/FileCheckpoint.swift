/// How far one followed file has been processed, and how to recognise that file again.
///
/// A file is known by its device and inode (which survive a rename) and by a fingerprint, its
/// first bytes (which tell a reused inode or a truncated and rewritten file from the original).
public struct FileCheckpoint: Sendable, Equatable, Hashable {
    /// The source (config entry) that follows the file.
    public var source: String
    /// The path the file had when it was last seen.
    public var path: String
    public var device: UInt64
    public var inode: UInt64
    /// Up to `FileCheckpoint.fingerprintBytes` first bytes of the file.
    public var fingerprint: [UInt8]
    /// Byte offset just after the last line that was processed.
    public var offset: Int64

    public static let fingerprintBytes = 64

    public init(source: String, path: String, device: UInt64, inode: UInt64, fingerprint: [UInt8], offset: Int64) {
        self.source = source
        self.path = path
        self.device = device
        self.inode = inode
        self.fingerprint = fingerprint
        self.offset = offset
    }

    /// The file's identity as a short string, used in alert keys.
    public var fileKey: String { "\(device):\(inode)" }
}
