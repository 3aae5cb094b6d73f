import Data
import Foundation
import Testing
import Transport

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A `byzsim serve` process on loopback, stopped by pid.
final class ServerProcess {
  let process = Process()
  let port: Int
  let output: Pipe
  /// What the server printed on start (its endpoints).
  var banner = ""

  /// `stderr`: a file to collect the server's standard error in (else the test's own).
  init(_ args: [String], stderr: String? = nil) throws {
    process.executableURL = CLI.binary
    process.arguments = ["serve"] + args + ["--port", "0"]
    output = Pipe()
    process.standardOutput = output
    if let stderr {
      try Data().write(to: URL(fileURLWithPath: stderr))
      process.standardError = FileHandle(forWritingAtPath: stderr)
    } else {
      process.standardError = FileHandle.standardError
    }
    try process.run()
    // The first stdout line names the bound port: "... on http://127.0.0.1:PORT".
    var line = Data()
    while !line.contains(0x0A) {
      let chunk = output.fileHandleForReading.availableData
      guard !chunk.isEmpty else { break }
      line.append(chunk)
    }
    var text = String(decoding: line, as: UTF8.self)
    if args.contains(where: { $0.hasSuffix("zmq.toml") }) {
      while !text.contains("zeromq on") {
        let chunk = output.fileHandleForReading.availableData
        guard !chunk.isEmpty else { break }
        text += String(decoding: chunk, as: UTF8.self)
      }
    }
    banner = text
    guard let range = text.range(of: "http://127.0.0.1:"), let p = Int(text[range.upperBound...].prefix { $0.isNumber }) else {
      process.terminate()
      throw ServeTestError("byzsim serve did not start: \(text)")
    }
    port = p
  }

  func stop() {
    kill(process.processIdentifier, SIGTERM)
    process.waitUntilExit()
  }

  /// One request with curl (a real client outside the process): status, headers, body.
  func curl(
    _ method: String, _ path: String, token: String? = nil, body: String? = nil, binary: [UInt8]? = nil, chunked: Bool = false
  ) throws -> (status: Int, headers: String, body: String) {
    let dir = CLI.temporaryDirectory().path
    var args = ["-s", "-X", method, "-D", dir + "/h", "-o", dir + "/b", "http://127.0.0.1:\(port)\(path)"]
    if chunked { args += ["-H", "Transfer-Encoding: chunked"] }
    if let token { args += ["-H", "Authorization: Bearer \(token)"] }
    if let body {
      try body.write(toFile: dir + "/in", atomically: true, encoding: .utf8)
      args += ["--data-binary", "@" + dir + "/in"]
    }
    if let binary {
      try Data(binary).write(to: URL(fileURLWithPath: dir + "/in"))
      args += ["--data-binary", "@" + dir + "/in", "-H", "Content-Type: application/octet-stream"]
    }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
    p.arguments = args
    try p.run()
    p.waitUntilExit()
    let headers = try String(contentsOfFile: dir + "/h", encoding: .utf8)
    let status = Int(headers.split(separator: " ").dropFirst().first ?? "") ?? 0
    return (status, headers, try String(contentsOfFile: dir + "/b", encoding: .utf8))
  }

  /// The same through URLSession.
  func session(_ method: String, _ path: String, token: String?, body: String) async throws -> (Int, String) {
    var r = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
    r.httpMethod = method
    r.httpBody = Data(body.utf8)
    if let token { r.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
    let (data, response) = try await URLSession.shared.data(for: r)
    return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
  }
}

struct ServeTestError: Error, CustomStringConvertible {
  let description: String
  init(_ d: String) { description = d }
}

@Suite(.serialized) struct ServeTests {
  static let tokens = [
    "alice": "alice-token-0123456789", "bob": "bob-token-0123456789", "carol": "carol-token-0123456789",
    "ops": "ops-token-0123456789ab", "root": "root-token-0123456789",
  ]

