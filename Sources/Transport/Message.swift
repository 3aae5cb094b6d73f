import CZeroMQ

/// One received frame. Owns its zmq_msg_t (heap-allocated so it never moves) and closes it
/// in `deinit`. Not Sendable: use it on the thread that received it.
public final class Message {
  let msg: UnsafeMutablePointer<zmq_msg_t>

  init() {
    msg = .allocate(capacity: 1)
    zmq_msg_init(msg)
  }

  deinit {
    zmq_msg_close(msg)
    msg.deallocate()
  }

  public var count: Int { zmq_msg_size(msg) }

  /// Reads the frame's bytes without copying them.
  public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
    try body(UnsafeRawBufferPointer(start: zmq_msg_data(msg), count: count))
  }

  /// A copy of the frame's bytes.
  public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

  /// A metadata property of the connection that delivered this frame, e.g. "User-Id"
  /// (set by the ZAP handler) or "Peer-Address".
  public func property(_ name: String) -> String? {
    guard let p = zmq_msg_gets(msg, name) else { return nil }
    return String(cString: p)
  }

  var hasMore: Bool { zmq_msg_more(msg) != 0 }
}

/// A frame to send: bytes (copied by libzmq) or a shared Float32 buffer sent zero-copy.
public enum OutgoingFrame {
  case bytes([UInt8])
  case floats(FloatBuffer)
}

/// An immutable-after-fill Float32 buffer that libzmq can send without copying: each
/// message in flight retains it until libzmq's I/O thread is done with it.
/// `@unchecked Sendable`: fill it on one thread before sharing; it is never written after.
public final class FloatBuffer: @unchecked Sendable {
  public let pointer: UnsafeMutablePointer<Float>
  public let count: Int

  public init(count: Int) {
    self.count = count
    pointer = .allocate(capacity: max(count, 1))
    pointer.initialize(repeating: 0, count: count)
  }

  public convenience init(_ values: [Float]) {
    self.init(count: values.count)
    values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: values.count) }
  }

  public var array: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }

  deinit { pointer.deallocate() }
}
