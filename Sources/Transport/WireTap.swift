import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A passive wiretap: a byte-for-byte relay between ZeroMQ peers and the endpoint they meant to
/// reach (`ipc://` or `tcp://`), handing a copy of every byte the clients send to an observer.
/// It reads and forwards, never alters: the peers' ZMTP (and CURVE) handshake runs end to end
/// through it, exactly as over a tapped network link.
///
/// One thread, non-blocking sockets and poll(2): a peer that stops reading only stalls its own
/// connection pair.
public final class WireTap: @unchecked Sendable {
  /// Where clients should connect (the relay's own endpoint).
  public let endpoint: String
  let upstream: String
  let listener: Int32
  let observe: (Int, UnsafeRawBufferPointer) -> Void
  private var thread: Thread?
  private let lock = NSLock()
  private var stopping = false
  private let done = DispatchSemaphore(value: 0)

  final class Pair {
    let id: Int
    let client: Int32, server: Int32
    var toServer: [UInt8] = [], toClient: [UInt8] = []
    init(id: Int, client: Int32, server: Int32) { self.id = id; self.client = client; self.server = server }
  }

  /// - listen: the relay's endpoint: `ipc://PATH`, or `tcp://127.0.0.1:0` for a free port.
  /// - upstream: the real endpoint (`ipc://PATH` or `tcp://HOST:PORT`).
  /// - observe: called on the relay thread with (connection number, bytes) for client → upstream bytes.
  public init(listen: String, upstream: String, observe: @escaping (Int, UnsafeRawBufferPointer) -> Void) throws {
    self.upstream = upstream
    self.observe = observe
    let fd = try SocketAddress(listen).bindListener()
    listener = fd
    endpoint = try SocketAddress.boundEndpoint(fd, requested: listen)
  }

  public func start() {
    let t = Thread { [self] in
      loop(); done.signal()
    }
    t.name = "wiretap"
    thread = t
    t.start()
  }

  /// Stops relaying and closes every socket.
  public func stop() {
    lock.lock(); stopping = true; lock.unlock()
    if thread != nil { done.wait(); thread = nil }
  }

  private var isStopping: Bool { lock.lock(); defer { lock.unlock() }; return stopping }

  private func loop() {
    var pairs: [Pair] = []
    var next = 0
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    let highWater = 8 << 20
    defer {
      for p in pairs { close(p.client); close(p.server) }
      close(listener)
    }
    while !isStopping {
      var fds = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
      for p in pairs {
        fds.append(
          pollfd(fd: p.client, events: Int16((p.toServer.count < highWater ? POLLIN : 0) | (p.toClient.isEmpty ? 0 : POLLOUT)), revents: 0))
        fds.append(
          pollfd(fd: p.server, events: Int16((p.toClient.count < highWater ? POLLIN : 0) | (p.toServer.isEmpty ? 0 : POLLOUT)), revents: 0))
      }
      let r = poll(&fds, nfds_t(fds.count), 100)
      if r <= 0 { continue }
      let polled = pairs.count  // pairs accepted below wait for the next poll
      if fds[0].revents & Int16(POLLIN) != 0 {
        let c = accept(listener, nil, nil)
        if c >= 0 {
          if let s = try? SocketAddress(upstream).connect() {
            setNonBlocking(c); setNonBlocking(s)
            pairs.append(Pair(id: next, client: c, server: s))
            next += 1
          } else {
            close(c)  // upstream not there yet: the client's ZeroMQ reconnects
          }
        }
      }
      var closed: Set<Int> = []
      for (k, p) in pairs.prefix(polled).enumerated() {
        let cr = fds[1 + 2 * k].revents, sr = fds[2 + 2 * k].revents
        var ok = true
        if cr & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
          let n = chunk.withUnsafeMutableBytes { read(p.client, $0.baseAddress, $0.count) }
          if n > 0 {
            chunk.withUnsafeBytes { observe(p.id, UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            p.toServer.append(contentsOf: chunk[0..<n])
          } else if n == 0 || errno != EAGAIN {
            ok = false
          }
        }
        if sr & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
          let n = chunk.withUnsafeMutableBytes { read(p.server, $0.baseAddress, $0.count) }
          if n > 0 { p.toClient.append(contentsOf: chunk[0..<n]) } else if n == 0 || errno != EAGAIN { ok = false }
        }
        if ok, !p.toServer.isEmpty { ok = flush(&p.toServer, to: p.server) }
        if ok, !p.toClient.isEmpty { ok = flush(&p.toClient, to: p.client) }
        if !ok { closed.insert(k) }
      }
      if !closed.isEmpty {
        for k in closed { close(pairs[k].client); close(pairs[k].server) }
        pairs = pairs.enumerated().filter { !closed.contains($0.offset) }.map(\.element)
      }
    }
  }

