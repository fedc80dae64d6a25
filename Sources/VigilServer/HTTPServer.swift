import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// One HTTP request, body read whole (bounded by the server's `maxBodyBytes`).
public struct HTTPRequest: Sendable {
    public var method: String
    /// The path without the query.
    public var path: String
    public var query: [String: String]
    /// Header names in lower case.
    public var headers: [String: String]
    public var body: [UInt8]
}

/// What a handler answers.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [String: String]
    public var body: [UInt8]

    public init(status: Int, headers: [String: String] = [:], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public static func text(_ status: Int, _ text: String, headers: [String: String] = [:]) -> HTTPResponse {
        var h = headers
        h["Content-Type"] = h["Content-Type"] ?? "text/plain; charset=utf-8"
        return HTTPResponse(status: status, headers: h, body: Array(text.utf8))
    }

    public static func json(_ status: Int, _ object: [String: Any], headers: [String: String] = [:]) -> HTTPResponse {
        var h = headers
        h["Content-Type"] = "application/json"
        let body = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])).map { Array($0) } ?? []
        return HTTPResponse(status: status, headers: h, body: body + [0x0A])
    }
}

/// A small HTTP/1.1 server for the daemon's API: a thread per connection (at most
/// `maxConnections`), keep-alive, `Content-Length` and chunked request bodies, bounded body
/// size and read timeouts. Enough for an ingest endpoint, health checks and a metrics scrape on
/// a trusted network; put a TLS proxy in front of it for anything else.
public final class HTTPServer: @unchecked Sendable {
    public typealias Handler = @Sendable (HTTPRequest) -> HTTPResponse

    public let host: String
    public private(set) var port: UInt16
    public var maxBodyBytes = 16 << 20
    public var maxConnections = 64
    public var readTimeout = 30

    private let handler: Handler
    private var listener: Int32 = -1
    private let lock = NSLock()
    private var connections = 0
    private var stopped = false

    public init(host: String, port: UInt16, handler: @escaping Handler) {
        self.host = host
        self.port = port
        self.handler = handler
    }

    public struct BindError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Binds and starts accepting on a background thread. Port 0 picks a free port (`port` tells which).
    public func start() throws {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST
        var info: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &info)
        guard rc == 0, let first = info else {
            throw BindError(
                description:
                    "cannot listen on \(host):\(port): \(String(cString: gai_strerror(rc))) (use a numeric address such as 127.0.0.1 or ::1)"
            )
        }
        defer { freeaddrinfo(info) }
        let fd = socket(first.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw BindError(description: "socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard bind(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0, listen(fd, 128) == 0 else {
            let why = String(cString: strerror(errno))
            close(fd)
            throw BindError(description: "cannot listen on \(host):\(port): \(why)")
        }
        var address = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        port = withUnsafePointer(to: &address) { p in
            if Int32(p.pointee.ss_family) == AF_INET6 {
                return p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
                    UInt16(bigEndian: $0.pointee.sin6_port)
                }
            }
            return p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
        }
        listener = fd
        let t = Thread { [self] in acceptLoop(fd) }
        t.name = "vigil-http"
        t.start()
    }

    /// Stops accepting; connections in progress finish their request.
    public func stop() {
        lock.lock()
        stopped = true
        let fd = listener
        listener = -1
        lock.unlock()
        if fd >= 0 {
            shutdown(fd, Int32(SHUT_RDWR))
            close(fd)
        }
    }

    private func acceptLoop(_ fd: Int32) {
        while true {
            let client = accept(fd, nil, nil)
            if client < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                return
            }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            lock.lock()
            let full = connections >= maxConnections
            if !full { connections += 1 }
            lock.unlock()
            if full {
                write(
                    client, HTTPResponse.text(503, "too many connections\n", headers: ["Retry-After": "1"]),
                    keepAlive: false)
                close(client)
                continue
            }
            let t = Thread { [self] in
                serve(client)
                close(client)
                lock.lock()
                connections -= 1
                lock.unlock()
            }
            t.start()
        }
    }

    private func serve(_ client: Int32) {
        var timeout = timeval(tv_sec: readTimeout, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var reader = ConnectionReader(fd: client)
        while true {
            let request: HTTPRequest
            switch reader.readRequest(maxBodyBytes: maxBodyBytes) {
            case .closed: return
            case .bad(let status, let why):
                write(client, .text(status, why + "\n"), keepAlive: false)
                return
            case .request(let r): request = r
            }
            let keepAlive = request.headers["connection"]?.lowercased() != "close"
            write(client, handler(request), keepAlive: keepAlive)
            if !keepAlive { return }
        }
    }

    private func write(_ client: Int32, _ response: HTTPResponse, keepAlive: Bool) {
        var head = "HTTP/1.1 \(response.status) \(Self.reason(response.status))\r\n"
        var headers = response.headers
        headers["Content-Length"] = String(response.body.count)
        headers["Connection"] = keepAlive ? "keep-alive" : "close"
        for (k, v) in headers.sorted(by: { $0.key < $1.key }) { head += "\(k): \(v)\r\n" }
        head += "\r\n"
        let bytes = Array(head.utf8) + response.body
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = send(client, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                if n <= 0 { return }
                offset += n
            }
        }
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 200: return "OK"
        case 202: return "Accepted"
        case 204: return "No Content"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 411: return "Length Required"
        case 413: return "Content Too Large"
        case 429: return "Too Many Requests"
        case 500: return "Internal Server Error"
        case 503: return "Service Unavailable"
        default: return "Status"
        }
    }
}

