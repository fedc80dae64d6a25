import Foundation

/// Notices changes under the rule directories by comparing, every few seconds, the list of
/// files with their sizes and modification times. Polling is cheap at this scale (a few hundred
/// files), needs no watch descriptors per directory, and also sees changes made while a
/// directory was being replaced as a whole (as configuration management tools do).
struct RuleWatcher {
    let directories: [String]
    private var last: [String: String]

    init(directories: [String]) {
        self.directories = directories
        last = Self.signature(directories)
    }

    /// The files added, removed or changed since the last call.
    mutating func changes() -> [String] {
        let now = Self.signature(directories)
        guard now != last else { return [] }
        var changed = Set<String>()
        for (path, sig) in now where last[path] != sig { changed.insert(path) }
        for path in last.keys where now[path] == nil { changed.insert(path) }
        last = now
        return changed.sorted()
    }

    static func signature(_ directories: [String]) -> [String: String] {
        var result: [String: String] = [:]
        let fm = FileManager.default
        for dir in directories {
            guard let walker = fm.enumerator(atPath: dir) else { continue }
            while let relative = walker.nextObject() as? String {
                let path = (dir as NSString).appendingPathComponent(relative)
                guard let attributes = try? fm.attributesOfItem(atPath: path),
                    attributes[.type] as? FileAttributeType == .typeRegular
                else { continue }
                let size = (attributes[.size] as? NSNumber)?.int64Value ?? -1
                let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
                result[path] = "\(size)@\(modified)"
            }
        }
        return result
    }
}
