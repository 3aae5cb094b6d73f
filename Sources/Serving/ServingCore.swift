import Crypto
import Data
import Foundation
import Learning
import Synchronization
import Tensor

/// One request as any front door hands it over.
public struct ServingRequest: Sendable {
  public var method: String
  public var path: String
  /// The bearer token, if the request carries one.
  public var token: String?
  public var body: [UInt8]
  /// Why the body is not there to serve (answered 413 or 400, logged), or nil.
  public var bodyProblem: BodyProblem?
  /// The body is raw little-endian Float32 inputs (`Content-Type: application/octet-stream`), not JSON.
  public var binary: Bool
  /// The credential the transport already authenticated (the ZeroMQ door's ZAP User-Id).
  public var credentialID: String? = nil
  public init(method: String, path: String, token: String?, body: [UInt8], bodyProblem: BodyProblem? = nil, binary: Bool = false) {
    self.method = method
    self.path = path
    self.token = token
    self.body = body
    self.bodyProblem = bodyProblem
    self.binary = binary
  }

  /// Why a front door has no body to hand over.
  public enum BodyProblem: Sendable, Equatable {
    /// Over server.max_body_bytes, declared or found while reading: not read further (413).
    case oversized
    /// The connection failed before the body ended, for the reason given (400).
    case unreadable(String)
  }
}

public struct ServingResponse: Sendable {
  public var status: Int
  public var contentType: String
  public var body: [UInt8]
  public var retryAfter: Int?
  /// What the request log records of the output (a JSON value, UTF-8; for a prediction, the
  /// `outputs` array inside `body`).
  var logged: ArraySlice<UInt8>?
  var reason: String?
}

/// The serving logic behind every front door: route → credential (401) → role (403) → rate
/// limit and budget (429) → the route's work, then the request log and the metrics.
public final class ServingCore: Sendable {
  public let config: DeployConfig
  public let host: ModelHost
  public let admission = Admission()
  public let metrics = ServeMetrics()
  let log: RequestLog
  let byToken: [String: Credential]
  let byID: [String: Credential]
  let sequence = Synchronization.Atomic<UInt64>(0)
  /// The drift monitor (`[monitor]`), if the deployment asks for one.
  public let monitor: Monitor?
  /// True labels for earlier predictions (`[feedback]`), if taken.
  public let feedback: Feedback?
  /// Retraining on them (`[online]`), if asked for.
  public let online: OnlineLearner?
  /// Each caller's queries against the data (`[query_audit]`), if audited.
  public let queryAuditor: QueryAuditor?
  /// Predictions served by predicted class (for the dashboard; Prometheus has its own counters).
  let classCounts: Mutex<[Int]>
  let started = Date()
  /// Requests being answered, and whether the server is shutting down (then new ones get 503).
  let inFlight = Mutex<(count: Int, closing: Bool)>((0, false))

  public init(config: DeployConfig, host: ModelHost, log: RequestLog) throws {
    self.config = config
    self.host = host
    self.log = log
    let model = host.model
    monitor = try config.monitor.map { [metrics] m in
      try Monitor(
        config: m, inputSize: model.inputSize, registry: metrics.registry,
        probabilities: { model.probabilities($0, count: $1) })
    }
    classCounts = Mutex([Int](repeating: 0, count: model.classes))
    let registry = metrics.registry
    feedback = config.feedback.map { Feedback(config: $0, inputSize: model.inputSize, classes: model.classes, registry: registry) }
    online = config.online.map { OnlineLearner(config: $0, seed: config.seed) }
    queryAuditor = try config.queryAudit.map { try QueryAuditor(config: $0, inputSize: model.inputSize, registry: registry) }
    byToken = Dictionary(uniqueKeysWithValues: config.credentials.filter { !$0.tokenSHA256.isEmpty }.map { ($0.tokenSHA256, $0) })
    byID = Dictionary(uniqueKeysWithValues: config.credentials.map { ($0.id, $0) })
  }

