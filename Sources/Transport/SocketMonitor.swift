import CZeroMQ
import Foundation

/// Reads a socket's handshake-failure events (zmq_socket_monitor) on a thread of its own and
/// hands each to `onEvent` as it happens: connections that fail before authentication (a NULL
/// or PLAIN client at a CURVE server, a bad CURVE vouch or box, a malformed greeting) never
/// reach the ZAP handler, so this is the only place they are seen.
///
/// Stops when the context is shut down.
public final class SocketMonitor: Sendable {
  public struct Event: Sendable, Equatable {
    /// libzmq's event (ZMQ_EVENT_HANDSHAKE_FAILED_…).
    public let event: UInt16
    /// The event's value: for protocol failures, the ZMQ_PROTOCOL_ERROR_… code.
    public let value: UInt32
    /// The monitored socket's endpoint the connection came in on.
    public let endpoint: String

    /// A short reason, e.g. "mechanism mismatch (a client without CURVE)".
    public var reason: String {
      switch Int32(event) {
      case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL: return "handshake failed"
      case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH: return "authentication refused (status \(value))"
      case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
        switch Int32(bitPattern: value) {
        case ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH: return "mechanism mismatch (a client without CURVE, or with another mechanism)"
        case ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC: return "cryptographic error (a bad CURVE vouch or box)"
        case ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_METADATA: return "invalid metadata"
        case ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_HELLO, ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_INITIATE,
          ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_MESSAGE, ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_READY,
          ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_WELCOME, ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_ERROR,
          ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_UNSPECIFIED:
          return "malformed handshake command"
        default: return "protocol error \(value)"
        }
      default: return "event \(event)"
      }
    }
  }

  /// Starts monitoring `socket` (call on the socket's own thread, before it binds); returns
  /// once the monitor's reader is connected.
  public init(_ socket: Socket, context: Context, name: String, onEvent: @escaping @Sendable (Event) -> Void) throws {
    let endpoint = "inproc://byzsim-monitor-\(name)-\(UInt32.random(in: 0...UInt32.max))"
    try socket.monitorHandshakeFailures(at: endpoint)
    let reader = try Socket(context, .pair)
    try reader.connect(endpoint)
    nonisolated(unsafe) let r = reader  // handed to the thread that alone uses it from here on
    let thread = Thread {
      while true {
        let message: [Message]
        do {
          guard let m = try r.receive() else { continue }
          message = m
        } catch {
          return  // ETERM: the context is shutting down
        }
        guard message.count == 2, message[0].count == 6 else { continue }
        let head = message[0].bytes
        let event = UInt16(head[0]) | UInt16(head[1]) << 8
        let value = UInt32(head[2]) | UInt32(head[3]) << 8 | UInt32(head[4]) << 16 | UInt32(head[5]) << 24
        onEvent(Event(event: event, value: value, endpoint: String(decoding: message[1].bytes, as: UTF8.self)))
      }
    }
    thread.name = "monitor-\(name)"
    thread.start()
  }
}
