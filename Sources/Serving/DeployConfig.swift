import Crypto
import Data
import Foundation
import Runtime
import TOML

/// What a credential may do. Each credential carries exactly one role.
public enum Role: String, Sendable, CaseIterable, Codable {
  case predict, weights, admin, metrics
  /// Sends true labels for earlier predictions (`POST /v1/feedback`, with `[feedback]`).
  case feedback
}

/// How much of the model's output a credential sees (the serving-stage defence against
/// inversion, membership inference and extraction, which feed on full confidence scores).
public struct OutputPolicy: Sendable, Equatable {
  public enum Kind: String, Sendable, CaseIterable {
    /// Every class's probability.
    case full
    /// The k most probable classes and their probabilities.
    case topK = "top-k"
    /// The predicted class only.
    case label
    /// Every probability, rounded to `decimals` decimals.
    case rounded
  }
  public var kind: Kind = .full
  public var topK = 3
  public var decimals = 2
  /// The standard deviation of Gaussian noise added to each probability before the policy
  /// (clipped to [0, 1] and renormalised); 0: none.
  public var noise = 0.0

  public init(kind: Kind = .full, topK: Int = 3, decimals: Int = 2, noise: Double = 0) {
    self.kind = kind
    self.topK = topK
    self.decimals = decimals
    self.noise = noise
  }
}

/// One credential: a bearer token (kept as its SHA-256) with its role, output policy, query
/// budget and rate limit.
public struct Credential: Sendable {
  public var id: String
  public var role: Role
  /// SHA-256 of the token, hex.
  public var tokenSHA256: String
  /// The token was written in the file in plain text (`token = "..."`): works, but audit-serving flags it.
  public var plainText: Bool
  public var policy: OutputPolicy
  /// Predictions this credential may ask for in all (nil: no budget).
  public var budget: Int?
  /// Marked trusted (`trusted = true`): audit-serving does not flag full outputs to it.
  public var trusted: Bool
  /// Requests per second refilled into its bucket (nil: no rate limit), and the bucket's size.
  public var rate: Double?
  public var burst: Int
  /// The client's Z85 CURVE public key, for the ZeroMQ door (nil: HTTP only).
  public var curvePublicKey: String? = nil
}

/// `[monitor]`: drift detectors over the predict stream (issue 19). Window detectors compare
/// the last `window` inputs with the reference sample every `every` predictions; stream
/// detectors see each prediction's confidence.
public struct MonitorConfig: Sendable, Equatable {
  public enum Detector: String, Sendable, CaseIterable {
    case ks, mmd, psi, chi2, cusum
    case pageHinkley = "page-hinkley"
  }
  /// A CSV of in-control inputs (rows of the model's input size).
  public var reference: String
  public var window = 200
  public var every = 100
  public var alpha = 0.05
  public var psiThreshold = 0.25
  public var mmdPermutations = 50
  public var detectors: [Detector] = [.ks, .psi, .chi2, .cusum, .pageHinkley]

  public init(reference: String) { self.reference = reference }

  static func decode(_ t: inout TableReader) throws -> MonitorConfig {
    var m = MonitorConfig(reference: try t.string("reference", default: nil) { $0.isEmpty ? "a CSV file of reference inputs" : nil })
    m.window = try t.int("window", default: m.window) { (10...100_000).contains($0) ? nil : "10 to 100000 observations" }
    m.every = try t.int("every", default: m.every) { (1...1_000_000).contains($0) ? nil : "1 to 1000000 predictions" }
    m.alpha = try t.double("alpha", default: m.alpha) { $0 > 0 && $0 < 1 ? nil : "a level in (0, 1)" }
    m.psiThreshold = try t.double("psi_threshold", default: m.psiThreshold) { $0 > 0 && $0.isFinite ? nil : "a positive number" }
    m.mmdPermutations = try t.int("mmd_permutations", default: m.mmdPermutations) { (1...10_000).contains($0) ? nil : "1 to 10000" }
    if t.table["detectors"] != nil {
      let known = Detector.allCases.map(\.rawValue)
      let names = try t.stringArray("detectors") { known.contains($0) ? nil : "detectors among \(known.joined(separator: ", "))" }
      guard !names.isEmpty else { throw t.error("detectors", "name at least one detector") }
      m.detectors = names.map { Detector(rawValue: $0)! }
    }
    // The permutation test's smallest p is 1 / (permutations + 1): too few permutations and MMD
    // can never alert, silently.
    if m.detectors.contains(.mmd) && 1 / Double(m.mmdPermutations + 1) >= m.alpha {
      throw t.error(
        "mmd_permutations",
        "\(m.mmdPermutations) permutations cannot give p < alpha = \(m.alpha) (the smallest p is 1/\(m.mmdPermutations + 1)): use at least \(Int((1 / m.alpha).rounded(.up)))"
      )
    }
    return m
  }
}