  /// A deployment file with one credential per policy, and a signed model from a short run.
  static func deployment(extra: String = "", publicKey: String? = nil) throws -> (config: String, model: String, dir: String) {
    let run = try ModelFileTests.fashionRun(rounds: 10)
    let dir = CLI.temporaryDirectory().path
    func hash(_ t: String) -> String {
      (try? CLI.run(["serve", "--hash-token", t]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? ""
    }
    let text = """
      \(publicKey.map { "public_key = \"\($0)\"" } ?? "")
      [server]
      request_log = "\(dir)/requests.jsonl"
      admin_route = true
      max_batch = 64
      \(extra)
      [[credentials]]
      id = "alice"
      role = "predict"
      token_sha256 = "\(hash(tokens["alice"]!))"
      output = "top-k"
      top_k = 2
      budget = 6
      [[credentials]]
      id = "bob"
      role = "predict"
      token_sha256 = "\(hash(tokens["bob"]!))"
      output = "label"
      [[credentials]]
      id = "carol"
      role = "predict"
      token_sha256 = "\(hash(tokens["carol"]!))"
      output = "rounded"
      decimals = 1
      rate = 0.0001
      burst = 1
      [[credentials]]
      id = "ops"
      role = "metrics"
      token_sha256 = "\(hash(tokens["ops"]!))"
      [[credentials]]
      id = "root"
      role = "admin"
      token_sha256 = "\(hash(tokens["root"]!))"
      """
    try text.write(toFile: dir + "/deploy.toml", atomically: true, encoding: .utf8)
    return (dir + "/deploy.toml", run + "/model.safetensors", dir)
  }

  /// A monitor's or query auditor's reference sample: `images` of `set` as CSV rows (4 decimals).
  static func writeReference(_ set: Dataset, images: Range<Int>, to path: String) throws {
    let d = set.shape.size
    let rows = images.map { i in set.features[(i * d)..<((i + 1) * d)].map { String(format: "%.4f", $0) }.joined(separator: ",") }
    try rows.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
  }

  static func input(_ value: Double = 0.2, count: Int = 1) -> String {
    let one = "[" + Array(repeating: String(value), count: 784).joined(separator: ",") + "]"
    return count == 1 ? "{\"input\": \(one)}" : "{\"inputs\": [" + Array(repeating: one, count: count).joined(separator: ",") + "]}"
  }

  @Test func rolesPoliciesLimitsAndBadBodies() async throws {
    let (config, model, dir) = try Self.deployment()
    let server = try ServerProcess([model, "--config", config])
    defer { server.stop() }
    let t = Self.tokens
    // 401 without a credential or with an unknown one; 403 for the wrong role; 404 for a route that is off.
    let anonymous = try server.curl("POST", "/v1/predict", body: Self.input())
    #expect(anonymous.status == 401 && anonymous.headers.contains("WWW-Authenticate: Bearer"))
    #expect(try server.curl("POST", "/v1/predict", token: "not-a-token-at-all", body: Self.input()).status == 401)
    #expect(try server.curl("POST", "/v1/predict", token: t["ops"], body: Self.input()).status == 403)
    #expect(try server.curl("GET", "/metrics", token: t["alice"]).status == 403)
    #expect(try server.curl("POST", "/v1/admin/reload", token: t["bob"]).status == 403)
    #expect(try server.curl("GET", "/v1/model", token: t["root"]).status == 404)
    #expect(try server.curl("GET", "/healthz").status == 200)
    // Each policy's output, through URLSession.
    let (s1, alice) = try await server.session("POST", "/v1/predict", token: t["alice"], body: Self.input())
    let (s2, bob) = try await server.session("POST", "/v1/predict", token: t["bob"], body: Self.input())
    let (s3, carol) = try await server.session("POST", "/v1/predict", token: t["carol"], body: Self.input())
    #expect(s1 == 200 && s2 == 200 && s3 == 200, "\(alice) \(bob) \(carol)")
    func output(_ s: String) throws -> [String: Any] {
      let json = try #require(try JSONSerialization.jsonObject(with: Data(s.utf8)) as? [String: Any])
      return try #require((json["outputs"] as? [[String: Any]])?.first)
    }
    let a = try output(alice), b = try output(bob), c = try output(carol)
    #expect((a["top"] as? [[String: Any]])?.count == 2 && a["probabilities"] == nil)
    #expect(Set(b.keys) == ["label"])
    let rounded = try #require(c["probabilities"] as? [Double])
    #expect(rounded.count == 10 && rounded.allSatisfy { ($0 * 10).rounded() == $0 * 10 })
    #expect(a["label"] as? Int == b["label"] as? Int && b["label"] as? Int == c["label"] as? Int)
    // carol's bucket (0.0001/s, burst 1) is empty: 429 with Retry-After, the whole seconds until a
    // token is back — 10,000 right after her request, less if the machine was slow to send this one
    // (a refill takes 10,000 s: at 0.01/s a loaded machine once took over 100 s between the two).
    let limited = try server.curl("POST", "/v1/predict", token: t["carol"], body: Self.input())
    let retry = limited.headers.split(separator: "\r\n").first { $0.hasPrefix("Retry-After: ") }.flatMap { Int($0.dropFirst(13)) }
    #expect(limited.status == 429 && (1...10_000).contains(retry ?? 0), "\(limited.headers)")
    // alice's budget of 6 predictions: 1 used, a batch of 4 fits, then 2 do not.
    #expect(try server.curl("POST", "/v1/predict", token: t["alice"], body: Self.input(count: 4)).status == 200)
    let over = try server.curl("POST", "/v1/predict", token: t["alice"], body: Self.input(count: 2))
    #expect(over.status == 429 && over.body.contains("budget"), "\(over.body)")
    // Malformed bodies: 400 with a reason, and the server still answers.
    for (body, reason) in [
      ("{\"input\": [1, 2]}", "the model takes 784"), ("{\"input\": [NaN]}", "expected a number"), ("not json", "expected '{'"),
      (Self.input(count: 65), "more than 64 inputs"), ("{\"input\": [1e999" + String(repeating: ",0", count: 783) + "]}", "out of range"),
    ] {
      let r = try server.curl("POST", "/v1/predict", token: t["bob"], body: body)
      #expect(r.status == 400 && r.body.contains(reason), "\(body.prefix(40)): \(r.status) \(r.body)")
    }
    let huge = try server.curl("POST", "/v1/predict", token: t["bob"], body: String(repeating: "1", count: 9 << 20))
    #expect(huge.status == 413)
    // Without a Content-Length (chunked), the body is read until it passes the limit.
    let hugeChunked = try server.curl("POST", "/v1/predict", token: t["bob"], body: String(repeating: "1", count: 9 << 20), chunked: true)
    #expect(hugeChunked.status == 413, "\(hugeChunked.headers)")
    let chunked = try server.curl("POST", "/v1/predict", token: t["bob"], body: Self.input(), chunked: true)
    #expect(chunked.status == 200, "\(chunked.body)")
    #expect(try server.curl("POST", "/v1/predict", token: t["bob"], body: Self.input()).status == 200)
    // The same input as little-endian Float32 gets the same label; a size that is not whole inputs is refused.
    var raw: [UInt8] = []
    for _ in 0..<784 { withUnsafeBytes(of: Float(0.2).bitPattern.littleEndian) { raw += $0 } }
    let binary = try server.curl("POST", "/v1/predict", token: t["bob"], binary: raw)
    #expect(binary.status == 200 && binary.body.contains("\"label\":\(b["label"] as? Int ?? -1)}"), "\(binary.body)")
    #expect(try server.curl("POST", "/v1/predict", token: t["bob"], binary: Array(raw.dropLast())).status == 400)
    // Metrics in Prometheus's text format, for the metrics role.
    let metrics = try server.curl("GET", "/metrics", token: t["ops"])
    #expect(
      metrics.status == 200 && metrics.body.contains("byzsim_serve_requests_total{route=\"/v1/predict\",role=\"predict\",status=\"429\"}"))
    #expect(
      metrics.body.contains("byzsim_serve_budget_remaining{credential=\"alice\"} 1")
        && metrics.body.contains("byzsim_serve_predictions_total"))
    // Every request is in the log, with its credential and status.
    let log = try String(contentsOfFile: dir + "/requests.jsonl", encoding: .utf8).split(separator: "\n")
    let entries = try log.map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
    #expect(entries.count == 25, "\(entries.count) log lines")
    #expect(entries.filter { $0["credential"] as? String == "bob" && $0["status"] as? Int == 413 }.count == 2)
    #expect(entries.contains { $0["credential"] as? String == "carol" && $0["status"] as? Int == 429 })
    #expect(
      entries.filter { $0["status"] as? Int == 200 && $0["route"] as? String == "/v1/predict" }.allSatisfy {
        ($0["input_sha256"] as? String)?.count == 64 && $0["output"] != nil
      })
  }

