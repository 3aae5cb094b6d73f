/// `byzsim audit-serving`: the misconfigurations of a deployment file, each with a severity and
/// what to change (after the access-control mistakes OWASP's ML Top 10 lists under ML06/ML05
/// and TorchServe's hardening guide: open management APIs, unauthenticated binds, full scores).
public enum ServingAudit {
  public enum Severity: String, Comparable, Sendable, Encodable {
    case low, medium, high, critical
    var rank: Int { ["low": 0, "medium": 1, "high": 2, "critical": 3][rawValue]! }
    public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
  }

  public struct Finding: Sendable, Encodable, Equatable {
    public let severity: Severity
    public let rule: String
    public let message: String
  }

  public static func audit(_ c: DeployConfig) -> [Finding] {
    var out: [Finding] = []
    func add(_ s: Severity, _ rule: String, _ m: String) { out.append(Finding(severity: s, rule: rule, message: m)) }
    let open = !DeployConfig.isLoopback(c.bind)
    if open && !c.authentication {
      add(
        .critical, "open-bind-without-auth",
        "server.bind = \(c.bind) with authentication off: anyone who reaches the host can query the model (byzsim serve refuses to start)")
    } else if open {
      add(
        .medium, "bearer-tokens-in-clear",
        "server.bind = \(c.bind): bearer tokens cross the network unencrypted; put a TLS proxy in front or bind to 127.0.0.1")
    }
    if let endpoint = c.zmqEndpoint, c.zmqSecurity == .plain, !DeployConfig.isLoopbackEndpoint(endpoint) {
      add(
        .high, "zmq-plain-off-loopback",
        "server.zmq_endpoint = \(endpoint) with zmq_security = plain: bearer tokens cross the network in the clear (byzsim serve refuses to start); use curve"
      )
    }
    if !c.authentication && (c.weightsRoute || c.adminRoute) {
      add(.high, "management-without-auth", "weights_route or admin_route is on while authentication is off")
    }
    if c.adminRoute && c.credentials.contains(where: { $0.role == .admin && $0.plainText }) {
      add(.high, "admin-token-in-plain-text", "an admin credential's token is written in plain text")
    }
    for cred in c.credentials {
      if cred.plainText {
        add(
          .high, "token-in-plain-text",
          "credential \(cred.id): token in plain text; store its SHA-256 (token_sha256, byzsim serve --hash-token)")
      }
      if cred.role == .weights && c.weightsRoute && cred.budget == nil && cred.rate == nil {
        add(.medium, "weights-unlimited", "credential \(cred.id) may download the model file without any rate limit")
      }
      guard cred.role == .predict else { continue }
      if cred.policy.kind == .full && cred.policy.noise == 0 && !cred.trusted {
        add(
          .medium, "full-probabilities",
          "credential \(cred.id) sees every class's exact probability (the input of model inversion, membership inference and extraction); use top-k, label or rounded, or mark it trusted"
        )
      }
      if cred.budget == nil && cred.rate == nil {
        add(
          .medium, "no-budget-or-rate", "credential \(cred.id) has neither a query budget nor a rate limit (extraction needs many queries)")
      }
    }
    if !c.authentication && c.anonymousPolicy.kind == .full && c.anonymousPolicy.noise == 0 {
      add(.medium, "full-probabilities", "anonymous callers see every class's exact probability")
    }
    if c.metricsPerCredential {
      add(.low, "metrics-per-credential", "/metrics labels series by credential id: whoever reads metrics learns each caller's usage")
    }
    if !c.weightsRoute && !c.adminRoute && c.credentials.contains(where: { $0.role == .weights || $0.role == .admin }) {
      add(.low, "unused-credential", "a weights or admin credential exists but its route is off")
    }
    return out.sorted { $0.severity > $1.severity }
  }
}