/// Reads requests off one connection.
struct ConnectionReader {
    let fd: Int32
    var buffer: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)

    enum Outcome {
        case request(HTTPRequest)
        case bad(Int, String)
        case closed
    }

    init(fd: Int32) { self.fd = fd }

    /// Reads more bytes; false when the peer closed or the read timed out.
    mutating func fill() -> Bool {
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return false }
        buffer += chunk[0..<n]
        return true
    }

    mutating func readRequest(maxBodyBytes: Int) -> Outcome {
        var headerEnd: Int?
        var searched = 0
        while headerEnd == nil {
            if buffer.count >= 4 {
                var i = max(0, searched - 3)
                while i + 3 < buffer.count {
                    if buffer[i] == 13 && buffer[i + 1] == 10 && buffer[i + 2] == 13 && buffer[i + 3] == 10 {
                        headerEnd = i
                        break
                    }
                    i += 1
                }
                searched = buffer.count
            }
            if headerEnd != nil { break }
            if buffer.count > 64 << 10 { return .bad(400, "request head larger than 64 KiB") }
            if !fill() { return .closed }
        }
        guard let end = headerEnd else { return .closed }
        let lines = String(decoding: buffer[0..<end], as: UTF8.self).components(separatedBy: "\r\n")
        buffer.removeFirst(end + 4)
        let parts = lines[0].split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard parts.count == 3, parts[2].hasPrefix("HTTP/1.") else { return .bad(400, "malformed request line") }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { return .bad(400, "malformed header line") }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces)
        }
        let target = parts[1]
        let (path, query) = Self.split(target)
        var body: [UInt8] = []
        if headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
            switch readChunked(maxBodyBytes: maxBodyBytes) {
            case .success(let b): body = b
            case .failure(let e): return .bad(e.status, e.message)
            }
        } else if let lengthText = headers["content-length"] {
            guard let length = Int(lengthText), length >= 0 else { return .bad(400, "invalid Content-Length") }
            guard length <= maxBodyBytes else { return .bad(413, "body larger than \(maxBodyBytes) bytes") }
            if headers["expect"]?.lowercased() == "100-continue" { sendContinue() }
            while buffer.count < length { if !fill() { return .closed } }
            body = Array(buffer[0..<length])
            buffer.removeFirst(length)
        }
        return .request(HTTPRequest(method: parts[0], path: path, query: query, headers: headers, body: body))
    }

    struct BodyError: Error {
        let status: Int
        let message: String
    }

    mutating func readChunked(maxBodyBytes: Int) -> Result<[UInt8], BodyError> {
        var body: [UInt8] = []
        while true {
            guard let line = readLine() else {
                return .failure(BodyError(status: 400, message: "truncated chunked body"))
            }
            let sizeText = line.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            guard let size = Int(sizeText, radix: 16), size >= 0 else {
                return .failure(BodyError(status: 400, message: "invalid chunk size"))
            }
            if size == 0 {
                // Trailers, up to the blank line.
                while let trailer = readLine(), !trailer.isEmpty {}
                return .success(body)
            }
            guard body.count + size <= maxBodyBytes else {
                return .failure(BodyError(status: 413, message: "body larger than \(maxBodyBytes) bytes"))
            }
            while buffer.count < size + 2 {
                if !fill() { return .failure(BodyError(status: 400, message: "truncated chunk")) }
            }
            body += buffer[0..<size]
            buffer.removeFirst(size + 2)
        }
    }

    mutating func readLine() -> String? {
        while true {
            if let i = buffer.indices.dropLast().first(where: { buffer[$0] == 13 && buffer[$0 + 1] == 10 }) {
                let line = String(decoding: buffer[0..<i], as: UTF8.self)
                buffer.removeFirst(i + 2)
                return line
            }
            if buffer.count > 8192 || !fill() { return nil }
        }
    }

    func sendContinue() {
        let bytes = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)
        bytes.withUnsafeBytes { _ = send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    static func split(_ target: String) -> (String, [String: String]) {
        guard let q = target.firstIndex(of: "?") else { return (target, [:]) }
        var query: [String: String] = [:]
        for pair in target[target.index(after: q)...].split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1).map { String($0).removingPercentEncoding ?? String($0) }
            query[kv[0]] = kv.count > 1 ? kv[1] : ""
        }
        return (String(target[..<q]), query)
    }
}
