import Foundation

/// An open-loop HTTP/1.1 load generator (the wrk2 way): `connections` keep-alive connections
/// share one schedule of `rate` requests per second, request i due at start + i/rate on
/// connection i mod `connections`. A request's latency runs from when it was due, not from when
/// it was sent, so a server that falls behind is charged for the queue it causes (no
/// coordinated omission). wrk measures the other figure: throughput when every connection sends
/// again as soon as it is answered.
enum OpenLoop {
  struct Outcome {
    var sent: Int
    var seconds: Double
    var latenciesMs: [Double]
    var failures: Int
    var firstFailure: String?

    var rate: Double { Double(latenciesMs.count) / seconds }
    func percentile(_ p: Double) -> Double {
      guard !latenciesMs.isEmpty else { return .nan }
      let sorted = latenciesMs.sorted()
      return sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.down)))]
    }
  }

  struct Failure: Error, CustomStringConvertible {
    let description: String
  }

  /// Runs `seconds` of the schedule against 127.0.0.1:`port`; `request` is the whole request
  /// (head and body). Every answer must be a 200. One thread drives every connection through
  /// poll(2), as wrk does, so the generator takes little of the CPU it shares with the server.
  static func http(port: Int, request: [UInt8], rate: Double, connections: Int, seconds: Double) throws -> Outcome {
    let fds = try (0..<connections).map { _ in try connectLoopback(port: port) }
    defer { for fd in fds { close(fd) } }
    for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
    var readers = fds.map { ResponseReader(fd: $0) }
    // Per connection: the due time of the request in flight (nil: idle) and bytes left to write.
    var inFlight = [UInt64?](repeating: nil, count: connections)
    var unwritten = [Int](repeating: 0, count: connections)
    var idle = Array((0..<connections).reversed())
    var backlog: [UInt64] = []  // due requests waiting for an idle connection
    var outcome = Outcome(sent: 0, seconds: seconds, latenciesMs: [], failures: 0, firstFailure: nil)
    let total = Int(rate * seconds)
    let start = clock_gettime_ns() + 100_000_000
    var next = 0
    var polls = fds.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
    func due(_ i: Int) -> UInt64 { start + UInt64(Double(i) / rate * 1e9) }
    while next < total || !backlog.isEmpty || inFlight.contains(where: { $0 != nil }) {
      let now = clock_gettime_ns()
      while next < total && due(next) <= now {
        backlog.append(due(next))
        next += 1
      }
      while !backlog.isEmpty, let c = idle.popLast() {
        inFlight[c] = backlog.removeFirst()
        unwritten[c] = request.count
        outcome.sent += 1
      }
      for c in 0..<connections where unwritten[c] > 0 {
        let n = request.withUnsafeBytes { write(fds[c], $0.baseAddress! + (request.count - unwritten[c]), unwritten[c]) }
        if n > 0 {
          unwritten[c] -= n
        } else if errno != EAGAIN && errno != EINTR {
          throw Failure(description: "write: \(String(cString: strerror(errno)))")
        }
        polls[c].events = Int16(unwritten[c] > 0 ? POLLOUT : POLLIN)
      }
      var wait: UInt64 = 100_000_000
      if next < total { wait = min(wait, due(next) > now ? due(next) - now : 0) }
      var timeout = timespec(tv_sec: 0, tv_nsec: Int(wait))
      let ready = ppoll(&polls, nfds_t(connections), &timeout, nil)
      if ready < 0 && errno != EINTR { throw Failure(description: "poll: \(String(cString: strerror(errno)))") }
      guard ready > 0 else { continue }
      for c in 0..<connections where polls[c].revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
        try readers[c].fillOnce()
        while let dueAt = inFlight[c], let status = try readers[c].complete() {
          let finished = clock_gettime_ns()
          if status == 200 {
            outcome.latenciesMs.append(Double(finished - dueAt) / 1e6)
          } else {
            outcome.failures += 1
            if outcome.firstFailure == nil { outcome.firstFailure = "status \(status)" }
          }
          inFlight[c] = nil
          idle.append(c)
        }
      }
    }
    return outcome
  }

  /// ppoll(2): poll with a nanosecond timeout (Swift's Glibc module does not export it; requests
  /// due every 100 µs need finer waits than poll's milliseconds).
  static let ppoll: @convention(c) (UnsafeMutablePointer<pollfd>?, nfds_t, UnsafePointer<timespec>?, UnsafeRawPointer?) -> Int32 = {
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "ppoll") else { fatalError("libc has no ppoll") }
    return unsafeBitCast(
      symbol, to: (@convention(c) (UnsafeMutablePointer<pollfd>?, nfds_t, UnsafePointer<timespec>?, UnsafeRawPointer?) -> Int32).self)
  }()

  static func clock_gettime_ns() -> UInt64 {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
  }

  static func connectLoopback(port: Int) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
    var one: Int32 = 1
    setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let r = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard r == 0 else {
      close(fd)
      throw Failure(description: "connect to 127.0.0.1:\(port): \(String(cString: strerror(errno)))")
    }
    return fd
  }

  /// Reads HTTP/1.1 responses (status line, headers, a Content-Length body) off one connection.
  struct ResponseReader {
    let fd: Int32
    var buffer: [UInt8] = []

    init(fd: Int32) { self.fd = fd }

    /// One read of what is there (the socket is non-blocking).
    mutating func fillOnce() throws {
      var chunk = [UInt8](repeating: 0, count: 65536)
      let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, 65536) }
      if n < 0 && (errno == EINTR || errno == EAGAIN) { return }
      guard n > 0 else {
        throw Failure(description: n == 0 ? "the server closed the connection" : "read: \(String(cString: strerror(errno)))")
      }
      buffer += chunk[0..<n]
    }

    /// The status of the next response if it is all in, its bytes then dropped; nil if not yet.
    mutating func complete() throws -> Int? {
      guard let headEnd = Self.find([13, 10, 13, 10], in: buffer) else { return nil }
      let head = String(decoding: buffer[0..<headEnd], as: UTF8.self)
      let lines = head.split(separator: "\r\n")
      guard let statusLine = lines.first, statusLine.hasPrefix("HTTP/1.1 "), let status = Int(statusLine.dropFirst(9).prefix(3)) else {
        throw Failure(description: "not an HTTP/1.1 response: \(head.prefix(80))")
      }
      var length: Int?
      for line in lines.dropFirst() {
        let parts = line.split(separator: ":", maxSplits: 1)
        if parts.count == 2, parts[0].lowercased() == "content-length" {
          length = Int(parts[1].trimmingCharacters(in: .whitespaces))
        }
      }
      guard let length else { throw Failure(description: "a response without Content-Length") }
      let total = headEnd + 4 + length
      guard buffer.count >= total else { return nil }
      buffer.removeFirst(total)
      return status
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
      guard haystack.count >= needle.count else { return nil }
      for i in 0...(haystack.count - needle.count) where haystack[i] == needle[0] {
        if haystack[i..<(i + needle.count)].elementsEqual(needle) { return i }
      }
      return nil
    }
  }
}
