import Foundation
import Synchronization
import Testing
@testable import Transport

/// What reaches a CURVE server before anyone is authenticated: a capped message size, and a
/// monitor that sees every failed handshake as it happens.
@Suite(.serialized) struct PreAuthenticationTests {
  /// A raw TCP client (no libzmq): connects to 127.0.0.1:port.
  static func rawClient(port: UInt16) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = port.bigEndian
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let rc = withUnsafePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard rc == 0 else { throw ZMQError(code: errno, function: "connect") }
    var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    return fd
  }

  /// The ZMTP 3.0 greeting of a client announcing `mechanism` (RFC 23: signature, version 3.0,
  /// mechanism padded to 20 bytes, as-server 0, 31 bytes of filler).
  static func greeting(_ mechanism: String) -> [UInt8] {
    [0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 3, 0] + Array(mechanism.utf8) + [UInt8](repeating: 0, count: 20 - mechanism.utf8.count)
      + [0] + [UInt8](repeating: 0, count: 31)
  }

  static func port(_ s: Socket) -> UInt16 { UInt16(s.lastEndpoint.split(separator: ":").last!)! }

  @Test func anUnauthenticatedClientCannotPushMoreThanTheCap() throws {
    let context = try Context()
    defer { context.shutdown() }
    let server = try Socket(context, .router)
    try server.setMaxMessageSize(4096)
    try server.makeCurveServer(try CurveKeyPair.generate())
    try server.bind("tcp://127.0.0.1:*")
    let fd = try Self.rawClient(port: Self.port(server))
    defer { close(fd) }
    // A CURVE greeting, then a command frame that claims 512 MB (flags: long + command).
    var bytes = Self.greeting("CURVE") + [0x06]
    withUnsafeBytes(of: UInt64(512 << 20).bigEndian) { bytes += $0 }
    #expect(send(fd, bytes, bytes.count, Int32(MSG_NOSIGNAL)) == bytes.count)
    // The server closes the connection once it reads the frame's size: sending stops within
    // far less than the claimed 512 MB.
    let chunk = [UInt8](repeating: 0x41, count: 64 << 10)
    var sent = 0
    let until = Date().addingTimeInterval(10)
    while Date() < until {
      let n = send(fd, chunk, chunk.count, Int32(MSG_NOSIGNAL))
      if n < 0 {
        if errno == EAGAIN || errno == EWOULDBLOCK { usleep(10_000); continue }
        break  // EPIPE / ECONNRESET: the server hung up
      }
      sent += n
      if sent > 64 << 20 { break }
    }
    #expect(sent < 16 << 20, "the server kept reading: \(sent) bytes accepted")
  }

  @Test func failedHandshakesAreSeenAsTheyHappen() throws {
    let context = try Context()
    defer { context.shutdown() }
    let server = try Socket(context, .router)
    let serverKeys = try CurveKeyPair.generate()
    try server.makeCurveServer(serverKeys)
    let events = Mutex<[SocketMonitor.Event]>([])
    _ = try SocketMonitor(server, context: context, name: "test") { e in events.withLock { $0.append(e) } }
    try server.bind("tcp://127.0.0.1:*")
    // A client with no security mechanism at all.
    let plain = try Socket(context, .dealer)
    try plain.connect(server.lastEndpoint)
    try plain.send([Array("hello".utf8)], dontWait: true)
    // A CURVE client that expects another server key: its vouch/box cannot be opened.
    let wrong = try Socket(context, .dealer)
    try wrong.makeCurveClient(try CurveKeyPair.generate(), serverKey: try CurveKeyPair.generate().publicKey)
    try wrong.connect(server.lastEndpoint)
    try wrong.send([Array("hello".utf8)], dontWait: true)
    let until = Date().addingTimeInterval(10)
    while events.withLock({ $0.count }) < 2 && Date() < until { usleep(20_000) }
    let seen = events.withLock { $0 }
    // One event per failed connection: libzmq names the mechanism mismatch or the bad box, or
    // reports a failure without detail when the peer hung up first.
    #expect(seen.count >= 2 && seen.allSatisfy { !$0.reason.isEmpty }, "\(seen.map(\.reason))")
    #expect(seen.allSatisfy { $0.endpoint.hasPrefix("tcp://127.0.0.1:") })
  }
}