  struct Route {
    let method: String
    let role: Role?
    let enabled: Bool
  }

  func route(_ path: String) -> Route? {
    switch path {
    case "/healthz": Route(method: "GET", role: nil, enabled: true)
    case "/dashboard": Route(method: "GET", role: nil, enabled: true)
    case "/v1/monitor": Route(method: "GET", role: .metrics, enabled: true)
    case "/v1/feedback": Route(method: "POST", role: .feedback, enabled: config.feedback != nil)
    case "/v1/predict": Route(method: "POST", role: .predict, enabled: true)
    case "/v1/model": Route(method: "GET", role: .weights, enabled: config.weightsRoute)
    case "/v1/admin/reload": Route(method: "POST", role: .admin, enabled: config.adminRoute)
    case "/metrics": Route(method: "GET", role: .metrics, enabled: true)
    default: nil
    }
  }

  public func handle(_ request: ServingRequest) -> ServingResponse {
    handle([request])[0]
  }

  /// Answers requests that arrived together, in order, as `handle` answers each: the forward
  /// passes of predictions of few inputs run together (`Dense.rowIndependent`: the same bits as
  /// alone), and the log lines are written at once, before any answer is returned. Every request
  /// is checked and charged before the batch's predictions are observed, so a query auditor's
  /// refusal takes effect from the next batch.
  public func handle(_ requests: [ServingRequest]) -> [ServingResponse] {
    let admitted = inFlight.withLock { state in
      if state.closing { return false }
      state.count += requests.count
      return true
    }
    defer { if admitted { inFlight.withLock { $0.count -= requests.count } } }
    let started = ContinuousClock.now
    let model = host.model
    var credentials = [Credential?](repeating: nil, count: requests.count)
    let routes = requests.map { route($0.path) }
    let outcomes = requests.indices.map { i in
      admitted
        ? answer(requests[i], route: routes[i], model: model, credential: &credentials[i])
        : .done(Self.error(503, "the server is shutting down"))
    }
    let probabilities = Self.forward(outcomes, model: model)
    var lines: [UInt8] = []
    lines.reserveCapacity(requests.count * 320)
    var responses: [ServingResponse] = []
    responses.reserveCapacity(requests.count)
    for (i, outcome) in outcomes.enumerated() {
      let response: ServingResponse
      switch outcome {
      case .done(let r): response = r
      case .predict(let inputs): response = predicted(inputs, probabilities: probabilities[i]!, model: model, credential: credentials[i]!)
      }
      let request = requests[i], routeLabel = routes[i] == nil ? "other" : request.path
      metrics.request(
        route: routeLabel, role: credentials[i]?.role.rawValue ?? "none", status: response.status, duration: .now - started)
      RequestLog.line(
        .init(
          time: Date(), credential: credentials[i]?.id, route: routeLabel, status: response.status,
          inputSHA256: request.body.isEmpty ? nil : Provenance.hex(Array(SHA256.hash(data: request.body))),
          output: response.logged, reason: response.reason),
        to: &lines)
      responses.append(response)
    }
    do {
      try log.write(lines)
    } catch {
      // The log is the auditors' input: a request that cannot be logged is not answered.
      return responses.map { _ in Self.error(503, "the request log cannot be written (\(error)); the request was not served") }
    }
    return responses
  }

  /// What a request comes to before any forward pass: its answer, or its inputs (decoded,
  /// checked and charged) to predict.
  enum Outcome {
    case done(ServingResponse)
    case predict(PredictInputs)
  }

