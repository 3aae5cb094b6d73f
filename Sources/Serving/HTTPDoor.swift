import Foundation
import Hummingbird
import Logging

/// The HTTP/JSON front door (Hummingbird): every request goes to `ServingCore`; bodies over the
/// configured size are refused before they are read whole.
public enum HTTPDoor {
  /// Runs the server until SIGINT or SIGTERM. `onListening` gets the bound port (for port 0).
  public static func run(core: ServingCore, onListening: @escaping @Sendable (Int) -> Void) async throws {
    let limit = core.config.maxBodyBytes
    let responder = CallbackResponder<BasicRequestContext> { request, _ in
      let token = bearer(request.headers[.authorization])
      let read = await read(request.body, limit: limit, declared: request.headers[.contentLength].flatMap { Int($0) })
      let binary = request.headers[.contentType]?.hasPrefix("application/octet-stream") ?? false
      let served = ServingRequest(
        method: request.method.rawValue, path: request.uri.path, token: token, body: read.body, bodyProblem: read.problem, binary: binary)
      let answer = core.handle(served)
      return response(answer)
    }
    var logger = Logger(label: "byzsim-serve") { QuietLogHandler(label: $0) }
    logger.logLevel = .warning
    let app = Application(
      responder: responder,
      configuration: .init(address: .hostname(core.config.bind, port: core.config.port), serverName: "byzsim"),
      onServerRunning: { channel in onListening(channel.localAddress?.port ?? core.config.port) },
      logger: logger)
    try await app.runService()
  }

  /// The body's bytes, copied once from the connection's buffers into one array (collecting
  /// them into a ByteBuffer and copying that out cost two copies of every batch), or the
  /// problem: oversized if it is declared or found to be over `limit` (then it is not read
  /// further), unreadable (and why) when the connection failed before the body ended.
  static func read(_ body: RequestBody, limit: Int, declared: Int?) async -> (body: [UInt8], problem: ServingRequest.BodyProblem?) {
    if let declared, declared > limit { return ([], .oversized) }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(min(limit, max(0, declared ?? 0)))
    do {
      for try await chunk in body {
        guard bytes.count + chunk.readableBytes <= limit else { return ([], .oversized) }
        chunk.withUnsafeReadableBytes { bytes.append(contentsOf: $0) }
      }
    } catch {
      return ([], .unreadable("\(error)"))
    }
    return (bytes, nil)
  }

  /// The token of an `Authorization: Bearer TOKEN` header.
  /// Scheme matched without case, spaces and tabs around the token dropped (by hand: Foundation's
  /// trimming cost 3% of a one-input prediction).
  static func bearer(_ header: String?) -> String? {
    guard let header else { return nil }
    let bytes = Array(header.utf8)
    guard bytes.count > 7, String(decoding: bytes[0..<7], as: UTF8.self).lowercased() == "bearer " else { return nil }
    func blank(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 }
    var start = 7, end = bytes.count
    while start < end, blank(bytes[start]) { start += 1 }
    while end > start, blank(bytes[end - 1]) { end -= 1 }
    return String(decoding: bytes[start..<end], as: UTF8.self)
  }

  static func response(_ r: ServingResponse) -> Response {
    var headers: HTTPFields = [.contentType: r.contentType]
    if let seconds = r.retryAfter { headers[.retryAfter] = String(seconds) }
    if r.status == 401 { headers[.wwwAuthenticate] = "Bearer realm=\"byzsim\"" }
    return Response(
      status: HTTPResponse.Status(code: r.status), headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: r.body)))
  }
}