  /// Reloads while four clients predict: no request fails, each sees one whole model.
  @Test func reloadUnderLoad() async throws {
    let (config, model, dir) = try Self.deployment()
    let server = try ServerProcess([model, "--config", config])
    defer { server.stop() }
    let bob = Self.tokens["bob"]!, root = Self.tokens["root"]!
    let port = server.port
    let statuses = try await withThrowingTaskGroup(of: [Int].self) { group in
      for _ in 0..<4 {
        group.addTask {
          var seen: [Int] = []
          for _ in 0..<40 {
            var r = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/v1/predict")!)
            r.httpMethod = "POST"
            r.httpBody = Data(Self.input().utf8)
            r.setValue("Bearer \(bob)", forHTTPHeaderField: "Authorization")
            let (_, response) = try await URLSession.shared.data(for: r)
            seen.append((response as? HTTPURLResponse)?.statusCode ?? 0)
          }
          return seen
        }
      }
      group.addTask {
        var seen: [Int] = []
        for _ in 0..<10 {
          var r = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/v1/admin/reload")!)
          r.httpMethod = "POST"
          r.setValue("Bearer \(root)", forHTTPHeaderField: "Authorization")
          let (_, response) = try await URLSession.shared.data(for: r)
          seen.append((response as? HTTPURLResponse)?.statusCode ?? 0)
        }
        return seen
      }
      var all: [Int] = []
      for try await s in group { all += s }
      return all
    }
    #expect(statuses.count == 170 && statuses.allSatisfy { $0 == 200 }, "\(Dictionary(grouping: statuses) { $0 }.mapValues(\.count))")
    // A changed model file is refused on reload; the old one keeps serving.
    var bytes = try Data(contentsOf: URL(fileURLWithPath: model))
    bytes[bytes.count - 1] ^= 1
    try bytes.write(to: URL(fileURLWithPath: model))
    let refused = try server.curl("POST", "/v1/admin/reload", token: root)
    #expect(refused.status == 409 && refused.body.contains("changed after signing"), "\(refused.body)")
    #expect(try server.curl("POST", "/v1/predict", token: bob, body: Self.input()).status == 200)
    _ = dir
  }

