// Helpers for the daemon's end-to-end tests: the real `vigil run` in the background, and a
// small HTTP receiver on 127.0.0.1 that records what the daemon delivers.

import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Waits until `condition` holds, checking every 50 ms, for at most `timeout` seconds.
@discardableResult
func eventually(_ timeout: Double = 20, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return true }
        usleep(50_000)
    }
    return try condition()
}

/// `vigil run` running in the background, its output going to files in `dir`.
final class DaemonProcess: @unchecked Sendable {
    let process = Process()
    let stdoutURL: URL
    let stderrURL: URL
    let stdinPipe: Pipe?

    init(
        config: URL, dir: URL, withStdin: Bool = false, extra: [String] = [],
        environment extraEnvironment: [String: String] = [:]
    )
        throws
    {
        process.executableURL = try Harness.binary.get()
        process.arguments = ["run", "--config", config.path] + extra
        process.currentDirectoryURL = Harness.packageRoot
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "VIGIL_RULES")
        environment.removeValue(forKey: "JOURNAL_STREAM")
        environment.removeValue(forKey: "NOTIFY_SOCKET")
        environment.merge(extraEnvironment) { $1 }
        process.environment = environment
        stdoutURL = dir.appendingPathComponent("daemon-\(UUID().uuidString.prefix(8)).out")
        stderrURL = stdoutURL.deletingPathExtension().appendingPathExtension("err")
        _ = FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: stdoutURL)
        process.standardError = try FileHandle(forWritingTo: stderrURL)
        if withStdin {
            let pipe = Pipe()
            stdinPipe = pipe
            process.standardInput = pipe
        } else {
            stdinPipe = nil
            process.standardInput = FileHandle(forReadingAtPath: "/dev/null")
        }
        try process.run()
    }

    var out: String { (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "" }
    var err: String { (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "" }

    /// Writes to the daemon's standard input (SIGPIPE blocked in this thread, so a dead daemon
    /// gives an error instead of killing the test runner).
    func write(_ text: String) {
        guard let pipe = stdinPipe else { return }
        var pipeSignal = sigset_t()
        sigemptyset(&pipeSignal)
        sigaddset(&pipeSignal, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &pipeSignal, nil)
        try? pipe.fileHandleForWriting.write(contentsOf: Data(text.utf8))
    }

    func closeStdin() { try? stdinPipe?.fileHandleForWriting.close() }

    func signal(_ sig: Int32) { kill(process.processIdentifier, sig) }

    /// Waits for the process to exit; returns its status, or nil after `timeout` (then kills it).
    @discardableResult
    func wait(timeout: Double = 10) -> Int32? {
        let exited = eventually(timeout) { !process.isRunning }
        if !exited {
            signal(SIGKILL)
            process.waitUntilExit()
            return nil
        }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Stops with SIGTERM and waits.
    @discardableResult
    func stop(timeout: Double = 10) -> Int32? {
        signal(SIGTERM)
        return wait(timeout: timeout)
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

/// One HTTP request the receiver got.
struct ReceivedRequest: Sendable {
    let method: String
    let path: String
    /// Header names in lower case.
    let headers: [String: String]
    let body: Data

    var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] }
}

/// A minimal HTTP/1.1 server on 127.0.0.1 that records every request and answers with
/// `status` (changeable while it runs, to play a receiver that is down).
final class WebhookReceiver: @unchecked Sendable {
    let port: UInt16
    private let fd: Int32
    private let lock = NSLock()
    private var received: [ReceivedRequest] = []
    private var statusValue: Int32 = 200
    private var bodyValue = "ok"
    private var stopped = false

    init() throws {
        let sock = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard sock >= 0 else { throw HarnessError("socket: \(errno)") }
        var one: Int32 = 1
        setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(sock, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(sock, 64) == 0 else { throw HarnessError("bind/listen: \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(sock, $0, &length) }
        }
        fd = sock
        port = UInt16(bigEndian: address.sin_port)
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    var url: String { "http://127.0.0.1:\(port)/hook" }

    var status: Int32 {
        get { lock.withLock { statusValue } }
        set { lock.withLock { statusValue = newValue } }
    }

    /// The body of every answer (a robot's `{"errcode":0}`, say).
    var responseBody: String {
        get { lock.withLock { bodyValue } }
        set { lock.withLock { bodyValue = newValue } }
    }

    /// Requests answered with 2xx.
    var accepted: [ReceivedRequest] { lock.withLock { received } }

    func stop() {
        lock.withLock { stopped = true }
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }

    deinit { stop() }

    private func acceptLoop() {
        while true {
            let client = accept(fd, nil, nil)
            if client < 0 {
                if lock.withLock({ stopped }) { return }
                if errno == EINTR { continue }
                return
            }
            Thread.detachNewThread { [self] in serve(client) }
        }
    }

    private func serve(_ client: Int32) {
        defer { close(client) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65536)
        // Keep-alive: serve requests on this connection until the client closes it.
        while true {
            var headerEnd: Int?
            while headerEnd == nil {
                if let r = buffer.indices.dropLast(3).first(where: {
                    buffer[$0] == 13 && buffer[$0 + 1] == 10 && buffer[$0 + 2] == 13 && buffer[$0 + 3] == 10
                }) {
                    headerEnd = r
                    break
                }
                let n = recv(client, &chunk, chunk.count, 0)
                if n <= 0 { return }
                buffer += chunk[0..<n]
            }
            guard let end = headerEnd else { return }
            let head = String(decoding: buffer[0..<end], as: UTF8.self).components(separatedBy: "\r\n")
            let requestLine = head.first?.split(separator: " ").map(String.init) ?? []
            var headers: [String: String] = [:]
            for line in head.dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                    in: .whitespaces)
            }
            buffer.removeFirst(end + 4)
            if headers["expect"]?.lowercased() == "100-continue" { sendAll(client, "HTTP/1.1 100 Continue\r\n\r\n") }
            let length = Int(headers["content-length"] ?? "0") ?? 0
            while buffer.count < length {
                let n = recv(client, &chunk, chunk.count, 0)
                if n <= 0 { return }
                buffer += chunk[0..<n]
            }
            let body = Data(buffer[0..<length])
            buffer.removeFirst(length)
            let status = self.status
            if (200..<300).contains(status) {
                let request = ReceivedRequest(
                    method: requestLine.first ?? "", path: requestLine.count > 1 ? requestLine[1] : "",
                    headers: headers,
                    body: body)
                lock.withLock { received.append(request) }
            }
            let answer = responseBody
            sendAll(
                client,
                "HTTP/1.1 \(status) X\r\nContent-Length: \(answer.utf8.count)\r\nContent-Type: application/json\r\n\r\n\(answer)"
            )
        }
    }

    private func sendAll(_ client: Int32, _ text: String) {
        let bytes = Array(text.utf8)
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = send(client, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                if n <= 0 { return }
                offset += n
            }
        }
    }
}

/// HMAC-SHA256, written out here so the test checks the daemon's signatures independently of
/// the library the daemon uses.
enum TestHMAC {
    static func sha256(_ message: [UInt8]) -> [UInt8] {
        var h: [UInt32] = [
            0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a, 0x510e_527f, 0x9b05_688c, 0x1f83_d9ab, 0x5be0_cd19,
        ]
        let k: [UInt32] = [
            0x428a_2f98, 0x7137_4491, 0xb5c0_fbcf, 0xe9b5_dba5, 0x3956_c25b, 0x59f1_11f1, 0x923f_82a4, 0xab1c_5ed5,
            0xd807_aa98, 0x1283_5b01, 0x2431_85be, 0x550c_7dc3, 0x72be_5d74, 0x80de_b1fe, 0x9bdc_06a7, 0xc19b_f174,
            0xe49b_69c1, 0xefbe_4786, 0x0fc1_9dc6, 0x240c_a1cc, 0x2de9_2c6f, 0x4a74_84aa, 0x5cb0_a9dc, 0x76f9_88da,
            0x983e_5152, 0xa831_c66d, 0xb003_27c8, 0xbf59_7fc7, 0xc6e0_0bf3, 0xd5a7_9147, 0x06ca_6351, 0x1429_2967,
            0x27b7_0a85, 0x2e1b_2138, 0x4d2c_6dfc, 0x5338_0d13, 0x650a_7354, 0x766a_0abb, 0x81c2_c92e, 0x9272_2c85,
            0xa2bf_e8a1, 0xa81a_664b, 0xc24b_8b70, 0xc76c_51a3, 0xd192_e819, 0xd699_0624, 0xf40e_3585, 0x106a_a070,
            0x19a4_c116, 0x1e37_6c08, 0x2748_774c, 0x34b0_bcb5, 0x391c_0cb3, 0x4ed8_aa4a, 0x5b9c_ca4f, 0x682e_6ff3,
            0x748f_82ee, 0x78a5_636f, 0x84c8_7814, 0x8cc7_0208, 0x90be_fffa, 0xa450_6ceb, 0xbef9_a3f7, 0xc671_78f2,
        ]
        var m = message
        let bitLength = UInt64(message.count) * 8
        m.append(0x80)
        while m.count % 64 != 56 { m.append(0) }
        for i in (0..<8).reversed() { m.append(UInt8(truncatingIfNeeded: bitLength >> (UInt64(i) * 8))) }
        func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 - n)) }
        for blockStart in stride(from: 0, to: m.count, by: 64) {
            var w = [UInt32](repeating: 0, count: 64)
            for i in 0..<16 {
                let b = blockStart + i * 4
                w[i] = UInt32(m[b]) << 24 | UInt32(m[b + 1]) << 16 | UInt32(m[b + 2]) << 8 | UInt32(m[b + 3])
            }
            for i in 16..<64 {
                let s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3)
                let s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10)
                w[i] = w[i - 16] &+ s0 &+ w[i - 7] &+ s1
            }
            var (a, b, c, d, e, f, g, hh) = (h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7])
            for i in 0..<64 {
                let s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)
                let ch = (e & f) ^ (~e & g)
                let t1 = hh &+ s1 &+ ch &+ k[i] &+ w[i]
                let s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)
                let maj = (a & b) ^ (a & c) ^ (b & c)
                let t2 = s0 &+ maj
                (hh, g, f, e, d, c, b, a) = (g, f, e, d &+ t1, c, b, a, t1 &+ t2)
            }
            h[0] = h[0] &+ a
            h[1] = h[1] &+ b
            h[2] = h[2] &+ c
            h[3] = h[3] &+ d
            h[4] = h[4] &+ e
            h[5] = h[5] &+ f
            h[6] = h[6] &+ g
            h[7] = h[7] &+ hh
        }
        return h.flatMap { v in (0..<4).map { UInt8(truncatingIfNeeded: v >> (24 - $0 * 8)) } }
    }

    static func raw(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var k = key
        if k.count > 64 { k = sha256(k) }
        k += [UInt8](repeating: 0, count: 64 - k.count)
        return sha256(k.map { $0 ^ 0x5c } + sha256(k.map { $0 ^ 0x36 } + message))
    }

    static func hex(key: String, message: [UInt8]) -> String {
        var k = Array(key.utf8)
        if k.count > 64 { k = sha256(k) }
        k += [UInt8](repeating: 0, count: 64 - k.count)
        let inner = sha256(k.map { $0 ^ 0x36 } + message)
        let outer = sha256(k.map { $0 ^ 0x5c } + inner)
        return outer.map { String(format: "%02x", $0) }.joined()
    }
}

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// What an HTTP call to the daemon answered.
struct HTTPAnswer: Sendable {
    let status: Int
    let headers: [String: String]
    let body: Data
    var text: String { String(decoding: body, as: UTF8.self) }
    var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] }
}

