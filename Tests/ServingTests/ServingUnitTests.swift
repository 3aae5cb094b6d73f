import Artifacts
import Foundation
import Learning
import Runtime
import TestSupport
import Tensor
import Testing

@testable import Serving

/// Deployment files: what they accept, and errors that name the file, line and key.
@Suite struct DeployConfigTests {
  let token = String(repeating: "t", count: 20)

  @Test func aFullFileDecodes() throws {
    let c = try DeployConfig.decode(
      """
      model = "m.safetensors"
      [server]
      port = 9000
      weights_route = true
      [[credentials]]
      id = "alice"
      role = "predict"
      token_sha256 = "\(DeployConfig.sha256(token))"
      output = "top-k"
      top_k = 2
      budget = 10
      rate = 5.5
      burst = 4
      """, file: "d.toml")
    #expect(c.port == 9000 && c.weightsRoute && !c.adminRoute && c.bind == "127.0.0.1")
    let a = try #require(c.credentials.first)
    #expect(a.role == .predict && a.policy == OutputPolicy(kind: .topK, topK: 2) && a.budget == 10 && a.rate == 5.5 && a.burst == 4)
    // SHA-256 of 20 't's, computed independently (Python: hashlib.sha256(b"t" * 20).hexdigest()).
    #expect(a.tokenSHA256 == "f7bcc697a58656ad052bac61faf8ccfa01af31262327c326d5a54f2cb27aad23")
  }

  @Test func errorsNameFileLineAndKey() {
    func message(_ text: String) -> String {
      do { _ = try DeployConfig.decode(text, file: "d.toml"); return "no error" } catch { return "\(error)" }
    }
    #expect(message("[server]\nprot = 1\n").hasPrefix("d.toml:2: server.prot: unknown key (did you mean port?"))
    #expect(message("[server]\nport = \"x\"\n") == "d.toml:2: server.port: expected an integer, found a string \"x\"")
    #expect(
      message("[server]\nbind = \"0.0.0.0\"\nauthentication = false\n").contains("refusing to serve on 0.0.0.0 without authentication"))
    #expect(
      message("[[credentials]]\nid = \"a\"\nrole = \"root\"\ntoken = \"\(token)\"\n").contains(
        "d.toml:3: credentials[0].role: expected one of predict, weights, admin, metrics"))
    #expect(message("[[credentials]]\nid = \"a\"\nrole = \"predict\"\ntoken = \"short\"\n").contains("at least 16 characters"))
    #expect(message("[server]\nzmq_endpoint = \"tcp://x\"\n").contains("zmq_secret_key_file"))
    #expect(message("").contains("no [[credentials]]"))
    #expect(message("[server]\nzmq_security = \"none\"\n").hasPrefix("d.toml:2: server.zmq_security: expected one of curve, plain"))
    #expect(
      message("[server]\nzmq_security = \"plain\"\n").hasPrefix(
        "d.toml:2: server.zmq_security: applies only to the ZeroMQ door: add zmq_endpoint"))
    #expect(message("[server]\nport = 1\nzmq_secret_key_file = \"k\"\n").hasPrefix("d.toml:3: server.zmq_secret_key_file: applies only"))
    let credential = "[[credentials]]\nid = \"a\"\nrole = \"predict\"\ntoken = \"\(token)\"\n"
    #expect(
      message("[server]\nzmq_endpoint = \"tcp://0.0.0.0:5555\"\nzmq_security = \"plain\"\n" + credential).contains(
        "refusing zmq_security = \"plain\" on tcp://0.0.0.0:5555: PLAIN sends tokens in the clear"))
    #expect(
      message("[server]\nzmq_endpoint = \"ipc:///tmp/d\"\nzmq_security = \"plain\"\nzmq_secret_key_file = \"k\"\n" + credential)
        .hasPrefix("d.toml:4: server.zmq_secret_key_file: no key is used with zmq_security = \"plain\""))
  }

  /// A PLAIN ZeroMQ door needs no key and only a loopback endpoint; CURVE stays the default.
  @Test func theZeroMQDoorsSecurity() throws {
    let credential = "[[credentials]]\nid = \"a\"\nrole = \"predict\"\ntoken_sha256 = \"\(DeployConfig.sha256(token))\"\n"
    let plain = try DeployConfig.decode(
      "[server]\nzmq_endpoint = \"tcp://127.0.0.1:*\"\nzmq_security = \"plain\"\n" + credential, file: "d.toml")
    #expect(plain.zmqSecurity == .plain && plain.zmqSecretKeyFile == nil)
    let curve = try DeployConfig.decode(
      "[server]\nzmq_endpoint = \"tcp://127.0.0.1:*\"\nzmq_secret_key_file = \"k\"\n" + credential, file: "d.toml")
    #expect(curve.zmqSecurity == .curve && curve.zmqSecretKeyFile == "k")
    for endpoint in ["ipc:///tmp/x", "tcp://127.0.0.1:5555", "tcp://127.0.0.1:*", "tcp://localhost:1", "tcp://[::1]:5555"] {
      #expect(DeployConfig.isLoopbackEndpoint(endpoint), "\(endpoint)")
    }
    for endpoint in ["tcp://0.0.0.0:5555", "tcp://10.0.0.5:1", "tcp://*:5555", "tcp://[::]:5555", "inproc://x", "tcp://eth0:1"] {
      #expect(!DeployConfig.isLoopbackEndpoint(endpoint), "\(endpoint)")
    }
  }
}

