import Artifacts
import Foundation
import Synchronization

/// The append-only request log (JSONL, one writer: the server): per request the time, the
/// credential id, the route, the SHA-256 of the body, the output the caller saw and the status.
/// The input of the query auditors and drift monitors.
public final class RequestLog: Sendable {
  /// The log's descriptor (O_APPEND); the lock keeps each line one write, in order.
  private let descriptor: Mutex<Int32>
  public let path: String

  public init(path: String) throws {
    self.path = path
    let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw ServingError("cannot open the request log \(path): \(String(cString: strerror(errno)))") }
    descriptor = Mutex(fd)
  }

  deinit { descriptor.withLock { _ = close($0) } }

  public struct Entry {
    var time: Date
    var credential: String?
    var route: String
    var status: Int
    var inputSHA256: String?
    /// A JSON value (already encoded, UTF-8), or nil.
    var output: ArraySlice<UInt8>?
    var reason: String?
  }

  public func append(_ e: Entry) throws {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(200 + (e.output?.count ?? 4))
    Self.line(e, to: &bytes)
    try write(bytes)
  }

  /// The entry's line, appended to `bytes`. Built as bytes: string interpolation and escaping
  /// scalar by scalar were a tenth of a one-input prediction's CPU.
  static func line(_ e: Entry, to bytes: inout [UInt8]) {
    bytes.append(contentsOf: #"{"time":""#.utf8)
    Self.appendTimestamp(e.time, to: &bytes)
    bytes.append(contentsOf: #"","credential":"#.utf8)
    Self.appendQuoted(e.credential, to: &bytes)
    bytes.append(contentsOf: #","route":"#.utf8)
    Self.appendQuoted(e.route, to: &bytes)
    bytes.append(contentsOf: #","status":"#.utf8)
    bytes.append(contentsOf: String(e.status).utf8)
    bytes.append(contentsOf: #","input_sha256":"#.utf8)
    Self.appendQuoted(e.inputSHA256, to: &bytes)
    bytes.append(contentsOf: #","output":"#.utf8)
    bytes.append(contentsOf: e.output ?? ArraySlice("null".utf8))
    bytes.append(contentsOf: #","reason":"#.utf8)
    Self.appendQuoted(e.reason, to: &bytes)
    bytes.append(contentsOf: "}\n".utf8)
  }

  /// Appends whole lines (one entry's, or a batch's) with one write: no other writer's line lands
  /// inside them.
  func write(_ bytes: [UInt8]) throws {
    try descriptor.withLock { fd in
      // write(2) straight from the line's bytes (FileHandle and Data cost 4% of a prediction);
      // a short write continues, an interrupted one is retried, any other failure is thrown.
      var done = 0
      while done < bytes.count {
        let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, $0.count - done) }
        if n < 0 {
          if errno == EINTR { continue }
          throw ServingError("cannot append to the request log \(path): \(String(cString: strerror(errno)))")
        }
        done += n
      }
    }
  }

  /// RFC 3339 in UTC with milliseconds, built by hand (Foundation's formatter costs more than
  /// the prediction it would stamp). Milliseconds are floored, so times before 1970 stamp as
  /// they should; a year past 9999 (outside RFC 3339) is written with all its digits.
  static func appendTimestamp(_ date: Date, to out: inout [UInt8]) {
    let ms = Int((date.timeIntervalSince1970 * 1000).rounded(.down))
    let (wholeSeconds, millisecond) = ms.quotientAndRemainder(dividingBy: 1000)
    var seconds = time_t(millisecond < 0 ? wholeSeconds - 1 : wholeSeconds)
    var t = tm()
    gmtime_r(&seconds, &t)
    func digits(_ v: Int, _ width: Int) {
      var divisor = 1
      for _ in 1..<width { divisor *= 10 }
      while divisor <= v / 10 { divisor *= 10 }
      while divisor > 0 {
        out.append(0x30 + UInt8(v / divisor % 10))
        divisor /= 10
      }
    }
    digits(Int(t.tm_year) + 1900, 4)
    out.append(0x2d)
    digits(Int(t.tm_mon) + 1, 2)
    out.append(0x2d)
    digits(Int(t.tm_mday), 2)
    out.append(0x54)
    digits(Int(t.tm_hour), 2)
    out.append(0x3a)
    digits(Int(t.tm_min), 2)
    out.append(0x3a)
    digits(Int(t.tm_sec), 2)
    out.append(0x2e)
    digits(millisecond < 0 ? millisecond + 1000 : millisecond, 3)
    out.append(0x5a)
  }

  static func timestamp(_ date: Date) -> String {
    var out: [UInt8] = []
    appendTimestamp(date, to: &out)
    return String(decoding: out, as: UTF8.self)
  }

  /// A JSON string literal (or null), as UTF-8.
  static func appendQuoted(_ s: String?, to out: inout [UInt8]) {
    guard let s else { return out.append(contentsOf: "null".utf8) }
    JSONString.append(s, to: &out)
  }

  static func quoted(_ s: String?) -> String {
    var out: [UInt8] = []
    appendQuoted(s, to: &out)
    return String(decoding: out, as: UTF8.self)
  }
}

public struct ServingError: Error, CustomStringConvertible {
  public let description: String
  public init(_ message: String) { description = message }
}