  /// The probabilities of each `.predict` outcome's inputs, by index: requests of at most
  /// `Dense.rowsMax` inputs in groups of at most that many rows, larger ones alone.
  static func forward(_ outcomes: [Outcome], model: ServedModel) -> [Int: [[Double]]] {
    var result: [Int: [[Double]]] = [:]
    var group: [(index: Int, inputs: PredictInputs)] = []
    var rows = 0
    func flush() {
      guard rows > 0 else { return }
      // One request's inputs go as they are; only a group of several is copied end to end.
      let x = group.count == 1 ? group[0].inputs.values : group.flatMap(\.inputs.values)
      var all = model.probabilities(x, count: rows)[...]
      for (index, inputs) in group {
        result[index] = Array(all.prefix(inputs.count))
        all = all.dropFirst(inputs.count)
      }
      group.removeAll()
      rows = 0
    }
    for (i, outcome) in outcomes.enumerated() {
      guard case .predict(let inputs) = outcome else { continue }
      guard inputs.count <= Dense.rowsMax else {
        result[i] = model.probabilities(inputs.values, count: inputs.count)
        continue
      }
      if rows + inputs.count > Dense.rowsMax { flush() }
      group.append((i, inputs))
      rows += inputs.count
    }
    flush()
    return result
  }

  /// Stops taking requests (each new one gets 503) and waits until the ones being answered are
  /// done, for at most `timeout` seconds; the number still running when it gave up (0: drained).
  /// The process must not exit with a prediction in flight: exit tears down OpenBLAS's buffers,
  /// which a running SGEMM may still be using.
  @discardableResult public func drain(timeout: Double = 30) -> Int {
    inFlight.withLock { $0.closing = true }
    let deadline = ContinuousClock.now + .milliseconds(Int(timeout * 1000))
    while true {
      let running = inFlight.withLock { $0.count }
      if running == 0 || ContinuousClock.now >= deadline { return running }
      Thread.sleep(forTimeInterval: 0.001)
    }
  }

  func answer(_ request: ServingRequest, route found: Route?, model: ServedModel, credential: inout Credential?) -> Outcome {
    if let refused = refusal(request, route: found, credential: &credential) { return .done(refused) }
    guard let role = found?.role, let who = credential else {
      // The open routes: health, and the dashboard's page (no data in it: the page fetches
      // /v1/monitor with a metrics token).
      return .done(
        request.path == "/dashboard"
          ? ServingResponse(status: 200, contentType: "text/html; charset=utf-8", body: Dashboard.page)
          : ServingResponse(status: 200, contentType: "text/plain", body: Array("ok\n".utf8)))
    }
    switch role {
    case .predict: return admit(request.body, binary: request.binary, model: model, credential: who)
    case .weights: return .done(weights(who))
    case .admin: return .done(reload())
    case .feedback: return .done(label(request.body, credential: who))
    case .metrics:
      return .done(
        request.path == "/v1/monitor"
          ? monitorState()
          : ServingResponse(status: 200, contentType: "text/plain; version=0.0.4", body: metrics.text()))
    }
  }

  /// The answer refusing the request (413, 400, 404, 405, 401, 403), or nil; `credential` is the
  /// caller's once identified (an open route identifies none).
  func refusal(_ request: ServingRequest, route found: Route?, credential: inout Credential?) -> ServingResponse? {
    switch request.bodyProblem {
    case .oversized:
      credential = identify(request)
      return Self.error(413, "the body is over \(config.maxBodyBytes) bytes (server.max_body_bytes)")
    case .unreadable(let why):
      credential = identify(request)
      return Self.error(400, "the body could not be read: \(why)")
    case nil: break
    }
    guard let route = found, route.enabled else {
      return Self.error(404, found == nil ? "no such route" : "\(request.path) is not enabled on this server")
    }
    guard request.method == route.method else { return Self.error(405, "\(request.path) takes \(route.method)") }
    guard let role = route.role else { return nil }
    guard let who = identify(request) else {
      return Self.error(401, request.token == nil ? "this route needs a bearer token" : "unknown token")
    }
    credential = who
    guard who.role == role else {
      return Self.error(403, "credential \(who.id) has role \(who.role.rawValue); \(request.path) needs \(role.rawValue)")
    }
    return nil
  }

