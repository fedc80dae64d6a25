/// Checks that run on a regex match to tell a real identifier from a look-alike number.
public enum Validator: String, Sendable, CaseIterable, Codable {
    /// Chinese resident ID (GB 11643): 17 digits, a mod 11-2 check character, a real birth date.
    case cnID = "cn_id"
    /// Bank card: 13–19 digits (spaces and dashes skipped) with a valid Luhn check digit.
    case luhn

    /// Whether the matched bytes contain a valid value.
    public func accepts(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        switch self {
        case .cnID: return Self.containsValidCNID(bytes)
        case .luhn: return Self.containsValidCard(bytes)
        }
    }

    public func accepts(_ text: String) -> Bool {
        var copy = text
        return copy.withUTF8 { accepts($0) }
    }

    private static let idWeights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    private static let idCheck: [UInt8] = Array("10X98765432".utf8)

    /// Looks for an 18-character run (17 digits then a digit or X) that is not part of a longer
    /// number, and validates its check character and birth date.
    static func containsValidCNID(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 0
        while i < b.count {
            guard isDigit(b[i]) else {
                i += 1
                continue
            }
            var j = i
            while j < b.count, isDigit(b[j]) { j += 1 }
            var length = j - i
            if length == 17, j < b.count, b[j] == UInt8(ascii: "X") || b[j] == UInt8(ascii: "x") { length = 18 }
            if length == 18, validCNID(b, at: i) { return true }
            i = max(j, i + 1)
        }
        return false
    }

    static func validCNID(_ b: UnsafeBufferPointer<UInt8>, at i: Int) -> Bool {
        var sum = 0
        for k in 0..<17 { sum += Int(b[i + k] - 48) * idWeights[k] }
        var last = b[i + 17]
        if last == UInt8(ascii: "x") { last = UInt8(ascii: "X") }
        guard idCheck[sum % 11] == last else { return false }
        func number(_ from: Int, _ count: Int) -> Int {
            var v = 0
            for k in 0..<count { v = v * 10 + Int(b[i + from + k] - 48) }
            return v
        }
        let year = number(6, 4)
        let month = number(10, 2)
        let day = number(12, 2)
        guard (1900...2099).contains(year), (1...12).contains(month), day >= 1 else { return false }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        return day <= days
    }

    /// Looks for 13–19 digits (single spaces or dashes allowed between them) that pass Luhn.
    static func containsValidCard(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 0
        while i < b.count {
            guard isDigit(b[i]) else {
                i += 1
                continue
            }
            var digits: [UInt8] = []
            var j = i
            while j < b.count {
                if isDigit(b[j]) {
                    digits.append(b[j] - 48)
                    j += 1
                } else if b[j] == 0x20 || b[j] == 0x2D, j + 1 < b.count, isDigit(b[j + 1]), !digits.isEmpty {
                    j += 1
                } else {
                    break
                }
            }
            if (13...19).contains(digits.count), luhnValid(digits) { return true }
            i = j
        }
        return false
    }

    static func luhnValid(_ digits: [UInt8]) -> Bool {
        var sum = 0
        for (k, d) in digits.reversed().enumerated() {
            var v = Int(d)
            if k % 2 == 1 {
                v *= 2
                if v > 9 { v -= 9 }
            }
            sum += v
        }
        return sum % 10 == 0
    }

    @inline(__always)
    static func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
}