  /// A real Prometheus (Debian's) scrapes the server with the metrics credential; the request
  /// count is read back through Prometheus's query API.
  @Test func prometheusScrapesTheServer() async throws {
    let (config, model, dir) = try Self.deployment()
    let server = try ServerProcess([model, "--config", config])
    defer { server.stop() }
    for _ in 0..<3 { _ = try server.curl("POST", "/v1/predict", token: Self.tokens["bob"], body: Self.input()) }
    let prometheus = try PrometheusProcess(scraping: server.port, token: Self.tokens["ops"]!, dir: dir)
    defer { prometheus.stop() }
    let promPort = prometheus.port
    let query = "byzsim_serve_requests_total%7Broute%3D%22%2Fv1%2Fpredict%22%2Cstatus%3D%22200%22%7D"
    var value: String?
    for _ in 0..<60 where value == nil {
      try await Task.sleep(for: .milliseconds(500))
      guard let url = URL(string: "http://127.0.0.1:\(promPort)/api/v1/query?query=\(query)"),
        let (data, _) = try? await URLSession.shared.data(from: url),
        let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
        let results = (json["data"] as? [String: Any])?["result"] as? [[String: Any]], let first = results.first
      else { continue }
      value = (first["value"] as? [Any])?.last as? String
    }
    #expect(value == "3", "Prometheus reported \(value ?? "nothing")")
  }

  static func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = 0
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
    _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
    return Int(UInt16(bigEndian: addr.sin_port))
  }
}

