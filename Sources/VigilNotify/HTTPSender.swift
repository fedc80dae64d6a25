import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// What a receiver answered, or why there was no answer.
public enum SendResult: Sendable, Equatable {
    case answered(status: Int, body: [UInt8])
    case failed(String)
}

/// Sends one request and waits for the answer (on the calling thread; each receiver has its
/// own dispatcher thread, so one slow receiver holds up no other).
public protocol HTTPSending: Sendable {
    func send(_ request: OutgoingRequest, timeout: Double) -> SendResult
}

/// HTTP and HTTPS through Foundation's URLSession (libcurl on Linux): receivers, response-action
/// webhooks, and `vigil incidents --api`.
public final class URLSessionSender: HTTPSending, @unchecked Sendable {
    private let session: URLSession

    public init() {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpShouldSetCookies = false
        configuration.urlCache = nil
        session = URLSession(configuration: configuration)
    }

    public func send(_ request: OutgoingRequest, timeout: Double) -> SendResult {
        guard let url = URL(string: request.url) else { return .failed("invalid URL \(request.url)") }
        var r = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeout)
        r.httpMethod = request.method
        if request.method != "GET" { r.httpBody = Data(request.body) }
        for (name, value) in request.headers { r.setValue(value, forHTTPHeaderField: name) }
        let box = ResultBox()
        let done = DispatchSemaphore(value: 0)
        let task = session.dataTask(with: r) { data, response, error in
            if let http = response as? HTTPURLResponse {
                box.result = .answered(status: http.statusCode, body: data.map { Array($0) } ?? [])
            } else {
                box.result = .failed(error?.localizedDescription ?? "no response")
            }
            done.signal()
        }
        task.resume()
        if done.wait(timeout: .now() + timeout + 1) == .timedOut {
            task.cancel()
            return .failed("timed out after \(timeout) s")
        }
        return box.result
    }

    private final class ResultBox: @unchecked Sendable {
        var result: SendResult = .failed("no response")
    }
}
