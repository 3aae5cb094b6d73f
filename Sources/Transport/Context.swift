import CZeroMQ

/// A libzmq context. libzmq contexts are thread-safe, so one context is shared by all the
/// threads of a process (`@unchecked Sendable`: the handle is only passed to libzmq calls).
public final class Context: @unchecked Sendable {
  let handle: UnsafeMutableRawPointer

  public init(ioThreads: Int = 1) throws {
    guard let h = zmq_ctx_new() else { throw ZMQError(code: zmq_errno(), function: "zmq_ctx_new") }
    handle = h
    try zmqCall("zmq_ctx_set") { zmq_ctx_set(h, ZMQ_IO_THREADS, Int32(ioThreads)) }
  }

  /// Wakes every blocked call on every socket of this context with ETERM. Idempotent.
  public func shutdown() {
    _ = zmq_ctx_shutdown(handle)
  }

  deinit {
    // zmq_ctx_term blocks until every socket is closed; sockets close in their own deinit.
    while zmq_ctx_term(handle) != 0 && zmq_errno() == EINTR {}
  }

  /// libzmq's version as "major.minor.patch".
  public static var libraryVersion: String {
    var major: Int32 = 0, minor: Int32 = 0, patch: Int32 = 0
    zmq_version(&major, &minor, &patch)
    return "\(major).\(minor).\(patch)"
  }

  /// Whether this libzmq supports CURVE security.
  public static var hasCurve: Bool { zmq_has("curve") != 0 }
}

#if canImport(Glibc)
import Glibc
#endif