/// A real Prometheus (Debian's) on loopback scraping one `byzsim serve` every second with a
/// metrics token, optionally evaluating rule files; stopped by pid.
final class PrometheusProcess {
  let process = Process()
  let port: Int

  init(scraping target: Int, token: String, dir: String, ruleFiles: [String] = []) throws {
    port = try ServeTests.freePort()
    let rules = ruleFiles.isEmpty ? "" : "rule_files:\n" + ruleFiles.map { "  - \($0)\n" }.joined()
    try """
    global:
      scrape_interval: 1s
      evaluation_interval: 1s
    \(rules)scrape_configs:
      - job_name: byzsim
        metrics_path: /metrics
        authorization:
          type: Bearer
          credentials: \(token)
        static_configs:
          - targets: ['127.0.0.1:\(target)']
    """.write(toFile: dir + "/prometheus.yml", atomically: true, encoding: .utf8)
    process.executableURL = URL(fileURLWithPath: "/usr/bin/prometheus")
    process.arguments = [
      "--config.file=\(dir)/prometheus.yml", "--storage.tsdb.path=\(dir)/tsdb", "--web.listen-address=127.0.0.1:\(port)",
      "--log.level=warn",
    ]
    process.standardError = FileHandle(forWritingAtPath: "/dev/null")
    try process.run()
  }

  func stop() {
    kill(process.processIdentifier, SIGTERM)
    process.waitUntilExit()
  }
}

/// The ZeroMQ door with real CURVE peers: a credential's key gets its role; an unknown key is
/// refused by ZAP and never answered.
@Suite(.serialized) struct ZMQDoorTests {
  /// A deployment with the ZeroMQ door on a fresh server key (DIR/server.key) and `credentials`
  /// ([[credentials]] tables), written to DIR/zmq.toml.
  /// With `plain`, the door speaks PLAIN instead (no key file).
  static func deployment(credentials: String, plain: Bool = false) throws -> (dir: String, serverKeys: CurveKeyPair) {
    let dir = CLI.temporaryDirectory().path
    let serverKeys = try CurveKeyPair.generate()
    try (serverKeys.secretKey + "\n").write(toFile: dir + "/server.key", atomically: true, encoding: .utf8)
    try """
    [server]
    request_log = "\(dir)/requests.jsonl"
    zmq_endpoint = "tcp://127.0.0.1:*"
    \(plain ? "zmq_security = \"plain\"" : "zmq_secret_key_file = \"\(dir)/server.key\"")
    \(credentials)
    """.write(toFile: dir + "/zmq.toml", atomically: true, encoding: .utf8)
    return (dir, serverKeys)
  }

  /// A running `byzsim serve` of `run`'s model with the door and `credentials` (stderr to
  /// DIR/stderr if asked), and the door's endpoint.
  struct Door {
    let server: ServerProcess, endpoint: String, dir: String, serverKeys: CurveKeyPair
    init(_ run: String, credentials: String, plain: Bool = false, keepStderr: Bool = false) throws {
      (dir, serverKeys) = try ZMQDoorTests.deployment(credentials: credentials, plain: plain)
      let server = try ServerProcess(
        [run + "/model.safetensors", "--config", dir + "/zmq.toml"], stderr: keepStderr ? dir + "/stderr" : nil)
      let banner = server.banner
      self.server = server
      endpoint = try #require(banner.range(of: "zeromq on ").map { String(banner[$0.upperBound...].prefix { $0 != " " }) })
    }

    /// A CURVE DEALER with `keys`, connected.
    func dealer(_ context: Context, _ keys: CurveKeyPair, timeoutMilliseconds: Int) throws -> Socket {
      let s = try Socket(context, .dealer)
      try s.makeCurveClient(keys, serverKey: serverKeys.publicKey)
      try s.setReceiveTimeout(milliseconds: timeoutMilliseconds)
      try s.connect(endpoint)
      return s
    }
  }

