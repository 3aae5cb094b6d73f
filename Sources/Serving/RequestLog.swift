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
    let head =
      "{\"time\":\"\(Self.timestamp(e.time))\",\"credential\":\(Self.quoted(e.credential)),\"route\":\(Self.quoted(e.route))"
      + ",\"status\":\(e.status),\"input_sha256\":\(Self.quoted(e.inputSHA256)),\"output\":"
    let tail = ",\"reason\":\(Self.quoted(e.reason))}\n"
    var bytes: [UInt8] = []
    bytes.reserveCapacity(head.utf8.count + (e.output?.count ?? 4) + tail.utf8.count)
    bytes.append(contentsOf: head.utf8)
    bytes.append(contentsOf: e.output ?? ArraySlice("null".utf8))
    bytes.append(contentsOf: tail.utf8)
    try descriptor.withLock { fd in
      // write(2) straight from the line's bytes (FileHandle and Data cost 4% of a prediction);
      // a short write continues, an interrupted one is retried, any other failure is thrown.
      var done = 0
      while done < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
        if n < 0 {
          if errno == EINTR { continue }
          throw ServingError("cannot append to the request log \(path): \(String(cString: strerror(errno)))")
        }
        done += n
      }
    }
  }

  /// RFC 3339 in UTC with milliseconds, built by hand (Foundation's formatter costs more than
  /// the prediction it would stamp).
  static func timestamp(_ date: Date) -> String {
    let ms = Int((date.timeIntervalSince1970 * 1000).rounded(.down))
    var seconds = time_t(ms / 1000)
    var t = tm()
    gmtime_r(&seconds, &t)
    func pad(_ v: Int32, _ width: Int) -> String {
      let s = String(v)
      return String(repeating: "0", count: max(0, width - s.count)) + s
    }
    return "\(pad(t.tm_year + 1900, 4))-\(pad(t.tm_mon + 1, 2))-\(pad(t.tm_mday, 2))T\(pad(t.tm_hour, 2)):\(pad(t.tm_min, 2)):"
      + "\(pad(t.tm_sec, 2)).\(pad(Int32(ms % 1000), 3))Z"
  }

  /// A JSON string literal (or null).
  static func quoted(_ s: String?) -> String { s.map(SafeTensorsFile.json) ?? "null" }
}

public struct ServingError: Error, CustomStringConvertible {
  public let description: String
  public init(_ message: String) { description = message }
}