  func identify(_ request: ServingRequest) -> Credential? {
    if let id = request.credentialID { return byID[id] }
    guard let token = request.token else {
      guard !config.authentication else { return nil }
      return Credential(
        id: "anonymous", role: .predict, tokenSHA256: "", plainText: false, policy: config.anonymousPolicy, budget: nil, trusted: false,
        rate: nil, burst: 1)
    }
    return credential(token: token)
  }

  /// The credential whose bearer token this is (looked up by the token's SHA-256), if any: the
  /// HTTP door's bearer tokens and the ZeroMQ door's PLAIN passwords.
  func credential(token: String) -> Credential? { byToken[DeployConfig.sha256(token)] }

  func charge(_ who: Credential, predictions: Int) -> ServingResponse? {
    switch admission.admit(who, predictions: predictions) {
    case .admitted:
      if let left = admission.remaining(who) { metrics.budget(credential: who.id, remaining: left) }
      return nil
    case .rateLimited(let seconds):
      var r = Self.error(429, "rate limit of credential \(who.id) reached")
      r.retryAfter = seconds
      return r
    case .budgetExhausted(let remaining):
      return Self.error(429, "query budget of credential \(who.id) exhausted (\(remaining) predictions left, \(predictions) asked)")
    }
  }

  /// A prediction's inputs, decoded, checked and charged to `who` — or the refusal.
  func admit(_ body: [UInt8], binary: Bool, model: ServedModel, credential who: Credential) -> Outcome {
    let inputs: PredictInputs
    do {
      inputs =
        binary
        ? try PredictInputs.decodeBinary(body, inputSize: model.inputSize, maxBatch: config.maxBatch)
        : try PredictInputs.decode(body, inputSize: model.inputSize, maxBatch: config.maxBatch)
    } catch {
      return .done(Self.error(400, "\(error)"))
    }
    if let queryAuditor, queryAuditor.refuses(who.id) {
      return .done(
        Self.error(
          403, "credential \(who.id) is refused: the query auditor found its queries unlike the data ([query_audit] action = refuse)"))
    }
    if let refused = charge(who, predictions: inputs.count) { return .done(refused) }
    return .predict(inputs)
  }

  /// The answer to admitted inputs, from their probabilities under `model`: observed by the
  /// auditors, shaped by `who`'s output policy, counted.
  func predicted(_ inputs: PredictInputs, probabilities: [[Double]], model: ServedModel, credential who: Credential) -> ServingResponse {
    queryAuditor?.observe(who.id, inputs: inputs.values)
    monitor?.observe(inputs.values, probabilities: probabilities)
    let n = sequence.add(1, ordering: .relaxed).newValue
    var rng = RandomStream(seed: config.seed, purpose: .noise, n)
    var counts = [Int](repeating: 0, count: model.classes)
    // The answer is built as bytes in one buffer; the log records its `outputs` array.
    var answer = Array("{\"model\":\"\(model.loaded.sha256)\",\"request\":\(n),\"outputs\":".utf8)
    answer.reserveCapacity(answer.count + probabilities.count * 96 + 3)
    let start = answer.count
    answer.append(UInt8(ascii: "["))
    var predicted: [Int] = []
    predicted.reserveCapacity(feedback == nil ? 0 : probabilities.count)
    for (i, p) in probabilities.enumerated() {
      if i > 0 { answer.append(UInt8(ascii: ",")) }
      who.policy.write(p, rng: &rng, into: &answer)
      var label = 0
      for i in p.indices where p[i] > p[label] { label = i }
      counts[label] += 1
      if feedback != nil { predicted.append(label) }
    }
    answer.append(UInt8(ascii: "]"))
    let end = answer.count
    answer.append(contentsOf: "}\n".utf8)
    feedback?.record(request: n, inputs: inputs.values, predicted: predicted)
    metrics.predictions(byClass: counts)
    classCounts.withLock { total in for (k, n) in counts.enumerated() { total[k] += n } }
    return ServingResponse(status: 200, contentType: "application/json", body: answer, logged: answer[start..<end])
  }

