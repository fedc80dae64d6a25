import CSQLite

#if canImport(Glibc)
    import Glibc
#endif

/// An error from SQLite, with the statement or file it concerns.
public struct StateError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Waits for another connection's write lock in short steps, giving up after about ten seconds.
/// SQLite's own busy timeout sleeps 1, 2, 5 … 100 ms between tries, so a writer that holds the
/// lock for a fraction of a millisecond can cost the loop thread tens of milliseconds.
private let retryWhileBusy: @convention(c) (UnsafeMutableRawPointer?, Int32) -> Int32 = { _, tries in
    if tries < 200 {
        usleep(50)  // the first 10 ms
    } else if tries < 200 + 10_000 {
        usleep(1_000)
    } else {
        return 0
    }
    return 1
}

/// A value bound to, or read from, a statement.
public enum SQLValue: Sendable, Equatable {
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
    case null
}

/// One SQLite connection. Not shared between threads: each thread that needs the state file
/// opens its own connection (WAL mode lets readers and one writer work side by side).
public final class Database {
    let handle: OpaquePointer
    public let path: String

    /// Opens (creating when missing) the database at `path` in WAL mode with full sync, so that
    /// a committed transaction survives a crash of the process or of the machine.
    public init(path: String) throws(StateError) {
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close(db)
            throw StateError("cannot open state database \(path): \(message)")
        }
        handle = db
        self.path = path
        sqlite3_busy_handler(db, retryWhileBusy, nil)
        try execute("PRAGMA journal_mode = WAL")
        try execute("PRAGMA synchronous = NORMAL")
        try execute("PRAGMA foreign_keys = ON")
    }

    deinit { sqlite3_close_v2(handle) }

    /// Runs one or more statements that return no rows.
    public func execute(_ sql: String) throws(StateError) {
        var error: UnsafeMutablePointer<CChar>?
        if sqlite3_exec(handle, sql, nil, nil, &error) != SQLITE_OK {
            let message = error.map { String(cString: $0) } ?? lastError
            sqlite3_free(error)
            throw StateError("\(path): \(message) in: \(sql.prefix(80))")
        }
    }

    /// Compiles a statement for repeated use.
    public func prepare(_ sql: String) throws(StateError) -> Statement {
        var stmt: OpaquePointer?
        guard sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil) == SQLITE_OK,
            let stmt
        else { throw StateError("\(path): \(lastError) in: \(sql.prefix(80))") }
        return Statement(stmt, database: self)
    }

    /// Runs `body` in one immediate transaction: all of it is committed, or none of it.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        return try finishTransaction(body)
    }

    /// Like `transaction`, but returns nil at once, running nothing, when another connection
    /// holds the write lock: for a caller with better things to do than wait.
    public func transactionIfFree<T>(_ body: () throws -> T) throws -> T? {
        sqlite3_busy_handler(handle, nil, nil)
        var error: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, "BEGIN IMMEDIATE", nil, nil, &error)
        sqlite3_free(error)
        sqlite3_busy_handler(handle, retryWhileBusy, nil)
        if rc == SQLITE_BUSY { return nil }
        guard rc == SQLITE_OK else { throw StateError("\(path): \(lastError) in: BEGIN IMMEDIATE") }
        return try finishTransaction(body)
    }

    /// Runs `body` in the transaction just begun, then commits it, or rolls it back on an error.
    private func finishTransaction<T>(_ body: () throws -> T) throws -> T {
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// The rowid of the last row inserted on this connection.
    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }
    /// Rows changed by the last statement.
    public var changes: Int { Int(sqlite3_changes(handle)) }

    var lastError: String { String(cString: sqlite3_errmsg(handle)) }
}

/// A compiled statement. `query` and `run` reset it and bind fresh values each time.
public final class Statement {
    let stmt: OpaquePointer
    unowned let database: Database

    init(_ stmt: OpaquePointer, database: Database) {
        self.stmt = stmt
        self.database = database
    }

    deinit { sqlite3_finalize(stmt) }

    /// Runs the statement with `values` bound to its parameters, ignoring any rows.
    public func run(_ values: [SQLValue] = []) throws(StateError) {
        try bind(values)
        defer { sqlite3_reset(stmt) }
        var rc = sqlite3_step(stmt)
        while rc == SQLITE_ROW { rc = sqlite3_step(stmt) }
        guard rc == SQLITE_DONE else { throw StateError("\(database.path): \(database.lastError)") }
    }

    /// Runs the statement and returns every row as an array of column values.
    public func query(_ values: [SQLValue] = []) throws(StateError) -> [[SQLValue]] {
        try bind(values)
        defer { sqlite3_reset(stmt) }
        var rows: [[SQLValue]] = []
        while true {
            let rc = sqlite3_step(stmt)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw StateError("\(database.path): \(database.lastError)") }
            let n = sqlite3_column_count(stmt)
            var row: [SQLValue] = []
            row.reserveCapacity(Int(n))
            for i in 0..<n { row.append(column(i)) }
            rows.append(row)
        }
        return rows
    }

    private func column(_ i: Int32) -> SQLValue {
        switch sqlite3_column_type(stmt, i) {
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(stmt, i))
        case SQLITE_FLOAT: return .real(sqlite3_column_double(stmt, i))
        case SQLITE_TEXT:
            guard let p = sqlite3_column_text(stmt, i) else { return .text("") }
            let n = Int(sqlite3_column_bytes(stmt, i))
            return .text(String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self))
        case SQLITE_BLOB:
            let n = Int(sqlite3_column_bytes(stmt, i))
            guard n > 0, let p = sqlite3_column_blob(stmt, i) else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: p, count: n)))
        default: return .null
        }
    }

    private func bind(_ values: [SQLValue]) throws(StateError) {
        sqlite3_reset(stmt)
        sqlite3_clear_bindings(stmt)
        for (n, value) in values.enumerated() {
            let i = Int32(n + 1)
            let rc: Int32
            switch value {
            case .integer(let v): rc = sqlite3_bind_int64(stmt, i, v)
            case .real(let v): rc = sqlite3_bind_double(stmt, i, v)
            case .text(let v): rc = sqlite3_bind_text(stmt, i, v, -1, vigil_sqlite_transient())
            case .blob(let v):
                rc = v.withUnsafeBytes {
                    sqlite3_bind_blob(stmt, i, $0.baseAddress, Int32($0.count), vigil_sqlite_transient())
                }
            case .null: rc = sqlite3_bind_null(stmt, i)
            }
            guard rc == SQLITE_OK else {
                throw StateError("\(database.path): binding parameter \(i): \(database.lastError)")
            }
        }
    }
}

extension SQLValue {
    public var int: Int? { if case .integer(let v) = self { return Int(v) } else { return nil } }
    public var double: Double? {
        switch self {
        case .real(let v): return v
        case .integer(let v): return Double(v)
        default: return nil
        }
    }
    public var string: String? { if case .text(let v) = self { return v } else { return nil } }
    public var bytes: [UInt8]? { if case .blob(let v) = self { return v } else { return nil } }
}