  @Test func curveKeysCarryRoles() throws {
    let run = try ModelFileTests.fashionRun(rounds: 10)
    let zed = try CurveKeyPair.generate(), ops = try CurveKeyPair.generate(), stranger = try CurveKeyPair.generate()
    let door = try Door(
      run,
      credentials: """
        [[credentials]]
        id = "zed"
        role = "predict"
        curve_public_key = "\(zed.publicKey)"
        output = "label"
        [[credentials]]
        id = "zops"
        role = "metrics"
        curve_public_key = "\(ops.publicKey)"
        """)
    defer { door.server.stop() }
    #expect(door.server.banner.contains(door.serverKeys.publicKey))
    let context = try Context()
    defer { context.shutdown() }
    func ask(_ keys: CurveKeyPair, _ frames: [[UInt8]]) throws -> [String]? {
      let s = try door.dealer(context, keys, timeoutMilliseconds: 2000)
      try s.send(frames)
      return try s.receive()?.map { String(decoding: $0.bytes, as: UTF8.self) }
    }
    let body = Array(ServeTests.input().utf8)
    let ok = try #require(try ask(zed, [Array("POST /v1/predict".utf8), Array("application/json".utf8), body]))
    #expect(ok.count == 4 && ok[0] == "200" && ok[2].contains("{\"label\":"), "\(ok)")
    let forbidden = try #require(try ask(ops, [Array("POST /v1/predict".utf8), Array("application/json".utf8), body]))
    #expect(forbidden[0] == "403")
    let metrics = try #require(try ask(ops, [Array("GET /metrics".utf8), Array("text/plain".utf8), []]))
    #expect(metrics[0] == "200" && metrics[2].contains("byzsim_serve_requests_total"))
    let malformed = try #require(try ask(zed, [Array("POST /v1/predict".utf8), Array("application/json".utf8)]))
    #expect(malformed.count == 4 && malformed[0] == "400" && malformed[2].contains("expected 3 frames"), "\(malformed)")
    #expect(try ask(stranger, [Array("POST /v1/predict".utf8), Array("application/json".utf8), body]) == nil)
    // The one-frame form: METHOD PATH LF content type LF body, answered as status LF content type
    // LF Retry-After LF body — on the door's thread (a prediction) and through a worker (/metrics).
    let one = try #require(try ask(zed, [Array("POST /v1/predict\napplication/json\n".utf8) + body]))
    #expect(one.count == 1 && one[0].hasPrefix("200\napplication/json\n\n{") && one[0].contains("{\"label\":"), "\(one)")
    let oneMetrics = try #require(try ask(ops, [Array("GET /metrics\ntext/plain\n".utf8)]))
    #expect(oneMetrics.count == 1 && oneMetrics[0].hasPrefix("200\n") && oneMetrics[0].contains("byzsim_serve_requests_total"))
    let oneForbidden = try #require(try ask(zed, [Array("GET /metrics\ntext/plain\n".utf8)]))
    #expect(oneForbidden.count == 1 && oneForbidden[0].hasPrefix("403\n"), "\(oneForbidden)")
    let oneMalformed = try #require(try ask(zed, [Array("POST /v1/predict".utf8)]))
    #expect(oneMalformed.count == 1 && oneMalformed[0].hasPrefix("400\ntext/plain\n\nexpected one frame"), "\(oneMalformed)")
  }