/// A deployment file (`byzsim serve --config deploy.toml`): where the server listens, which
/// routes are on, who may call them and what each caller sees.
public struct DeployConfig: Sendable {
  public var file: String
  /// The model to serve, if the file names one (the command line's wins).
  public var model: String?
  /// The signer's public key for the model (default: the key of its run directory).
  public var publicKey: String?
  public var bind = "127.0.0.1"
  public var port = 8080
  public var authentication = true
  /// The ZeroMQ door (ROUTER with ZAP), if any: its endpoint (`tcp://127.0.0.1:*`: any free
  /// port), how clients authenticate, and for CURVE the file holding the server's Z85 secret key.
  public var zmqEndpoint: String?
  public var zmqSecurity = ZMQSecurity.curve
  public var zmqSecretKeyFile: String?

  /// How the ZeroMQ door's clients authenticate.
  public enum ZMQSecurity: String, CaseIterable, Sendable {
    /// CURVE (RFC 26): each client's public key is a credential's `curve_public_key`; every
    /// frame is encrypted and authenticated.
    case curve
    /// PLAIN (RFC 24): the user name is a credential's id and the password its bearer token,
    /// sent in the clear as over plain HTTP; loopback endpoints only.
    case plain
  }
  public var weightsRoute = false
  public var adminRoute = false
  public var maxBodyBytes = 8 << 20
  public var maxBatch = 1024
  public var requestLog = "requests.jsonl"
  /// Whether /metrics labels series by credential id (per-input data is never a label).
  public var metricsPerCredential = false
  public var credentials: [Credential] = []
  /// Without authentication (loopback only): every caller has role predict with this policy.
  public var anonymousPolicy = OutputPolicy()
  public var seed: UInt64 = 1
  /// Drift detectors run inside the server (`[monitor]`), if any.
  public var monitor: MonitorConfig?
  /// Labels fed back for earlier predictions (`[feedback]`), if taken.
  public var feedback: FeedbackConfig?
  /// Retraining on those labels (`[online]`, which needs `[feedback]`).
  public var online: OnlineConfig?
  /// Each caller's queries against the data (`[query_audit]`), if audited.
  public var queryAudit: QueryAuditConfig?

  public init(file: String = "(defaults)") { self.file = file }

