import CZeroMQ

#if canImport(Glibc)
import Glibc
#endif

/// A libzmq socket. Sockets are not thread-safe: create and use each one on a single thread
/// (the type is deliberately not Sendable). Closed with linger 0 in `deinit`.
public final class Socket {
  public enum Kind: Sendable {
    case router, dealer, req, rep, pair, push, pull
    var raw: Int32 {
      switch self {
      case .router: return ZMQ_ROUTER
      case .dealer: return ZMQ_DEALER
      case .req: return ZMQ_REQ
      case .rep: return ZMQ_REP
      case .pair: return ZMQ_PAIR
      case .push: return ZMQ_PUSH
      case .pull: return ZMQ_PULL
      }
    }
  }

  let handle: UnsafeMutableRawPointer

  /// The libzmq socket pointer, for benchmarks that compare against raw libzmq calls.
  public var rawHandle: UnsafeMutableRawPointer { handle }

  public init(_ context: Context, _ kind: Kind) throws {
    guard let h = zmq_socket(context.handle, kind.raw) else {
      throw ZMQError(code: zmq_errno(), function: "zmq_socket")
    }
    handle = h
    try set(ZMQ_LINGER, 0)
  }

  deinit { zmq_close(handle) }

  public func bind(_ endpoint: String) throws {
    try zmqCall("zmq_bind(\(endpoint))") { zmq_bind(handle, endpoint) }
  }

  public func connect(_ endpoint: String) throws {
    try zmqCall("zmq_connect(\(endpoint))") { zmq_connect(handle, endpoint) }
  }

  /// The endpoint actually bound (resolves `tcp://127.0.0.1:*` to its port).
  public var lastEndpoint: String {
    var buffer = [CChar](repeating: 0, count: 256)
    var size = buffer.count
    _ = zmq_getsockopt(handle, ZMQ_LAST_ENDPOINT, &buffer, &size)
    return cText(buffer)
  }

  // MARK: Options

  public func set(_ option: Int32, _ value: Int32) throws {
    var v = value
    try zmqCall("zmq_setsockopt(\(option))") { zmq_setsockopt(handle, option, &v, MemoryLayout<Int32>.size) }
  }

  public func set(_ option: Int32, bytes: [UInt8]) throws {
    try zmqCall("zmq_setsockopt(\(option))") {
      bytes.withUnsafeBytes { zmq_setsockopt(handle, option, $0.baseAddress, $0.count) }
    }
  }

  /// A string option, passed with its terminating NUL (how libzmq takes Z85 keys: size 41).
  public func set(_ option: Int32, string: String) throws {
    try set(option, bytes: Array(string.utf8) + [0])
  }

  public func set(_ option: Int32, int64 value: Int64) throws {
    var v = value
    try zmqCall("zmq_setsockopt(\(option))") { zmq_setsockopt(handle, option, &v, MemoryLayout<Int64>.size) }
  }

  /// The largest message part this socket accepts from a peer (ZMQ_MAXMSGSIZE): a larger
  /// frame — also a handshake command, before any authentication — closes that connection
  /// before its body is read.
  public func setMaxMessageSize(_ bytes: Int) throws { try set(ZMQ_MAXMSGSIZE, int64: Int64(bytes)) }

  /// Publishes this socket's handshake-failure events on a PAIR endpoint (`inproc://…`), for a
  /// `SocketMonitor` to read: zmq_socket_monitor with ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL and
  /// _PROTOCOL (a refusal by the ZAP handler, _AUTH, is recorded there, with the key).
  public func monitorHandshakeFailures(at endpoint: String) throws {
    let events = ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
    try zmqCall("zmq_socket_monitor(\(endpoint))") { zmq_socket_monitor(handle, endpoint, events) }
  }

  /// Milliseconds a receive waits before EAGAIN (-1: forever).
  public func setReceiveTimeout(milliseconds: Int) throws { try set(ZMQ_RCVTIMEO, Int32(milliseconds)) }
  public func setSendTimeout(milliseconds: Int) throws { try set(ZMQ_SNDTIMEO, Int32(milliseconds)) }
  /// How long the context's termination waits for this socket's queued messages after close
  /// (0 by default: drop them).
  public func setLinger(milliseconds: Int) throws { try set(ZMQ_LINGER, Int32(milliseconds)) }
  /// This socket's routing identity as seen by a ROUTER peer.
  public func setRoutingID(_ id: [UInt8]) throws { try set(ZMQ_ROUTING_ID, bytes: id) }
  /// How soon a disconnected socket retries its connection.
  public func setReconnectInterval(milliseconds: Int) throws { try set(ZMQ_RECONNECT_IVL, Int32(milliseconds)) }
  /// ROUTER: fail with EHOSTUNREACH instead of silently dropping messages to unknown peers.
  public func setRouterMandatory() throws { try set(ZMQ_ROUTER_MANDATORY, 1) }

