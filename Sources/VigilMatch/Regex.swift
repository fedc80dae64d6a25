import CPCRE2

/// A compiled PCRE2 pattern (UTF mode, JIT when available). Immutable and shareable between
/// threads; each thread matches with its own `RegexScratch`.
public final class Regex: @unchecked Sendable {
    public let pattern: String
    let code: OpaquePointer
    public let isJIT: Bool

    /// Compiles `pattern`.
    /// - Throws: `MatchError.regexCompile` with PCRE2's message and the offset of the error.
    public init(_ pattern: String) throws(MatchError) {
        self.pattern = pattern
        var errorCode: Int32 = 0
        var errorOffset = 0
        // The offset limit lets a search stop looking for a start past the last literal that
        // gated it (see `firstMatch`).
        let options = UInt32(PCRE2_UTF) | UInt32(PCRE2_USE_OFFSET_LIMIT)
        let compiled = pattern.withCString { p in
            p.withMemoryRebound(to: UInt8.self, capacity: 1) {
                pcre2_compile_8($0, ~Int(0), options, &errorCode, &errorOffset, nil)
            }
        }
        guard let compiled else {
            var buffer = [UInt8](repeating: 0, count: 256)
            let length = pcre2_get_error_message_8(errorCode, &buffer, buffer.count)
            let message = String(decoding: buffer.prefix(max(0, Int(length))), as: UTF8.self)
            throw .regexCompile(pattern: pattern, offset: errorOffset, message: message)
        }
        code = compiled
        isJIT = pcre2_jit_compile_8(compiled, UInt32(PCRE2_JIT_COMPLETE)) == 0
    }

    deinit { pcre2_code_free_8(code) }

    /// The outcome of one search.
    public enum Outcome: Equatable, Sendable {
        case match(Range<Int>)
        case noMatch
        /// The match or depth limit was hit: the rule costs too much on this text.
        case limitExceeded
        case error(Int32)
    }

    /// Searches `text` (valid UTF-8; not checked again) from byte `start`, for a match that
    /// starts at byte `startLimit` at the latest (nil: anywhere). A match may end past the limit.
    @inline(__always)
    public func firstMatch(
        in text: UnsafeBufferPointer<UInt8>, from start: Int, startLimit: Int? = nil, scratch: RegexScratch
    ) -> Outcome {
        program.firstMatch(in: text, from: start, startLimit: startLimit, scratch: scratch)
    }

    /// The compiled code alone, valid while this `Regex` lives: a scanner keeps its regexes'
    /// programs in a buffer of its own, so a search does not retain and release the object.
    public var program: Program { Program(code: code, isJIT: isJIT) }

    /// See `program`.
    public struct Program: @unchecked Sendable, BitwiseCopyable {
        let code: OpaquePointer
        let isJIT: Bool

        /// `Regex.firstMatch`.
        @inline(__always)
        public func firstMatch(
            in text: UnsafeBufferPointer<UInt8>, from start: Int, startLimit: Int? = nil, scratch: RegexScratch
        ) -> Outcome {
            let subject = text.baseAddress ?? RegexScratch.empty
            pcre2_set_offset_limit_8(scratch.context, startLimit ?? ~0)
            let rc: Int32
            let options = UInt32(PCRE2_NO_UTF_CHECK)
            if isJIT {
                rc = pcre2_jit_match_8(code, subject, text.count, start, options, scratch.matchData, scratch.context)
            } else {
                rc = pcre2_match_8(code, subject, text.count, start, options, scratch.matchData, scratch.context)
            }
            if rc >= 0 {
                let ovector = pcre2_get_ovector_pointer_8(scratch.matchData)!
                return .match(ovector[0]..<max(ovector[0], ovector[1]))
            }
            switch rc {
            case PCRE2_ERROR_NOMATCH, PCRE2_ERROR_PARTIAL: return .noMatch
            case PCRE2_ERROR_MATCHLIMIT, PCRE2_ERROR_DEPTHLIMIT, PCRE2_ERROR_HEAPLIMIT, PCRE2_ERROR_JIT_STACKLIMIT:
                return .limitExceeded
            default: return .error(rc)
            }
        }
    }

    /// Convenience for tests and rule checks: whether `text` matches anywhere.
    public func matches(_ text: String, scratch: RegexScratch = RegexScratch()) -> Bool {
        var copy = text
        return copy.withUTF8 {
            if case .match = firstMatch(in: $0, from: 0, scratch: scratch) { return true }
            return false
        }
    }
}

/// Per-thread matching state: match data, JIT stack and a match context with limits.
public final class RegexScratch {
    /// A subject for empty texts (PCRE2 wants a non-null pointer). Never written.
    nonisolated(unsafe) static let empty: UnsafePointer<UInt8> = {
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
        p.initialize(to: 0)
        return UnsafePointer(p)
    }()

    let matchData: OpaquePointer
    let context: OpaquePointer
    let jitStack: OpaquePointer?

    /// - Parameters:
    ///   - matchLimit: PCRE2's match limit (backtracking steps); bounds the time any rule takes.
    ///   - depthLimit: PCRE2's depth limit for the interpreter (JIT uses its own bounded stack).
    public init(matchLimit: UInt32 = 200_000, depthLimit: UInt32 = 10_000) {
        matchData = pcre2_match_data_create_8(1, nil)!
        context = pcre2_match_context_create_8(nil)!
        pcre2_set_match_limit_8(context, matchLimit)
        pcre2_set_depth_limit_8(context, depthLimit)
        jitStack = pcre2_jit_stack_create_8(32 * 1024, 1024 * 1024, nil)
        if let jitStack { pcre2_jit_stack_assign_8(context, nil, UnsafeMutableRawPointer(jitStack)) }
    }

    deinit {
        pcre2_match_data_free_8(matchData)
        pcre2_match_context_free_8(context)
        if let jitStack { pcre2_jit_stack_free_8(jitStack) }
    }
}
