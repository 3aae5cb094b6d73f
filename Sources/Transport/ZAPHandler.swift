import CZeroMQ
import Foundation
import Synchronization

/// A ZeroMQ Authentication Protocol handler (RFC 27/ZAP) for CURVE: admits only the public
/// keys it was given and binds each key to one user id (a worker id), which the server reads
/// back from every message as the "User-Id" property — so a worker cannot claim another's id.
/// With `plain`, it also answers PLAIN handshakes (RFC 24): `plain` maps a user name and
/// password to the user id to admit, or nil to refuse.
///
/// It owns a REP socket bound at `inproc://zeromq.zap.01` on its own thread, and stops when
/// the context is shut down.
public final class ZAPHandler: Sendable {
  public struct Refusal: Sendable, Equatable {
    public let address: String
    public let publicKey: String
    public let mechanism: String
  }

  private let state = Mutex<(accepted: Int, refused: [Refusal])>((0, []))
  private let allowed: [String: String]
  private let plain: (@Sendable (_ username: String, _ password: [UInt8]) -> String?)?
  private let onRefusal: (@Sendable (Refusal) -> Void)?

  /// Starts the handler; returns once its socket is bound (so servers created afterwards are covered).
  /// - allowed: Z85 public key → user id.
  /// - onRefusal: called on the handler's thread for each refusal, as it happens.
  /// - plain: for PLAIN handshakes, the user id of a user name and password, or nil (refused).
  public init(
    context: Context, allowed: [String: String], onRefusal: (@Sendable (Refusal) -> Void)? = nil,
    plain: (@Sendable (_ username: String, _ password: [UInt8]) -> String?)? = nil
  ) throws {
    self.allowed = allowed
    self.plain = plain
    self.onRefusal = onRefusal
    let ready = DispatchSemaphore(value: 0)
    let failure = Mutex<(any Error)?>(nil)
    let thread = Thread { [self] in
      let socket: Socket
      do {
        socket = try Socket(context, .rep)
        try socket.bind("inproc://zeromq.zap.01")
      } catch {
        failure.withLock { $0 = error }
        ready.signal()
        return
      }
      ready.signal()
      serve(socket)
    }
    thread.name = "zap"
    thread.start()
    ready.wait()
    if let error = failure.withLock({ $0 }) { throw error }
  }

  /// How many connections were admitted.
  public var accepted: Int { state.withLock { $0.accepted } }
  /// Every refused connection attempt, in order.
  public var refusals: [Refusal] { state.withLock { $0.refused } }

  private func serve(_ socket: Socket) {
    while true {
      let request: [Message]
      do {
        guard let r = try socket.receive() else { continue }
        request = r
      } catch {
        return  // ETERM: the context is shutting down
      }
      let frames = request.map(\.bytes)
      guard frames.count >= 6 else { continue }
      let requestID = frames[1]
      let address = String(decoding: frames[3], as: UTF8.self)
      let mechanism = String(decoding: frames[5], as: UTF8.self)
      var user: String?
      var key = ""
      if mechanism == "CURVE", frames.count >= 7, frames[6].count == 32 {
        key = CurveKeyPair.encode(frames[6])
        user = allowed[key]
      } else if mechanism == "PLAIN", let plain, frames.count >= 8 {
        user = plain(String(decoding: frames[6], as: UTF8.self), frames[7])
      }
      let reply: [[UInt8]]
      if let user {
        state.withLock { $0.accepted += 1 }
        reply = [Array("1.0".utf8), requestID, Array("200".utf8), Array("OK".utf8), Array(user.utf8), []]
      } else {
        let refusal = Refusal(address: address, publicKey: key, mechanism: mechanism)
        state.withLock { $0.refused.append(refusal) }
        onRefusal?(refusal)
        reply = [
          Array("1.0".utf8), requestID, Array("400".utf8),
          Array((mechanism == "PLAIN" ? "unknown user name or password" : "key not in this run").utf8), [], [],
        ]
      }
      do { try socket.send(reply) } catch { return }
    }
  }
}