/// Output policies on probabilities worked by hand.
@Suite struct OutputPolicyTests {
  let p = [0.125, 0.625, 0.25]

  @Test func eachPolicyShowsWhatItSays() {
    var rng = RandomStream(seed: 1, purpose: .noise)
    #expect(OutputPolicy(kind: .label).shape(p, rng: &rng) == #"{"label":1}"#)
    #expect(OutputPolicy(kind: .full).shape(p, rng: &rng) == #"{"label":1,"probabilities":[0.125,0.625,0.25]}"#)
    #expect(
      OutputPolicy(kind: .topK, topK: 2).shape(p, rng: &rng)
        == #"{"label":1,"top":[{"class":1,"probability":0.625},{"class":2,"probability":0.25}]}"#)
    // 0.125 → 0.13 (half away from zero), 0.625 → 0.63, 0.25 → 0.25.
    #expect(OutputPolicy(kind: .rounded, decimals: 2).shape(p, rng: &rng) == #"{"label":1,"probabilities":[0.13,0.63,0.25]}"#)
    #expect(OutputPolicy(kind: .rounded, decimals: 0).shape(p, rng: &rng) == #"{"label":1,"probabilities":[0,1,0]}"#)
  }

  @Test func topKTakesTheLargestAndBreaksTiesByClass() {
    var rng = RandomStream(seed: 1, purpose: .noise)
    let tied = [0.25, 0.125, 0.25, 0.375]
    // Worked by hand: 0.375 (class 3), then the tie 0.25 (classes 0 and 2) in class order.
    #expect(OutputPolicy.top(3, of: tied) == [3, 0, 2] && OutputPolicy.top(9, of: tied) == [3, 0, 2, 1])
    #expect(
      OutputPolicy(kind: .topK, topK: 2).shape(tied, rng: &rng)
        == #"{"label":3,"top":[{"class":3,"probability":0.375},{"class":0,"probability":0.25}]}"#)
    let wide = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0]
    #expect(OutputPolicy(kind: .label).shape(wide, rng: &rng) == #"{"label":11}"#)
  }

  @Test func noiseIsSeededAndKeepsADistribution() throws {
    var a = RandomStream(seed: 7, purpose: .noise, 3)
    var b = RandomStream(seed: 7, purpose: .noise, 3)
    let policy = OutputPolicy(kind: .full, noise: 0.05)
    let x = policy.shape(p, rng: &a)
    #expect(x == policy.shape(p, rng: &b) && x != OutputPolicy(kind: .full).shape(p, rng: &a))
    let json = try #require(try JSONSerialization.jsonObject(with: Data(x.utf8)) as? [String: Any])
    let probs = try #require(json["probabilities"] as? [Double])
    #expect(abs(probs.reduce(0, +) - 1) < 1e-6 && probs.allSatisfy { $0 >= 0 && $0 <= 1 })
  }
}