  public static func load(path: String) throws -> DeployConfig {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw TopologyError(file: path, line: 0, key: "", message: "cannot read the file; check the path")
    }
    guard let text = String(validating: data, as: UTF8.self) else {
      throw TopologyError(file: path, line: 0, key: "", message: "not UTF-8 text; a deployment file is TOML")
    }
    return try decode(text, file: path)
  }

  /// `checks: false` (audit-serving) keeps going past the cross-key checks, to report them.
  public static func decode(_ text: String, file: String, checks: Bool = true) throws -> DeployConfig {
    let table: TOMLTable
    do { table = try TOML.parse(text) } catch let e as TOMLParseError {
      throw TopologyError(file: file, line: e.line, key: "", message: "not valid TOML: \(e.message)")
    }
    var c = DeployConfig(file: file)
    var top = TableReader(file: file, path: "", table: table, line: 1)
    c.model = try top.optionalString("model")
    c.publicKey = try top.optionalString("public_key")
    c.seed = UInt64(try top.int("seed", default: 1) { $0 >= 0 ? nil : "a seed >= 0" })
    var server = try top.table("server")
    try c.decodeServer(&server)
    var anonymous = try top.table("anonymous")
    c.anonymousPolicy = try Self.policy(&anonymous)
    try anonymous.finish()
    if top.table["monitor"] != nil {
      var m = try top.table("monitor")
      c.monitor = try MonitorConfig.decode(&m)
      try m.finish()
    }
    if top.table["feedback"] != nil {
      var f = try top.table("feedback")
      c.feedback = try FeedbackConfig.decode(&f)
      try f.finish()
    }
    if top.table["query_audit"] != nil {
      var q = try top.table("query_audit")
      c.queryAudit = try QueryAuditConfig.decode(&q)
      try q.finish()
    }
    if top.table["online"] != nil {
      var o = try top.table("online")
      c.online = try OnlineConfig.decode(&o)
      try o.finish()
      guard c.feedback != nil else { throw top.error("online", "online retraining learns from labels fed back: add a [feedback] section") }
    }
    for var entry in try top.tableArray("credentials") {
      c.credentials.append(try Self.credential(&entry))
      try entry.finish()
    }
    try top.finish()
    if checks { try c.check(top) }
    return c
  }

  mutating func decodeServer(_ s: inout TableReader) throws {
    bind = try s.string("bind", default: bind) { $0.isEmpty ? "an address such as 127.0.0.1" : nil }
    port = try s.int("port", default: port) { (0...65_535).contains($0) ? nil : "a port from 0 to 65535 (0: any free port)" }
    authentication = try s.bool("authentication", default: true)
    weightsRoute = try s.bool("weights_route", default: false)
    adminRoute = try s.bool("admin_route", default: false)
    maxBodyBytes = try s.int("max_body_bytes", default: maxBodyBytes) { (1_024...(1 << 30)).contains($0) ? nil : "1024 to 2^30 bytes" }
    maxBatch = try s.int("max_batch", default: maxBatch) { (1...1_000_000).contains($0) ? nil : "1 to 1000000 inputs" }
    requestLog = try s.string("request_log", default: requestLog) { $0.isEmpty ? "a file path" : nil }
    metricsPerCredential = try s.bool("metrics_per_credential", default: false)
    zmqEndpoint = try s.optionalString("zmq_endpoint")
    let securities = ZMQSecurity.allCases.map(\.rawValue)
    zmqSecurity = ZMQSecurity(
      rawValue: try s.string("zmq_security", default: "curve") {
        securities.contains($0) ? nil : "one of \(securities.joined(separator: ", "))"
      })!
    zmqSecretKeyFile = try s.optionalString("zmq_secret_key_file")
    if let endpoint = zmqEndpoint {
      guard endpoint.hasPrefix("tcp://") || endpoint.hasPrefix("ipc://") else {
        throw s.error("zmq_endpoint", "expected tcp://HOST:PORT (or tcp://127.0.0.1:* for any free port), or ipc://PATH")
      }
      if zmqSecurity == .curve && zmqSecretKeyFile == nil {
        throw s.error(
          "zmq_endpoint", "the ZeroMQ door needs the server's CURVE secret key: add zmq_secret_key_file (byzsim serve --curve-keygen FILE)")
      }
    }
    if zmqEndpoint == nil, let key = ["zmq_security", "zmq_secret_key_file"].first(where: { s.table[$0] != nil }) {
      throw s.error(key, "applies only to the ZeroMQ door: add zmq_endpoint (e.g. \"tcp://127.0.0.1:*\"), or remove it")
    }
    if zmqSecurity == .plain && zmqSecretKeyFile != nil {
      throw s.error("zmq_secret_key_file", "no key is used with zmq_security = \"plain\": remove it, or set zmq_security = \"curve\"")
    }
    try s.finish()
  }

  static func policy(_ t: inout TableReader) throws -> OutputPolicy {
    let kinds = OutputPolicy.Kind.allCases.map(\.rawValue)
    let kind = try t.string("output", default: "full") { kinds.contains($0) ? nil : "one of \(kinds.joined(separator: ", "))" }
    return OutputPolicy(
      kind: OutputPolicy.Kind(rawValue: kind)!,
      topK: try t.int("top_k", default: 3) { $0 >= 1 ? nil : "at least 1" },
      decimals: try t.int("decimals", default: 2) { (0...8).contains($0) ? nil : "0 to 8 decimals" },
      noise: try t.double("noise", default: 0) { (0...1).contains($0) ? nil : "a standard deviation from 0 to 1" })
  }

  static func credential(_ t: inout TableReader) throws -> Credential {
    let id = try t.string("id", default: nil) { s in
      s.count <= 64 && s.range(of: "^[A-Za-z0-9_.-]+$", options: .regularExpression) != nil
        ? nil : "up to 64 letters, digits, '.', '_' or '-'"
    }
    let roles = Role.allCases.map(\.rawValue)
    let role = try t.string("role", default: nil) { roles.contains($0) ? nil : "one of \(roles.joined(separator: ", "))" }
    let hashed = try t.optionalString("token_sha256")
    let plain = try t.optionalString("token")
    let digest: String
    switch (hashed, plain) {
    case (let h?, nil):
      guard h.count == 64, h.allSatisfy(\.isHexDigit) else {
        throw t.error("token_sha256", "expected 64 hex digits (the SHA-256 of the token)")
      }
      digest = h.lowercased()
    case (nil, let p?):
      guard p.count >= 16 else { throw t.error("token", "expected a token of at least 16 characters") }
      digest = Self.sha256(p)
    case (nil, nil) where t.table["curve_public_key"] != nil:
      digest = ""  // a ZeroMQ-only credential
    default:
      throw t.error(
        "token_sha256", "give exactly one of token_sha256 (recommended: byzsim serve --hash-token) or token, and/or curve_public_key")
    }
    let curve = try t.optionalString("curve_public_key")
    if let curve, curve.count != 40 {
      throw t.error("curve_public_key", "expected a Z85 CURVE public key (40 characters)")
    }
    let budget = try t.optionalInt("budget") { $0 >= 0 ? nil : "a number of predictions >= 0" }
    let rate: Double? =
      t.table["rate"] == nil ? nil : try t.double("rate", default: 0) { $0 > 0 && $0 <= 1e6 ? nil : "requests per second, above 0" }
    let burst = try t.int("burst", default: max(1, Int(rate ?? 1))) { (1...1_000_000).contains($0) ? nil : "1 to 1000000 requests" }
    let trusted = try t.bool("trusted", default: false)
    return Credential(
      id: id, role: Role(rawValue: role)!, tokenSHA256: digest, plainText: plain != nil, policy: try policy(&t), budget: budget,
      trusted: trusted, rate: rate, burst: burst, curvePublicKey: curve)
  }

  /// Checks that span keys: unique ids and tokens; no open bind without authentication.
  func check(_ top: TableReader) throws {
    var ids = Set<String>(), tokens = Set<String>()
    for c in credentials {
      guard ids.insert(c.id).inserted else { throw top.error("credentials", "two credentials have id \"\(c.id)\"") }
      guard c.tokenSHA256.isEmpty || tokens.insert(c.tokenSHA256).inserted else {
        throw top.error("credentials", "credential \"\(c.id)\" reuses another's token")
      }
    }
    if authentication && credentials.isEmpty {
      throw top.error(
        "credentials",
        "authentication is on but no [[credentials]] are given: add one, or set server.authentication = false (loopback only)")
    }
    if !authentication && zmqEndpoint != nil {
      throw top.error(
        "server", "the ZeroMQ door authenticates every client (by CURVE key or PLAIN token): it cannot run with authentication off")
    }
    if let endpoint = zmqEndpoint, zmqSecurity == .plain, !Self.isLoopbackEndpoint(endpoint) {
      throw top.error(
        "server",
        "refusing zmq_security = \"plain\" on \(endpoint): PLAIN sends tokens in the clear; use tcp://127.0.0.1:PORT or ipc://, or curve")
    }
    if !authentication && !Self.isLoopback(bind) {
      throw top.error("server", "refusing to serve on \(bind) without authentication: bind to 127.0.0.1, or add [[credentials]]")
    }
  }

  public static func isLoopback(_ address: String) -> Bool {
    address == "localhost" || address == "::1" || address.hasPrefix("127.")
  }

  /// A ZeroMQ endpoint only this host can reach: ipc://, or tcp:// on a loopback address.
  public static func isLoopbackEndpoint(_ endpoint: String) -> Bool {
    if endpoint.hasPrefix("ipc://") { return true }
    guard endpoint.hasPrefix("tcp://") else { return false }
    let rest = endpoint.dropFirst(6)
    let host = rest.hasPrefix("[") ? String(rest.dropFirst().prefix { $0 != "]" }) : String(rest.prefix { $0 != ":" })
    return isLoopback(host)
  }

  public static func sha256(_ token: String) -> String {
    Provenance.hex(Array(SHA256.hash(data: Array(token.utf8))))
  }
}