  /// `POST /v1/feedback`: true labels for an earlier request's inputs.
  func label(_ body: [UInt8], credential who: Credential) -> ServingResponse {
    let served = classCounts.withLock { $0.reduce(0, +) }
    switch feedback!.label(body, credential: who.id, served: served) {
    case .accepted(let correct, let n):
      var retrained = ""
      if let online, let batch = feedback!.takeFresh(atLeast: online.config.every) {
        do {
          // One retraining at a time: two batches completed at once would both start from the
          // same model, and the second swap would drop the first's update.
          let digest = try online.serial.withLock { _ in
            let model = host.model.loaded
            let parameters = try online.retrain(model, on: batch)
            return host.replace(
              parameters: parameters, metadata: ["byzsim.online_retrains": String(online.retrains), "byzsim.online_base": model.sha256])
          }
          retrained = ",\"retrained\":\"\(digest)\""
        } catch {
          // The labels were taken: the model stays and the failure is reported, not retried on them.
          online.failed("\(error)")
          return Self.error(500, "the labels were accepted but retraining failed, the model is unchanged: \(error)")
        }
      }
      let text = "{\"accepted\":\(n),\"correct\":\(correct)\(retrained)}\n"
      return ServingResponse(status: 200, contentType: "application/json", body: Array(text.utf8), logged: ArraySlice("\(n)".utf8))
    case .refused(let status, let reason):
      return Self.error(status, reason)
    }
  }

  /// The dashboard's data (`GET /v1/monitor`, metrics role): the served model, request and class
  /// counts, and the monitor's readings and alerts.
  func monitorState() -> ServingResponse {
    struct State: Encodable {
      let model: String
      let modelSpec: String
      let serverTime: Date
      let uptimeSeconds: Double
      let predictRequests: UInt64
      let predictions: Int
      let classCounts: [Int]
      let monitor: Monitor.Snapshot?
      let feedback: Feedback.Snapshot?
      let onlineRetrains: Int?
      let onlineFlaggedSources: [String]?
      let onlineExcludedLabels: Int?
      let queryAudit: [QueryAuditor.Entry]?
    }
    let model = host.model
    let counts = classCounts.withLock { $0 }
    let state = State(
      model: model.loaded.sha256, modelSpec: "\(model.loaded.spec) on \(model.loaded.input)", serverTime: Date(),
      uptimeSeconds: Date().timeIntervalSince(started), predictRequests: sequence.load(ordering: .relaxed),
      predictions: counts.reduce(0, +), classCounts: counts, monitor: monitor?.snapshot(classes: model.classes),
      feedback: feedback?.snapshot(), onlineRetrains: online?.retrains, onlineFlaggedSources: online?.flagged.sources,
      onlineExcludedLabels: online?.flagged.excludedLabels, queryAudit: queryAuditor?.snapshot())
    let encoder = JSONEncoder.snake()
    encoder.dateEncodingStrategy = .iso8601
    encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    do {
      return ServingResponse(status: 200, contentType: "application/json", body: Array(try encoder.encode(state)) + [0x0A])
    } catch {
      return Self.error(500, "the monitor's state cannot be encoded: \(error)")
    }
  }

  /// The served model's file as it was verified (the path may hold something else by now).
  func weights(_ who: Credential) -> ServingResponse {
    ServingResponse(status: 200, contentType: "application/octet-stream", body: host.model.loaded.bytes)
  }

  func reload() -> ServingResponse {
    do {
      let digest = try host.reload()
      let text = "{\"reloaded\":true,\"model\":\"\(digest)\"}\n"
      return ServingResponse(status: 200, contentType: "application/json", body: Array(text.utf8), logged: ArraySlice("\"\(digest)\"".utf8))
    } catch {
      return Self.error(409, "reload refused, still serving the previous model: \(error)")
    }
  }

  static func error(_ status: Int, _ reason: String) -> ServingResponse {
    let text = "{\"error\":\(RequestLog.quoted(reason))}\n"
    return ServingResponse(status: status, contentType: "application/json", body: Array(text.utf8), reason: reason)
  }
}