  /// Make this socket a CURVE server with `keys`.
  public func makeCurveServer(_ keys: CurveKeyPair) throws {
    try set(ZMQ_CURVE_SERVER, 1)
    try set(ZMQ_CURVE_SECRETKEY, string: keys.secretKey)
  }

  /// Make this socket a ZMTP PLAIN server (RFC 24): clients send a user name and password in the
  /// handshake, which a ZAP handler checks; nothing is encrypted afterwards.
  public func makePlainServer() throws { try set(ZMQ_PLAIN_SERVER, 1) }

  /// Make this socket a ZMTP PLAIN client with `username` and `password` (sent in the clear).
  public func makePlainClient(username: String, password: String) throws {
    // The bytes without a terminating NUL: libzmq takes the option's length as the field's.
    try set(ZMQ_PLAIN_USERNAME, bytes: Array(username.utf8))
    try set(ZMQ_PLAIN_PASSWORD, bytes: Array(password.utf8))
  }

  /// Make this socket a CURVE client of the server whose public key is `serverKey`.
  public func makeCurveClient(_ keys: CurveKeyPair, serverKey: String) throws {
    try set(ZMQ_CURVE_SERVERKEY, string: serverKey)
    try set(ZMQ_CURVE_PUBLICKEY, string: keys.publicKey)
    try set(ZMQ_CURVE_SECRETKEY, string: keys.secretKey)
  }

  // MARK: Sending

  /// Sends a multipart message. Float buffers go zero-copy (retained until libzmq frees them).
  /// With `dontWait`, throws a would-block error instead of blocking.
  public func send(_ frames: [OutgoingFrame], dontWait: Bool = false) throws {
    for (i, frame) in frames.enumerated() {
      var flags: Int32 = dontWait ? ZMQ_DONTWAIT : 0
      if i < frames.count - 1 { flags |= ZMQ_SNDMORE }
      switch frame {
      case let .bytes(b):
        try zmqCall("zmq_send") { b.withUnsafeBytes { zmq_send(handle, $0.baseAddress, $0.count, flags) } }
      case let .floats(buffer):
        let msg = UnsafeMutablePointer<zmq_msg_t>.allocate(capacity: 1)
        defer { msg.deallocate() }
        let owner = Unmanaged.passRetained(buffer).toOpaque()
        let rc = zmq_msg_init_data(
          msg, buffer.pointer, buffer.count * MemoryLayout<Float>.size,
          { _, hint in
            Unmanaged<FloatBuffer>.fromOpaque(hint!).release()
          }, owner)
        if rc != 0 {
          Unmanaged<FloatBuffer>.fromOpaque(owner).release()
          throw ZMQError(code: zmq_errno(), function: "zmq_msg_init_data")
        }
        do {
          try zmqCall("zmq_msg_send") { zmq_msg_send(msg, handle, flags) }
        } catch {
          zmq_msg_close(msg)  // releases the buffer through the free function
          throw error
        }
      }
    }
  }

  public func send(_ parts: [[UInt8]], dontWait: Bool = false) throws {
    try send(parts.map { .bytes($0) }, dontWait: dontWait)
  }

  // MARK: Receiving

  /// Receives one whole multipart message; nil if none arrived before the receive timeout
  /// (or at once, with `dontWait`).
  public func receive(dontWait: Bool = false) throws -> [Message]? {
    var parts: [Message] = []
    repeat {
      let m = Message()
      do {
        try zmqCall("zmq_msg_recv") { zmq_msg_recv(m.msg, handle, dontWait && parts.isEmpty ? ZMQ_DONTWAIT : 0) }
      } catch let e as ZMQError where e.isWouldBlock && parts.isEmpty {
        return nil
      }
      parts.append(m)
    } while parts.last!.hasMore
    return parts
  }

  /// Waits up to `timeoutMilliseconds` (-1: forever) for any of `sockets` to be readable;
  /// returns which are.
  public static func poll(_ sockets: [Socket], timeoutMilliseconds: Int) throws -> [Bool] {
    var items = sockets.map { zmq_pollitem_t(socket: $0.handle, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0) }
    try zmqCall("zmq_poll") { zmq_poll(&items, Int32(items.count), timeoutMilliseconds) }
    return items.map { $0.revents & Int16(ZMQ_POLLIN) != 0 }
  }
}