/// Token buckets and budgets with a clock the test controls.
@Suite struct AdmissionTests {
  func credential(budget: Int? = nil, rate: Double? = nil, burst: Int = 1) -> Credential {
    Credential(
      id: "c", role: .predict, tokenSHA256: "", plainText: false, policy: OutputPolicy(), budget: budget, trusted: false, rate: rate,
      burst: burst)
  }

  @Test func theBucketRefillsAtItsRate() {
    let a = Admission()
    let c = credential(rate: 2, burst: 2)
    let t0 = ContinuousClock.now
    #expect(a.admit(c, predictions: 1, now: t0) == .admitted)
    #expect(a.admit(c, predictions: 1, now: t0) == .admitted)
    #expect(a.admit(c, predictions: 1, now: t0) == .rateLimited(retryAfter: 1))
    // Half a second at 2 per second refills one token.
    #expect(a.admit(c, predictions: 1, now: t0 + .milliseconds(500)) == .admitted)
    #expect(a.admit(c, predictions: 1, now: t0 + .milliseconds(500)) == .rateLimited(retryAfter: 1))
  }

  @Test func theBudgetCountsPredictionsNotRequests() {
    let a = Admission()
    let c = credential(budget: 5)
    #expect(a.admit(c, predictions: 3) == .admitted)
    #expect(a.admit(c, predictions: 3) == .budgetExhausted(remaining: 2))
    #expect(a.admit(c, predictions: 2) == .admitted && a.remaining(c) == 0)
    #expect(a.admit(c, predictions: 1) == .budgetExhausted(remaining: 0))
  }
}

/// Predict bodies: valid ones parse; every malformed kind is refused with its reason.
@Suite struct PredictInputsTests {
  func parse(_ s: String, size: Int = 3, maxBatch: Int = 4) -> String {
    do {
      let p = try PredictInputs.decode(Array(s.utf8), inputSize: size, maxBatch: maxBatch)
      return "\(p.count):\(p.values)"
    } catch { return "error: \(error)" }
  }

  @Test func validBodies() {
    #expect(parse(#"{"input": [0, 0.5, 1]}"#) == "1:[0.0, 0.5, 1.0]")
    #expect(parse(#" { "inputs" : [[1,2,3],[4e-1,5,-6]] } "#) == "2:[1.0, 2.0, 3.0, 0.4, 5.0, -6.0]")
  }

