import CZeroMQ

#if canImport(Glibc)
import Glibc
#endif

/// An error from libzmq, keeping its errno and the function that failed.
public struct ZMQError: Error, Equatable, CustomStringConvertible {
  public let code: Int32
  public let function: String

  public init(code: Int32, function: String) {
    self.code = code
    self.function = function
  }

  /// libzmq's own errno base (ZMQ_HAUSNUMERO): its complex macros are not imported into Swift.
  static let hausnumero: Int32 = 156_384_712
  /// The context was terminated (ETERM): every blocked call returns this on shutdown.
  public static let terminated: Int32 = hausnumero + 53

  /// A non-blocking call found nothing to do, or a receive timeout expired (EAGAIN).
  public var isWouldBlock: Bool { code == EAGAIN }
  /// The context was shut down (ETERM).
  public var isTerminated: Bool { code == Self.terminated }
  /// The peer cannot be routed to (EHOSTUNREACH with ZMQ_ROUTER_MANDATORY).
  public var isUnroutable: Bool { code == EHOSTUNREACH }

  public var description: String {
    "\(function): \(String(cString: zmq_strerror(code))) (errno \(code))"
  }
}

/// The one funnel every libzmq call goes through: retries EINTR, throws anything else.
@discardableResult
func zmqCall(_ function: String, _ body: () -> Int32) throws -> Int32 {
  while true {
    let rc = body()
    if rc >= 0 { return rc }
    let e = zmq_errno()
    if e == EINTR { continue }
    throw ZMQError(code: e, function: function)
  }
}