  /// The door in PLAIN: a client is admitted with a credential's id and token (the token checked
  /// against its SHA-256, as over HTTP) and gets that credential's role; a wrong token, another
  /// credential's id with this token, or a CURVE client are refused by ZAP and never answered.
  @Test func plainTokensCarryRoles() throws {
    let run = try ModelFileTests.fashionRun(rounds: 2)
    let zedToken = "zed-token-0123456789", opsToken = "ops-token-0123456789"
    // The SHA-256 of zed's token, computed independently (Python: hashlib.sha256(b"zed-token-0123456789").hexdigest()).
    let door = try Door(
      run,
      credentials: """
        [[credentials]]
        id = "zed"
        role = "predict"
        token_sha256 = "b09c183936552d426257aa2b9b84417b56d184e8c546305f0d1f3651612a8bd5"
        output = "label"
        [[credentials]]
        id = "zops"
        role = "metrics"
        token = "\(opsToken)"
        """, plain: true)
    defer { door.server.stop() }
    #expect(door.server.banner.contains("(PLAIN: credential id and token)"), "\(door.server.banner)")
    let context = try Context()
    defer { context.shutdown() }
    func ask(user: String, token: String, _ frame: [UInt8]) throws -> String? {
      let s = try Socket(context, .dealer)
      try s.makePlainClient(username: user, password: token)
      try s.setReceiveTimeout(milliseconds: 2000)
      try s.connect(door.endpoint)
      try s.send([frame])
      return try s.receive().map { String(decoding: $0[0].bytes, as: UTF8.self) }
    }
    let predict = Array("POST /v1/predict\napplication/json\n".utf8) + Array(ServeTests.input().utf8)
    let ok = try #require(try ask(user: "zed", token: zedToken, predict))
    #expect(ok.hasPrefix("200\napplication/json\n\n{") && ok.contains("{\"label\":"), "\(ok)")
    #expect(try ask(user: "zops", token: opsToken, predict)?.hasPrefix("403\n") == true)
    #expect(try ask(user: "zops", token: opsToken, Array("GET /metrics\ntext/plain\n".utf8))?.hasPrefix("200\n") == true)
    #expect(try ask(user: "zed", token: "zed-token-wrong-0000", predict) == nil)
    #expect(try ask(user: "zops", token: zedToken, predict) == nil)
    #expect(try ask(user: "nobody", token: zedToken, predict) == nil)
    let curve = try door.dealer(context, try CurveKeyPair.generate(), timeoutMilliseconds: 1000)
    try curve.send([predict])
    #expect(try curve.receive() == nil)
    let log = try String(contentsOfFile: door.dir + "/requests.jsonl", encoding: .utf8).split(separator: "\n")
    #expect(log.count == 3 && log[0].contains("\"credential\":\"zed\"") && log[1].contains("\"credential\":\"zops\""), "\(log)")
  }