final class AnswerBox: @unchecked Sendable {
    var answer = HTTPAnswer(status: 0, headers: [:], body: Data())
}

/// One HTTP request to 127.0.0.1, waited for (at most `timeout` seconds).
func http(_ method: String, _ url: String, headers: [String: String] = [:], body: Data? = nil, timeout: Double = 60)
    -> HTTPAnswer
{
    var request = URLRequest(url: URL(string: url)!, timeoutInterval: timeout)
    request.httpMethod = method
    request.httpBody = body
    for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
    let box = AnswerBox()
    let done = DispatchSemaphore(value: 0)
    URLSession.shared.dataTask(with: request) { data, response, _ in
        if let r = response as? HTTPURLResponse {
            var h: [String: String] = [:]
            for (k, v) in r.allHeaderFields { h[String(describing: k).lowercased()] = String(describing: v) }
            box.answer = HTTPAnswer(status: r.statusCode, headers: h, body: data ?? Data())
        }
        done.signal()
    }.resume()
    _ = done.wait(timeout: .now() + timeout + 1)
    return box.answer
}

/// A free TCP port on 127.0.0.1 (bound and released; the daemon binds it next).
func freePort() -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    _ = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return UInt16(bigEndian: address.sin_port)
}

/// A unix datagram socket that plays systemd's notify socket and records every message.
final class NotifySocket: @unchecked Sendable {
    let path: String
    private let fd: Int32
    private let lock = NSLock()
    private var received: [String] = []

    init(path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw HarnessError("socket path too long")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in for (i, b) in bytes.enumerated() { raw[i] = b } }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0 else { throw HarnessError("bind \(path): \(errno)") }
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        Thread.detachNewThread { [self] in
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n > 0 {
                    let message = String(decoding: buffer[0..<n], as: UTF8.self)
                    lock.withLock { received.append(message) }
                } else if n < 0 && errno != EAGAIN && errno != EINTR {
                    return
                }
            }
        }
    }

    var messages: [String] { lock.withLock { received } }

    func close() {
        shutdown(fd, Int32(SHUT_RDWR))
        Glibc.close(fd)
    }
}