  /// The fast path reads what Float(String) reads, on 10⁵ seeded decimals (up to 12 digits, so
  /// some pass 2^24 and fall back), and leaves alone what it cannot read exactly.
  @Test func fastNumbersMatchTheStandardParser() {
    var rng = RandomStream(seed: 16, purpose: .benchmark)
    var fast = 0
    for _ in 0..<100_000 {
      let digits = 1 + rng.nextInt(below: 12)
      var text = String(rng.nextInt(below: 10))
      let point = rng.nextInt(below: digits + 1)
      for k in 1..<digits { text += (k == point ? "." : "") + String(rng.nextInt(below: 10)) }
      if rng.nextInt(below: 3) == 0 { text = "-" + text }
      let bytes = Array((text + ",").utf8)
      if let (value, end) = bytes.withUnsafeBufferPointer({ JSONNumbers.fastNumber($0, 0) }) {
        #expect(value == Float(text) && end == bytes.count - 1, "\(text)")
        fast += 1
      }
    }
    #expect(fast > 50_000)
    func read(_ text: String) -> Float? { Array(text.utf8).withUnsafeBufferPointer { JSONNumbers.fastNumber($0, 0)?.0 } }
    #expect(read("0.5") == 0.5 && read("-0.125]") == -0.125 && read("16777215") == 16_777_215)
    // Left to Float(String): a trailing point, an exponent, a sign, a mantissa of 2^24, 11 decimals.
    for text in ["5.", "1e5", "+1", "1-", "16777216", "0.12345678901", ".5", "-", "1.5e"] { #expect(read(text) == nil, "\(text)") }
    #expect(parse(#"{"input": [5., 1e-1, +2]}"#) == "1:[5.0, 0.1, 2.0]")
  }

  @Test func malformedBodies() {
    let cases: [(String, String)] = [
      (#"{"input": [0, 0.5]}"#, "has 2 numbers; the model takes 3"),
      (#"{"input": [0, 0.5, 1, 2]}"#, "more than 3 numbers"),
      (#"{"input": [NaN, 0, 0]}"#, "expected a number"),
      (#"{"input": [1e40, 0, 0]}"#, "out of range"),
      (#"{"input": [0, 0, 0], "x": 1}"#, "expected '}'"),
      (#"{"inputz": [0, 0, 0]}"#, "unknown key \"inputz\""),
      (#"{"inputs": []}"#, "an empty batch"),
      (#"{"inputs": [[0,0,0],[0,0,0],[0,0,0],[0,0,0],[0,0,0]]}"#, "more than 4 inputs"),
      (#"{"input": [0, 0, 0]} x"#, "trailing data"),
      (#"{"input": "abc"}"#, "expected '['"),
      ("", "expected '{'"),
      ("[1,2,3]", "expected '{'"),
      (#"{"input": [0, 0, "#, "expected a number"),
    ]
    for (body, reason) in cases {
      let r = parse(body)
      #expect(r.hasPrefix("error: malformed predict body") && r.contains(reason), "\(body): \(r)")
    }
  }
}

/// Binary predict bodies: little-endian Float32s, every value finite.
@Suite struct BinaryBodyTests {
  static func bytes(_ values: [Float]) -> [UInt8] {
    values.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
  }

  @Test func finiteValuesAreTakenAsSent() throws {
    // The extremes of the finite range, subnormals (0x116c2 is about 1e-40), signed zeros.
    let values: [Float] = [
      .greatestFiniteMagnitude, -.greatestFiniteMagnitude, .leastNonzeroMagnitude, -.leastNormalMagnitude, 0, -0.0, 0.5,
      Float(bitPattern: 0x0001_16c2),
    ]
    let inputs = try PredictInputs.decodeBinary(Self.bytes(values), inputSize: 4, maxBatch: 2)
    #expect(inputs.count == 2 && inputs.values.map(\.bitPattern) == values.map(\.bitPattern))
  }

  @Test func eachNonFiniteValueIsNamed() {
    for (index, bad) in [(0, Float.nan), (5, Float.infinity), (7, -Float.infinity), (3, Float(bitPattern: 0x7fc0_0001))] {
      var values = [Float](repeating: 1, count: 8)
      values[index] = bad
      #expect(throws: PredictInputs.Invalid.self) { try PredictInputs.decodeBinary(Self.bytes(values), inputSize: 4, maxBatch: 2) }
      do {
        _ = try PredictInputs.decodeBinary(Self.bytes(values), inputSize: 4, maxBatch: 2)
      } catch {
        #expect("\(error)".contains("input \(index / 4), value \(index % 4) is"), "\(error)")
      }
    }
    #expect(!PredictInputs.allFinite([1, 2, .nan]) && PredictInputs.allFinite([1, 2, .greatestFiniteMagnitude]))
  }
}

/// audit-serving on good and bad deployment files.
@Suite struct ServingAuditTests {
  func rules(_ text: String) throws -> [String] {
    ServingAudit.audit(try DeployConfig.decode(text, file: "d.toml", checks: false)).map { "\($0.severity.rawValue):\($0.rule)" }
  }
  let hash = DeployConfig.sha256(String(repeating: "k", count: 24))

  @Test func aCarefulFileHasNoFindings() throws {
    #expect(
      try rules(
        """
        [[credentials]]
        id = "app"
        role = "predict"
        token_sha256 = "\(hash)"
        output = "label"
        budget = 100000
        rate = 50
        """
      ).isEmpty)
  }

  @Test func eachMistakeIsFound() throws {
    #expect(try rules("[server]\nbind = \"0.0.0.0\"\nauthentication = false\n").contains("critical:open-bind-without-auth"))
    #expect(try rules("[server]\nauthentication = false\nadmin_route = true\n").contains("high:management-without-auth"))
    let plain = try rules("[[credentials]]\nid = \"a\"\nrole = \"predict\"\ntoken = \"\(String(repeating: "p", count: 20))\"\n")
    #expect(
      plain.contains("high:token-in-plain-text") && plain.contains("medium:full-probabilities")
        && plain.contains("medium:no-budget-or-rate"))
    #expect(
      try rules(
        "[server]\nbind = \"10.0.0.5\"\n[[credentials]]\nid = \"a\"\nrole = \"predict\"\ntoken_sha256 = \"\(hash)\"\noutput = \"label\"\nrate = 1\n"
      ) == ["medium:bearer-tokens-in-clear"])
    #expect(
      try rules("[server]\nweights_route = true\n[[credentials]]\nid = \"w\"\nrole = \"weights\"\ntoken_sha256 = \"\(hash)\"\n").contains(
        "medium:weights-unlimited"))
    #expect(
      try rules(
        "[server]\nzmq_endpoint = \"tcp://*:5555\"\nzmq_security = \"plain\"\n[[credentials]]\nid = \"a\"\nrole = \"predict\"\ntoken_sha256 = \"\(hash)\"\noutput = \"label\"\nrate = 1\n"
      ) == ["high:zmq-plain-off-loopback"])
    #expect(
      try rules("[server]\nmetrics_per_credential = true\n[[credentials]]\nid = \"m\"\nrole = \"metrics\"\ntoken_sha256 = \"\(hash)\"\n")
        == ["low:metrics-per-credential"])
  }
}

@Suite struct RequestLogTests {
  /// Python: datetime.fromtimestamp(1764500000.123, timezone.utc) is 2025-11-30T10:53:20.123.
  @Test func timestampsAreRFC3339InUTC() {
    #expect(RequestLog.timestamp(Date(timeIntervalSince1970: 1_764_500_000.123)) == "2025-11-30T10:53:20.123Z")
    #expect(RequestLog.timestamp(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
    // Before 1970 the milliseconds are floored (date -u -d @-1 is 1969-12-31T23:59:59), and a
    // year past 9999 keeps all its digits (date -u -d @253402300800 is 10000-01-01).
    #expect(RequestLog.timestamp(Date(timeIntervalSince1970: -0.25)) == "1969-12-31T23:59:59.750Z")
    #expect(RequestLog.timestamp(Date(timeIntervalSince1970: 253_402_300_800.5)) == "10000-01-01T00:00:00.500Z")
    #expect(RequestLog.quoted("a\"b\\c\n\u{1}") == #""a\"b\\c\n\u0001""#)
    #expect(RequestLog.quoted("\u{1f}\t\r\u{7f}é") == "\"\\u001f\\t\\r\u{7f}é\"")
    #expect(RequestLog.quoted(nil) == "null")
  }

  /// A line is one JSON object whose fields read back as written, escapes and all.
  @Test func aLineReadsBackAsWritten() throws {
    let dir = Scratch.directory("request-log").path
    defer { Scratch.remove(URL(fileURLWithPath: dir)) }
    let log = try RequestLog(path: dir + "/requests.jsonl")
    let odd = "bob \"the\" \\ \n\u{2}é"
    try log.append(
      .init(
        time: Date(timeIntervalSince1970: 1_764_500_000.123), credential: odd, route: "/v1/predict", status: 200,
        inputSHA256: nil, output: ArraySlice(#"[{"label":3}]"#.utf8), reason: nil))
    try log.append(.init(time: Date(timeIntervalSince1970: 0), credential: nil, route: "/x", status: 404, reason: "no such route"))
    let lines = try String(contentsOfFile: dir + "/requests.jsonl", encoding: .utf8).split(separator: "\n")
    #expect(lines.count == 2)
    let first = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
    #expect(first["credential"] as? String == odd && first["time"] as? String == "2025-11-30T10:53:20.123Z")
    #expect(first["status"] as? Int == 200 && first["input_sha256"] is NSNull && first["reason"] is NSNull)
    #expect(((first["output"] as? [[String: Any]])?.first?["label"] as? Int) == 3)
    let second = try #require(try JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: Any])
    #expect(second["credential"] is NSNull && second["output"] is NSNull && second["reason"] as? String == "no such route")
  }
}

/// Requests that arrive together (the ZeroMQ door's batches): answered in order as one by one,
/// their log lines written at once — and none answered if the log cannot take them.
struct BatchTests {
  static func predict(_ value: Float) -> ServingRequest {
    let body = (0..<784).flatMap { i in withUnsafeBytes(of: (value * Float(i % 7)).bitPattern.littleEndian, Array.init) }
    return ServingRequest(method: "POST", path: "/v1/predict", token: nil, body: body, binary: true)
  }

  /// The part of a prediction's answer that does not count requests.
  static func outputs(_ r: ServingResponse) -> String {
    let text = String(decoding: r.body, as: UTF8.self)
    return String(text[text.range(of: "\"outputs\":")!.lowerBound...])
  }

  @Test func aBatchIsAnsweredInOrderAndLoggedAtOnce() throws {
    let dir = Scratch.directory("serving-batch").path
    defer { Scratch.remove(URL(fileURLWithPath: dir)) }
    let core = try DrainTests.core(dir)
    var short = Self.predict(0.5)
    short.body.removeLast(4)
    let batch = [
      Self.predict(0.1), ServingRequest(method: "GET", path: "/healthz", token: nil, body: []),
      ServingRequest(method: "GET", path: "/nowhere", token: nil, body: []), short, Self.predict(0.3),
    ]
    let answers = core.handle(batch)
    #expect(answers.map(\.status) == [200, 200, 404, 400, 200])
    // The same requests one by one get the same outputs.
    #expect(Self.outputs(answers[0]) == Self.outputs(core.handle(Self.predict(0.1))))
    #expect(Self.outputs(answers[4]) == Self.outputs(core.handle(Self.predict(0.3))))
    let log = try String(contentsOfFile: dir + "/requests.jsonl", encoding: .utf8).split(separator: "\n")
    let statuses = try log.map { line in
      try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])["status"] as? Int
    }
    #expect(statuses == [200, 200, 404, 400, 200, 200, 200], "\(log)")
  }

  /// A full disk (/dev/full: every write fails with ENOSPC) answers the whole batch 503 with the
  /// reason: a request that cannot be logged is not served.
  @Test func aBatchThatCannotBeLoggedIsNotServed() throws {
    let dir = Scratch.directory("serving-full").path
    defer { Scratch.remove(URL(fileURLWithPath: dir)) }
    let working = try DrainTests.core(dir)
    let core = try ServingCore(config: working.config, host: working.host, log: try RequestLog(path: "/dev/full"))
    let answers = core.handle([Self.predict(0.1), ServingRequest(method: "GET", path: "/healthz", token: nil, body: [])])
    #expect(answers.map(\.status) == [503, 503])
    #expect(answers.allSatisfy { String(decoding: $0.body, as: UTF8.self).contains("the request log cannot be written") })
  }
}

/// Shutdown: once drained, the core answers every request 503 and logs it like any other.
struct DrainTests {
  /// A core serving a logistic regression without authentication, logging to dir/requests.jsonl.
  static func core(_ dir: String) throws -> ServingCore {
    let spec = ModelSpec(parsing: "logreg")!
    let input = ImageShape(height: 28, width: 28, channels: 1)
    let parameters = spec.makeNetwork(input: input, classes: 10, seed: 1).parameters
    let metadata = ["byzsim.model": spec.description, "byzsim.input": "28x28x1", "byzsim.classes": "10"]
    let bytes = SafeTensorsFile(metadata: metadata, tensors: ModelExport.tensors(parameters, spec: spec, input: input, classes: 10))
      .encoded()
    try Data(bytes).write(to: URL(fileURLWithPath: dir + "/m.safetensors"))
    let host = try ModelHost(ModelReference(path: dir + "/m.safetensors", allowUnsigned: true))
    var config = DeployConfig()
    config.authentication = false
    return try ServingCore(config: config, host: host, log: try RequestLog(path: dir + "/requests.jsonl"))
  }

  /// A PLAIN ZeroMQ door (no key file) refuses, by itself, an endpoint other hosts can reach —
  /// whoever builds it without a deployment file's checks.
  @Test func aPlainDoorRefusesAnOpenEndpoint() throws {
    let dir = Scratch.directory("serving-plain").path
    defer { Scratch.remove(URL(fileURLWithPath: dir)) }
    let core = try Self.core(dir)
    #expect(throws: ServingError.self) { try ZMQDoor(core: core, endpoint: "tcp://0.0.0.0:0", secretKeyFile: nil) }
    let door = try ZMQDoor(core: core, endpoint: "tcp://127.0.0.1:*", secretKeyFile: nil)
    #expect(door.serverPublicKey == nil && door.endpoint.hasPrefix("tcp://127.0.0.1:"))
    #expect(door.stop(timeout: 10))
  }

  @Test func aDrainedCoreRefusesWith503AndLogsIt() throws {
    let dir = Scratch.directory("serving-drain").path
    defer { Scratch.remove(URL(fileURLWithPath: dir)) }
    let core = try Self.core(dir)
    #expect(core.handle(ServingRequest(method: "GET", path: "/healthz", token: nil, body: [])).status == 200)
    #expect(core.drain(timeout: 1) == 0)
    #expect(core.handle(ServingRequest(method: "GET", path: "/healthz", token: nil, body: [])).status == 503)
    let log = try String(contentsOfFile: dir + "/requests.jsonl", encoding: .utf8).split(separator: "\n")
    #expect(log.count == 2 && log[1].contains("503") && log[1].contains("the server is shutting down"), "\(log)")
  }

  /// A body the connection failed to deliver whole is refused 400 with the reason, and logged.
  @Test func anUnreadableBodyIsRefusedAndLogged() throws {
    let dir = Scratch.directory("serving-unreadable").path
    defer { Scratch.remove(URL(fileURLWithPath: dir)) }
    let core = try Self.core(dir)
    let request = ServingRequest(method: "POST", path: "/v1/predict", token: nil, body: [], bodyProblem: .unreadable("connection reset"))
    let answer = core.handle(request)
    #expect(answer.status == 400 && String(decoding: answer.body, as: UTF8.self).contains("could not be read: connection reset"))
    let log = try String(contentsOfFile: dir + "/requests.jsonl", encoding: .utf8).split(separator: "\n")
    #expect(log.count == 1 && log[0].contains("\"status\":400") && log[0].contains("connection reset"), "\(log)")
  }
}

/// The bearer token of an Authorization header: the scheme without case, blanks around the token
/// dropped, anything else no token.
@Suite struct BearerHeaderTests {
  @Test func tokensAreReadFromBearerHeadersOnly() {
    #expect(HTTPDoor.bearer("Bearer abc.def") == "abc.def")
    #expect(HTTPDoor.bearer("bEaReR \t abc \t ") == "abc")
    #expect(HTTPDoor.bearer("Bearer    ") == "")
    #expect(HTTPDoor.bearer("Bearer") == nil)
    #expect(HTTPDoor.bearer("Basic abc") == nil)
    #expect(HTTPDoor.bearer("Bearerabc") == nil)
    #expect(HTTPDoor.bearer(nil) == nil)
  }
}