  /// One client with 120 requests in flight, mixed, in both forms (frames and one frame):
  /// predictions (answered on the door's thread, the MLP being cheap), a route its role may not
  /// use (through the workers) and requests of the wrong shape (answered by the door, not logged).
  /// Each gets its own answer, in the form it was asked in; the log has a line for each of the others.
  @Test func manyRequestsInFlightGetTheirOwnAnswers() throws {
    let run = try ModelFileTests.fashionRun(rounds: 2)
    let client = try CurveKeyPair.generate()
    let door = try Door(
      run,
      credentials: """
        [[credentials]]
        id = "zed"
        role = "predict"
        curve_public_key = "\(client.publicKey)"
        output = "label"
        """)
    defer { door.server.stop() }
    let context = try Context()
    defer { context.shutdown() }
    let dealer = try door.dealer(context, client, timeoutMilliseconds: 10_000)
    let body = Array(ServeTests.input().utf8)
    var expected: [String: Int] = [:]
    for i in 0..<120 {
      let status: String
      switch i % 8 {
      case 2:
        try dealer.send([Array("POST /v1/predict".utf8), Array("application/json".utf8)])
        status = "400 frames"
      case 4:
        try dealer.send([Array("GET /metrics".utf8), Array("text/plain".utf8), []])
        status = "403 frames"
      case 5:
        try dealer.send([Array("POST /v1/predict\napplication/json\n".utf8) + body])
        status = "200 one"
      case 6:
        try dealer.send([Array("GET /metrics\ntext/plain\n".utf8)])
        status = "403 one"
      case 7:
        try dealer.send([Array("POST /v1/predict".utf8)])
        status = "400 one"
      default:
        try dealer.send([Array("POST /v1/predict".utf8), Array("application/json".utf8), body])
        status = "200 frames"
      }
      expected[status, default: 0] += 1
    }
    var seen: [String: Int] = [:]
    for _ in 0..<120 {
      let reply = try #require(try dealer.receive()).map { String(decoding: $0.bytes, as: UTF8.self) }
      // Status, content type, body (and Retry-After) from either form.
      let parts =
        reply.count == 1 ? reply[0].split(separator: "\n", maxSplits: 3, omittingEmptySubsequences: false).map(String.init) : reply
      #expect(reply.count == 4 || (reply.count == 1 && parts.count == 4), "\(reply)")
      let status = parts[0], body = reply.count == 1 ? parts[3] : parts[2]
      seen[status + (reply.count == 1 ? " one" : " frames"), default: 0] += 1
      if status == "200" { #expect(body.contains("{\"label\":"), "\(reply)") }
      if status == "403" { #expect(body.contains("needs metrics"), "\(reply)") }
    }
    #expect(seen == expected)
    let log = try String(contentsOfFile: door.dir + "/requests.jsonl", encoding: .utf8).split(separator: "\n")
    #expect(log.count == 90 && log.filter { $0.contains("\"status\":403") }.count == 30, "\(log.count) lines")
  }

  /// SIGTERM with batched CNN predictions queued at the ZeroMQ door and running over HTTP: the server
  /// stops taking requests, lets the running ones finish and exits 0. (Before, it exited with
  /// predictions in flight and crashed in OpenBLAS, whose buffers exit had freed, under
  /// `byzsim-bench serve` three runs out of three.)
  @Test func sigtermUnderLoadExitsCleanly() throws {
    // The CNN: a batch of 256 takes tens of milliseconds, a wide window for SIGTERM to land in.
    let run = try ModelFileTests.fashionRun(rounds: 2, model: "kind = \"cnn\"")
    let client = try CurveKeyPair.generate()
    let token = "load-token"
    let digest = try CLI.run(["serve", "--hash-token", token]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    let door = try Door(
      run,
      credentials: """
        [[credentials]]
        id = "zed"
        role = "predict"
        curve_public_key = "\(client.publicKey)"
        [[credentials]]
        id = "web"
        role = "predict"
        token_sha256 = "\(digest)"
        """, keepStderr: true)
    let (server, dir) = (door.server, door.dir)
    let context = try Context()
    defer { context.shutdown() }
    let dealer = try door.dealer(context, client, timeoutMilliseconds: 10_000)
    let batch = Array(ServeTests.input(0.3, count: 256).utf8)
    for _ in 0..<200 { try dealer.send([Array("POST /v1/predict".utf8), Array("application/json".utf8), batch]) }
    #expect(try dealer.receive()?.first.map { String(decoding: $0.bytes, as: UTF8.self) } == "200")  // the door is busy
    try ServeTests.input(0.3, count: 256).write(toFile: dir + "/batch.json", atomically: true, encoding: .utf8)
    let curls = (0..<4).map { _ in
      let p = Process()
      p.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
      p.arguments = [
        "-s", "-o", "/dev/null", "-H", "Authorization: Bearer \(token)", "-H", "Content-Type: application/json", "--data-binary",
        "@\(dir)/batch.json", "http://127.0.0.1:\(server.port)/v1/predict?[1-100]",
      ]
      return p
    }
    for c in curls { try c.run() }
    Thread.sleep(forTimeInterval: 0.3)
    kill(server.process.processIdentifier, SIGTERM)
    server.process.waitUntilExit()
    for c in curls { c.terminate(); c.waitUntilExit() }
    let stderr = try String(contentsOfFile: dir + "/stderr", encoding: .utf8)
    #expect(server.process.terminationReason == .exit && server.process.terminationStatus == 0, "\(stderr)")
    #expect(!stderr.contains("crashed"), "\(stderr)")
  }
}

/// audit-serving from the command line: exit 1 on a high finding.
@Suite struct AuditServingCommandTests {
  @Test func exitStatusFollowsTheWorstFinding() throws {
    let dir = CLI.temporaryDirectory().path
    try "[server]\nbind = \"0.0.0.0\"\nauthentication = false\n".write(toFile: dir + "/open.toml", atomically: true, encoding: .utf8)
    let r = try CLI.run(["audit-serving", dir + "/open.toml", "--json"])
    #expect(r.status == 1 && r.stdout.contains("open-bind-without-auth") && r.stdout.contains("critical"), "\(r.stdout)")
    let refused = try CLI.run(["serve", "--config", dir + "/open.toml", "/nonexistent.safetensors"])
    #expect(refused.status != 0 && refused.stderr.contains("refusing to serve on 0.0.0.0 without authentication"), "\(refused.stderr)")
  }
}
