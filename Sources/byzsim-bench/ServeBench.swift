import ArgumentParser
import Artifacts
import Crypto
import Foundation
import Learning
import Tensor
import Transport

/// `byzsim-bench serve`: `byzsim serve` under Debian's `wrk` on loopback (aims, issue 16: MLP,
/// one input per request, 64 connections, at least 10,000 requests/s with p99 at most 5 ms;
/// batched, at least 200,000 predictions/s; the CNN's figures stated). The server is the real
/// binary with authentication on (a bearer token per request), the request log and metrics.
struct ServeBench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "serve",
    abstract: "Requests/s and p99 of byzsim serve under wrk (aims: 10,000 req/s, p99 ≤ 5 ms; 200,000 predictions/s batched).")
  @Option(help: "Seconds per measurement.")
  var seconds = 5
  @Option(help: "Concurrent connections.")
  var connections = 64
  @Option(help: "Requests/s offered by the open-loop run (latency from each request's due time).")
  var rate = 10_000.0
  @Option(parsing: .upToNextOption, help: "Models to serve (mlp, cnn).")
  var models: [ModelKind] = [.mlp, .cnn]
  @Option(parsing: .upToNextOption, help: "Front doors to load (http, zmq); the ZeroMQ aim needs both.")
  var doors: [Door] = [.http, .zmq]

  enum Door: String, ExpressibleByArgument, CaseIterable {
    case http, zmq
  }

  func run() throws {
    guard FileManager.default.isExecutableFile(atPath: "/usr/bin/wrk") else {
      throw ValidationError("wrk is not installed (apt-get install wrk)")
    }
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("byzsim-bench-serve-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let key = Curve25519.Signing.PrivateKey()
    try Signing.publicPEM(key.publicKey).write(toFile: dir + "/owner.pub", atomically: true, encoding: .utf8)
    let token = "bench-token-" + UUID().uuidString
    let digest = SHA256.hash(data: Array(token.utf8)).map { String(format: "%02x", $0) }.joined()
    let shape = ImageShape(height: 28, width: 28, channels: 1)
    let serverKeys = try CurveKeyPair.generate(), clientKeys = try CurveKeyPair.generate()
    try (serverKeys.secretKey + "\n").write(toFile: dir + "/server.key", atomically: true, encoding: .utf8)
    var failures: [String] = []
    let all = [(ModelKind.mlp, "MLP", ModelSpec(kind: .mlp, hidden: [100])), (.cnn, "CNN", ModelSpec(kind: .cnn))]
    for (kind, name, spec) in all where models.contains(kind) {
      let model = dir + "/\(name).safetensors"
      let parameters = spec.makeNetwork(input: shape, classes: 10, seed: 1).parameters
      let metadata = ["byzsim.model": spec.description, "byzsim.input": "28x28x1", "byzsim.classes": "10"]
      let bytes = SafeTensorsFile(metadata: metadata, tensors: ModelExport.tensors(parameters, spec: spec, input: shape, classes: 10))
        .encoded()
      try Data(bytes).write(to: URL(fileURLWithPath: model))
      try Data(try Signing.envelope(for: bytes, name: "\(name).safetensors", key: key)).write(to: URL(fileURLWithPath: model + ".sig"))
      let credentials = """
        [[credentials]]
        id = "zmq"
        role = "predict"
        curve_public_key = "\(clientKeys.publicKey)"
        output = "top-k"
        [[credentials]]
        id = "bench"
        role = "predict"
        token_sha256 = "\(digest)"
        output = "top-k"
        """
      // The deployment, with a CURVE ZeroMQ door or a PLAIN one (the bench's token as its password).
      func deploy(plain: Bool) -> String {
        """
        public_key = "\(dir)/owner.pub"
        [server]
        port = 0
        request_log = "\(dir)/\(name)-\(plain ? "plain-" : "")requests.jsonl"
        max_batch = 256
        zmq_endpoint = "tcp://127.0.0.1:*"
        \(plain ? "zmq_security = \"plain\"" : "zmq_secret_key_file = \"\(dir)/server.key\"")
        """
      }
      try (deploy(plain: false) + "\n" + credentials).write(toFile: dir + "/deploy.toml", atomically: true, encoding: .utf8)
      try (deploy(plain: true) + "\n" + credentials).write(toFile: dir + "/deploy-plain.toml", atomically: true, encoding: .utf8)
      let server = try Self.startServer(model: model, config: dir + "/deploy.toml")
      defer {
        kill(server.process.processIdentifier, SIGTERM)
        server.process.waitUntilExit()
      }
      var httpRate = Double.nan
      for (batch, binary) in [(1, false), (1, true), (256, false), (256, true)] where doors.contains(.http) {
        let result = try wrk(port: server.port, token: token, batch: batch, binary: binary, dir: dir)
        if result.errors > 0 { failures.append("\(name) batch \(batch): \(result.errors) non-2xx responses or socket errors") }
        let label = "\(name), \(batch == 1 ? "1 input per request" : "\(batch) per request, \(binary ? "Float32" : "JSON")")"
        if batch == 1 && binary {
          print(String(format: "  %-36@ %9.0f req/s   p99 %6.2f ms", "\(name), 1 input, Float32, wrk" as NSString, result.rate, result.p99))
        } else if batch == 1 {
          httpRate = result.rate
          let saturated = "\(name), 1 input, wrk (saturated)"
          print(String(format: "  %-36@ %9.0f req/s   p99 %6.2f ms", saturated as NSString, result.rate, result.p99))
          guard name == "MLP" else { continue }
          let open = try OpenLoop.http(
            port: server.port, request: try Self.httpRequest(token: token, body: dir + "/body.json"), rate: rate, connections: connections,
            seconds: Double(seconds))
          if open.failures > 0 {
            failures.append("\(name) open loop: \(open.failures) failed requests (first: \(open.firstFailure ?? "?"))")
          }
          let met = result.rate >= 10_000 && open.rate >= 0.99 * rate && open.percentile(0.99) <= 5
          let aim = "   aims ≥ 10,000 req/s with p99 ≤ 5 ms: \(met ? "met" : "NOT met")"
          print(
            String(
              format: "  %-36@ %9.0f req/s   p99 %6.2f ms   (p50 %.2f, p99.9 %.2f)",
              "\(name), 1 input, open loop at \(Int(rate))/s" as NSString, open.rate, open.percentile(0.99), open.percentile(0.5),
              open.percentile(0.999)) + aim)
        } else {
          let predictions = result.rate * Double(batch)
          let aim =
            name == "MLP" && binary
            ? "   aim ≥ 200,000 predictions/s: \(predictions >= 200_000 ? "met" : "NOT met")" : "   (figures stated)"
          print(String(format: "  %-36@ %9.0f predictions/s   p99 %6.2f ms", label as NSString, predictions, result.p99) + aim)
        }
      }
      let curve = ZMQClient.curve(serverKey: serverKeys.publicKey, keys: clientKeys)
      let phases: [(ZMQClient, Bool, Bool)] = [(curve, false, false), (curve, true, false), (curve, false, true), (curve, true, true)]
      // PLAIN, the HTTP door's security (a bearer token in the clear), from a second server.
      let plain = doors.contains(.zmq) ? try Self.startServer(model: model, config: dir + "/deploy-plain.toml") : nil
      defer {
        if let plain {
          kill(plain.process.processIdentifier, SIGTERM)
          plain.process.waitUntilExit()
        }
      }
      let plainPhases: [(ZMQClient, Bool, Bool)] = [
        (.plain(user: "bench", token: token), false, true), (.plain(user: "bench", token: token), true, true),
      ]
      for (client, binary, oneFrame) in phases + plainPhases where doors.contains(.zmq) {
        let endpoint = client.isPlain ? plain!.zmq : server.zmq
        let z = try zmqDoor(endpoint: endpoint, client: client, binary: binary, oneFrame: oneFrame)
        if z.errors > 0 { failures.append("\(name), ZeroMQ door: \(z.errors) answers other than 200") }
        let aim =
          name != "MLP"
          ? "   (figures stated)"
          : httpRate.isNaN
            ? "   (aim ≥ 2× HTTP JSON: measure with --doors http zmq)"
            : "   aim ≥ 2× HTTP JSON (\(String(format: "%.0f", 2 * httpRate))): \(z.rate >= 2 * httpRate ? "met" : "NOT met")"
        let label =
          "\(name), ZeroMQ door\(client.isPlain ? " (PLAIN)" : ""), 1 input\(binary ? ", Float32" : "")\(oneFrame ? ", one frame" : "")"
        print(String(format: "  %-36@ %9.0f req/s   p99 %6.2f ms", label as NSString, z.rate, z.p99) + aim)
      }
    }
    if !failures.isEmpty { throw ValidationError(failures.joined(separator: "; ")) }
  }

  /// How the bench's DEALER authenticates to the ZeroMQ door.
  enum ZMQClient {
    case curve(serverKey: String, keys: CurveKeyPair)
    case plain(user: String, token: String)
    var isPlain: Bool {
      if case .plain = self { true } else { false }
    }
  }

  /// One DEALER (CURVE or PLAIN) keeping `connections` requests in flight for `seconds`; the
  /// input as JSON or as 784 little-endian Float32s, the request as three frames or in the
  /// one-frame form.
  func zmqDoor(endpoint: String, client: ZMQClient, binary: Bool, oneFrame: Bool) throws -> Result {
    var rng = RandomStream(seed: 3, purpose: .benchmark)
    let pixels = (0..<784).map { _ in (rng.nextDouble() * 1000).rounded() / 1000 }
    var body: [UInt8] = []
    if binary {
      for p in pixels { withUnsafeBytes(of: Float(p).bitPattern.littleEndian) { body += $0 } }
    } else {
      body = Array("{\"input\":[\(pixels.map { String($0) }.joined(separator: ","))]}".utf8)
    }
    let context = try Context()
    defer { context.shutdown() }
    let socket = try Socket(context, .dealer)
    switch client {
    case .curve(let serverKey, let keys): try socket.makeCurveClient(keys, serverKey: serverKey)
    case .plain(let user, let token): try socket.makePlainClient(username: user, password: token)
    }
    try socket.setReceiveTimeout(milliseconds: 5000)
    try socket.connect(endpoint)
    let contentType = binary ? "application/octet-stream" : "application/json"
    let request: [[UInt8]] =
      oneFrame
      ? [Array("POST /v1/predict\n\(contentType)\n".utf8) + body]
      : [Array("POST /v1/predict".utf8), Array(contentType.utf8), body]
    let ok = Array((oneFrame ? "200\n" : "200").utf8)
    var sent: [ContinuousClock.Instant] = []
    var head = 0
    var latencies: [Double] = []
    for _ in 0..<connections {
      try socket.send(request)
      sent.append(.now)
    }
    let start = ContinuousClock.now
    var errors = 0
    while ContinuousClock.now - start < .seconds(seconds) {
      guard let reply = try socket.receive() else { throw ValidationError("no reply from the ZeroMQ door within 5 s") }
      let status = reply.first?.bytes ?? []
      if oneFrame ? !status.starts(with: ok) : status != ok { errors += 1 }
      let d = (ContinuousClock.now - sent[head]).components
      latencies.append(Double(d.seconds) * 1000 + Double(d.attoseconds) / 1e15)
      head += 1
      try socket.send(request)
      sent.append(.now)
    }
    let elapsed = (ContinuousClock.now - start).components
    latencies.sort()
    let p99 = latencies.isEmpty ? .nan : latencies[min(latencies.count - 1, latencies.count * 99 / 100)]
    return Result(rate: Double(latencies.count) / (Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18), p99: p99, errors: errors)
  }

  static func startServer(model: String, config: String) throws -> (process: Process, port: Int, zmq: String) {
    let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("byzsim")
    let p = Process()
    p.executableURL = binary
    p.arguments = ["serve", model, "--config", config]
    let out = Pipe()
    p.standardOutput = out
    try p.run()
    var text = ""
    while !text.contains("zeromq on") {
      let chunk = out.fileHandleForReading.availableData
      guard !chunk.isEmpty else { break }
      text += String(decoding: chunk, as: UTF8.self)
    }
    guard let r = text.range(of: "http://127.0.0.1:"), let port = Int(text[r.upperBound...].prefix { $0.isNumber }),
      let z = text.range(of: "zeromq on ")
    else {
      p.terminate()
      throw ValidationError("byzsim serve did not start: \(text)")
    }
    return (p, port, String(text[z.upperBound...].prefix { $0 != " " }))
  }

  /// A whole POST /v1/predict request with the body in `path`.
  static func httpRequest(token: String, body path: String) throws -> [UInt8] {
    let body = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
    let head =
      "POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\n"
      + "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n"
    return Array(head.utf8) + body
  }

  struct Result {
    var rate: Double
    var p99: Double
    var errors: Int
  }

  func wrk(port: Int, token: String, batch: Int, binary: Bool, dir: String) throws -> Result {
    var rng = RandomStream(seed: 3, purpose: .benchmark)
    let pixels = (0..<(batch * 784)).map { _ in (rng.nextDouble() * 1000).rounded() / 1000 }
    if binary {
      var raw: [UInt8] = []
      for p in pixels { withUnsafeBytes(of: Float(p).bitPattern.littleEndian) { raw += $0 } }
      try Data(raw).write(to: URL(fileURLWithPath: dir + "/body.json"))
    } else {
      let inputs = (0..<batch).map { i in "[" + pixels[(i * 784)..<((i + 1) * 784)].map { String($0) }.joined(separator: ",") + "]" }
      let body = batch == 1 ? "{\"input\":\(inputs[0])}" : "{\"inputs\":[\(inputs.joined(separator: ","))]}"
      try body.write(toFile: dir + "/body.json", atomically: true, encoding: .utf8)
    }
    try """
    wrk.method = "POST"
    local f = io.open("\(dir)/body.json", "rb")
    wrk.body = f:read("*a")
    f:close()
    wrk.headers["Authorization"] = "Bearer \(token)"
    wrk.headers["Content-Type"] = "\(binary ? "application/octet-stream" : "application/json")"
    """.write(toFile: dir + "/post.lua", atomically: true, encoding: .utf8)
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/wrk")
    p.arguments = [
      "-t", "1", "-c", String(batch == 1 ? connections : 8), "-d", "\(seconds)s", "--latency", "-s", dir + "/post.lua",
      "http://127.0.0.1:\(port)/v1/predict",
    ]
    let out = Pipe()
    p.standardOutput = out
    try p.run()
    let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    func number(after marker: String) -> Double? {
      guard let r = text.range(of: marker) else { return nil }
      let rest = text[r.upperBound...].drop { $0 == " " }
      return Double(rest.prefix { $0.isNumber || $0 == "." })
    }
    guard let rate = number(after: "Requests/sec:") else { throw ValidationError("wrk printed no rate: \(text)") }
    // "99%    4.12ms" (or us / s).
    var p99 = Double.nan
    if let r = text.range(of: " 99% ") {
      let rest = text[r.upperBound...].drop { $0 == " " }
      let digits = rest.prefix { $0.isNumber || $0 == "." }
      let unit = rest.dropFirst(digits.count).prefix { $0.isLetter }
      p99 = (Double(digits) ?? .nan) * (unit == "us" ? 0.001 : unit == "s" ? 1000 : 1)
    }
    let errors = Int(number(after: "Non-2xx or 3xx responses:") ?? 0) + (text.contains("Socket errors") ? 1 : 0)
    return Result(rate: rate, p99: p99, errors: errors)
  }
}