  /// Writes as much of `buffer` as the socket takes; false if the socket failed.
  private func flush(_ buffer: inout [UInt8], to fd: Int32) -> Bool {
    let n = buffer.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    if n > 0 { buffer.removeFirst(n); return true }
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)
  }

  private func setNonBlocking(_ fd: Int32) {
    _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
  }
}

public struct TransportError: Error, CustomStringConvertible {
  public let message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

/// An `ipc://PATH` or `tcp://HOST:PORT` endpoint as a POSIX socket address.
struct SocketAddress {
  enum Kind { case unix(String), tcp(String, UInt16) }
  let kind: Kind

  init(_ endpoint: String) throws {
    if endpoint.hasPrefix("ipc://") {
      let path = String(endpoint.dropFirst(6))
      guard path.utf8.count < 108 else { throw TransportError("wiretap: socket path longer than 107 bytes: \(path)") }
      kind = .unix(path)
    } else if endpoint.hasPrefix("tcp://"), let colon = endpoint.lastIndex(of: ":"),
      let port = UInt16(endpoint[endpoint.index(after: colon)...])
    {
      var host = String(endpoint[endpoint.index(endpoint.startIndex, offsetBy: 6)..<colon])
      if host == "*" || host == "localhost" { host = "127.0.0.1" }
      kind = .tcp(host, port)
    } else {
      throw TransportError("wiretap: cannot relay \(endpoint) (ipc:// or tcp://HOST:PORT only)")
    }
  }

  private func withAddress<R>(_ body: (UnsafePointer<sockaddr>, socklen_t, Int32) throws -> R) throws -> R {
    switch kind {
    case .unix(let path):
      var a = sockaddr_un()
      a.sun_family = sa_family_t(AF_UNIX)
      withUnsafeMutableBytes(of: &a.sun_path) { dst in
        for (i, b) in path.utf8.enumerated() { dst[i] = b }
        dst[path.utf8.count] = 0
      }
      return try withUnsafePointer(to: &a) {
        try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, socklen_t(MemoryLayout<sockaddr_un>.size), AF_UNIX) }
      }
    case .tcp(let host, let port):
      var a = sockaddr_in()
      a.sin_family = sa_family_t(AF_INET)
      a.sin_port = port.bigEndian
      guard inet_pton(AF_INET, host, &a.sin_addr) == 1 else { throw TransportError("wiretap: \(host) is not an IPv4 address") }
      return try withUnsafePointer(to: &a) {
        try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, socklen_t(MemoryLayout<sockaddr_in>.size), AF_INET) }
      }
    }
  }

  func bindListener() throws -> Int32 {
    signal(SIGPIPE, SIG_IGN)  // a peer that hangs up must not kill the relaying process
    if case .unix(let path) = kind { unlink(path) }
    return try withAddress { addr, len, family in
      let fd = socket(family, Int32(SOCK_STREAM.rawValue), 0)
      guard fd >= 0 else { throw TransportError("wiretap: socket(): \(String(cString: strerror(errno)))") }
      var one: Int32 = 1
      _ = setsockopt(fd, Int32(SOL_SOCKET), SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
      guard bind(fd, addr, len) == 0, listen(fd, 64) == 0 else {
        let e = String(cString: strerror(errno)); close(fd)
        throw TransportError("wiretap: cannot listen: \(e)")
      }
      return fd
    }
  }

  func connect() throws -> Int32 {
    try withAddress { addr, len, family in
      let fd = socket(family, Int32(SOCK_STREAM.rawValue), 0)
      guard fd >= 0 else { throw TransportError("wiretap: socket(): \(String(cString: strerror(errno)))") }
      guard Glibc.connect(fd, addr, len) == 0 else { close(fd); throw TransportError("wiretap: connect failed") }
      return fd
    }
  }

  /// The endpoint clients use for a bound listener (resolves tcp port 0).
  static func boundEndpoint(_ fd: Int32, requested: String) throws -> String {
    guard requested.hasPrefix("tcp://") else { return requested }
    var a = sockaddr_in()
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
    return "tcp://127.0.0.1:\(UInt16(bigEndian: a.sin_port))"
  }
}
