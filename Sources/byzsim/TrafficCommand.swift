import ArgumentParser
import Data
import Drift
import Foundation
import Runtime
import Serving
import TOML
import Tensor

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `byzsim traffic`: replay held-out images through `byzsim serve` at a set rate, drifting as a
/// scenario file says, and report accuracy per phase and when the server's detectors alerted.
struct TrafficCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "traffic",
    abstract: "Replay Fashion-MNIST test images through byzsim serve with a drift scenario; report accuracy and detection delays.",
    discussion: """
      Scenario file (TOML):
        count = 2000        # requests, one image each
        rate = 200          # requests per second (0: as fast as answered)
        seed = 1
        label_delay = 100   # with --feedback-token: each true label is sent this many requests later
        [[phase]]
        start = 0
        drift = "none"
        [[phase]]
        start = 1000        # from this request on
        drift = "brightness"   # none, brightness, contrast, noise, rotation, occlusion, label-shift, morph, slow-drift,
                               # concept, feedback-poison
        strength = 0.3      # brightness: added; contrast: factor − 1; noise: σ; rotation: degrees; occlusion: side/28;
                            # morph: how far source images move toward target images (0–1)
        ramp = 0            # requests over which the strength grows (0: abrupt)
        classes = [0, 1]    # label-shift: the classes drawn
        source = 0          # morph, slow-drift: the class whose images are moved …
        target = 6          # … toward images of this class (concept: class source's true label becomes target)
        step = 0.02         # slow-drift: strength change per monitor evaluation
        margin = 0.8        # slow-drift: the level (1 = the alert line) its own tests keep under
        share = 0.5         # feedback-poison: attacker requests per honest request (strength: its morph)
      slow-drift is the adaptive attacker (Drift.SlowDriftAdversary): it reads the detectors,
      thresholds, window and cadence from --deployment's [monitor], labels a sample of its own
      (test images 9000 on, max(window, 300) of them, sent before the scenario and counted in
      the offset) through the server, and after every `every` requests raises the morph strength
      by `step` while its own tests on the window it sent stay under `margin`, else lowers it.
      Target images come from test images 9000 on; the replay starts at image 0.
      feedback-poison is the online-learning poisoner: for a share of the honest requests it sends
      a source image from test images 9000 on, morphed toward a target image by strength (near
      the boundary), and labels it target at once with --poison-token (a feedback credential of
      its own), so a server with [online] retraining learns the wrong boundary.
      With --metrics-token, the server's byzsim_drift_first_alert_prediction series are read at the
      end: detection delay = first alert − the first drifting phase's start (a fresh server counts
      predictions from 0; an alert before the drift is a false alarm).
      --json keys: requests, errors, phases[{start, drift, strength, ramp, requests, accuracy}],
      drift_start, offset (predictions made before the scenario), labels_sent, labels_refused, poison_labels, detectors{NAME: {first_alert_prediction,
      detection_delay, false_alarm}}, and with a morph, slow-drift or feedback-poison phase adversary{source, target,
      source_requests, flipped (source images labelled target), final_strength, max_strength,
      flipped_before_first_alert{NAME: n}, strength_at_first_alert{NAME: s}}.

      Example:
        byzsim traffic --server http://127.0.0.1:8080 --token T --scenario brightness.toml --metrics-token M --json
      """)

  @Option(help: "The server's base URL, http://HOST:PORT.")
  var server: String
  @Option(help: "A predict token.")
  var token: String?
  @Option(help: "A metrics token, to read the detectors' alerts at the end.")
  var metricsToken: String?
  @Option(help: "A feedback token: send each request's true label, label_delay requests later (POST /v1/feedback).")
  var feedbackToken: String?
  @Option(help: "The feedback-poison attacker's own feedback token.")
  var poisonToken: String?
  @Option(help: "The scenario file (TOML).")
  var scenario: String
  @Option(help: "The server's deployment file: what a slow-drift attacker knows of its [monitor].", completion: .file())
  var deployment: String?
  @Option(help: "The Fashion-MNIST directory.", completion: .directory)
  var data = FashionMNIST.defaultDirectory
  @Flag(help: "Print one JSON object.")
  var json = false

  struct Plan {
    var count = 1000
    var rate = 100.0
    var seed: UInt64 = 1
    var labelDelay = 0
    var scenario = DriftScenario(phases: [])
  }

  static func plan(_ path: String) throws -> Plan {
    guard let bytes = FileManager.default.contents(atPath: path), let text = String(data: bytes, encoding: .utf8) else {
      throw UserError("\(path): cannot be read")
    }
    do {
      let table: TOMLTable
      do { table = try TOML.parse(text) } catch let e as TOMLParseError {
        throw TopologyError(file: path, line: e.line, key: "", message: "not valid TOML: \(e.message)")
      }
      var top = TableReader(file: path, path: "", table: table, line: 1)
      var plan = Plan()
      plan.count = try top.int("count", default: 1000) { (1...10_000_000).contains($0) ? nil : "1 to 10000000 requests" }
      plan.rate = try top.double("rate", default: 100) { $0 >= 0 && $0 <= 100_000 ? nil : "0 to 100000 requests per second" }
      plan.seed = UInt64(try top.int("seed", default: 1) { $0 >= 0 ? nil : "a seed ≥ 0" })
      plan.labelDelay = try top.int("label_delay", default: 0) { (0...10_000_000).contains($0) ? nil : "0 to 10000000 requests" }
      var phases: [DriftScenario.Phase] = []
      let kinds = DriftScenario.Kind.allCases.map(\.rawValue)
      for var p in try top.tableArray("phase") {
        let kind = try p.string("drift", default: nil) { kinds.contains($0) ? nil : "one of \(kinds.joined(separator: ", "))" }
        let phase = DriftScenario.Phase(
          start: try p.int("start", default: 0) { $0 >= 0 ? nil : "a request number ≥ 0" }, kind: DriftScenario.Kind(rawValue: kind)!,
          strength: try p.double("strength", default: 0) { $0.isFinite && abs($0) <= 360 ? nil : "a finite strength" },
          ramp: try p.int("ramp", default: 0) { $0 >= 0 ? nil : "requests ≥ 0" },
          classes: try p.intArray("classes", default: []) { $0.allSatisfy { (0..<1000).contains($0) } ? nil : "class numbers from 0" },
          source: try p.int("source", default: 0) { (0..<10).contains($0) ? nil : "a Fashion-MNIST class, 0 to 9" },
          target: try p.int("target", default: 0) { (0..<10).contains($0) ? nil : "a Fashion-MNIST class, 0 to 9" },
          step: try p.double("step", default: 0.02) { $0 > 0 && $0 <= 1 ? nil : "a step in (0, 1]" },
          margin: try p.double("margin", default: 0.8) { $0 > 0 && $0 <= 10 ? nil : "a level in (0, 10]" },
          share: try p.double("share", default: 0.5) { $0 >= 0 && $0 <= 1 ? nil : "a share in [0, 1]" })
        if phase.kind == .labelShift && phase.classes.isEmpty { throw p.error("classes", "label-shift needs classes = [...]") }
        if [.morph, .slowDrift, .concept, .feedbackPoison].contains(phase.kind) {
          guard phase.source != phase.target else { throw p.error("target", "source and target must be different classes") }
          if (phase.kind == .morph || phase.kind == .feedbackPoison) && !(0...1).contains(phase.strength) {
            throw p.error("strength", "a morph strength in [0, 1]")
          }
        }
        try p.finish()
        phases.append(phase)
      }
      try top.finish()
      plan.scenario = DriftScenario(phases: phases)
      return plan
    } catch let e as TopologyError {
      throw UserError(e.description)
    }
  }

  func run() async throws {
    let plan = try Self.plan(scenario)
    let test = try FashionMNIST.load(.test, directory: data).dataset
    guard let base = URL(string: server), server.hasPrefix("http") else {
      if server.hasPrefix("tcp://") || server.hasPrefix("ipc://") {
        throw UserError(
          "byzsim traffic speaks HTTP only: replaying through the ZeroMQ door (\(server)) is not implemented yet; give the same server's http://HOST:PORT"
        )
      }
      throw UserError("--server must be http://HOST:PORT: got \(server)")
    }
    let d = test.shape.size
    let image = { (k: Int) in Array(test.features[(k * d)..<((k + 1) * d)]) }
    let attackerImages = 9000..<test.count
    // The attacker's own images by class (morph sources and targets), found once.
    let attackerByClass = Dictionary(grouping: attackerImages) { Int(test.labels[$0]) }
    var adversary = try await makeAdversary(plan, base: base, image: image, pool: attackerImages)
    let offset = adversary.map { $0.1 } ?? 0
    var rng = RandomStream(seed: plan.seed, purpose: .sampling, 0x5452)
    var cursor = 0
    var perPhase = [Int: (requests: Int, correct: Int)]()
    var errors = 0
    // Per request of a morph or slow-drift phase: (prediction number, source image?, labelled target?, strength).
    var morphs: [(prediction: Int, source: Bool, flipped: Bool, strength: Double)] = []
    // True labels waiting to be sent: (request index when due, the server's request number, label).
    var labelsDue: [(due: Int, request: UInt64, label: Int)] = []
    var labelsSent = 0, labelsRefused = 0
    var poisonSent = 0
    if plan.scenario.phases.contains(where: { $0.kind == .feedbackPoison }) && poisonToken == nil {
      throw UserError("a feedback-poison phase needs --poison-token: the attacker's own feedback credential")
    }
    let every = try deployment.flatMap { try DeployConfig.load(path: $0).monitor?.every } ?? 100
    let started = ContinuousClock.now
    let progress = ProgressLine()
    for i in 0..<plan.count {
      if plan.rate > 0 {
        let due = started + .nanoseconds(Int64(Double(i) / plan.rate * 1e9))
        if due > .now { try await Task.sleep(until: due, clock: .continuous) }
      }
      let phase = plan.scenario.phase(at: i)
      var index = cursor % test.count
      if let phase, phase.kind == .labelShift {
        while !phase.classes.contains(Int(test.labels[index])) {
          cursor += 1
          index = cursor % test.count
        }
      }
      cursor += 1
      var input = plan.scenario.apply(image(index), shape: test.shape, at: i, rng: &rng)
      var morphStrength: Double?
      if let phase, phase.kind == .morph || phase.kind == .slowDrift {
        let s = phase.kind == .morph ? plan.scenario.strength(at: i) : adversary?.0.strength ?? 0
        morphStrength = s
        if Int(test.labels[index]) == phase.source && s > 0 {
          let targets = attackerByClass[phase.target] ?? []
          input = SlowDriftAdversary.morph(input, toward: image(targets[rng.nextInt(below: targets.count)]), strength: s)
        }
      }
      let answer = try await predictRequest(base, input)
      let label = answer?.label
      let truth = plan.scenario.truth(Int(test.labels[index]), at: i)
      if let answer, feedbackToken != nil { labelsDue.append((i + plan.labelDelay, answer.request, truth)) }
      while let first = labelsDue.first, first.due <= i {
        labelsDue.removeFirst()
        if try await sendLabel(base, request: first.request, label: first.label, token: feedbackToken) {
          labelsSent += 1
        } else {
          labelsRefused += 1
        }
      }
      let key = phase?.start ?? 0
      var tally = perPhase[key] ?? (0, 0)
      tally.requests += 1
      if let label {
        if label == truth { tally.correct += 1 }
        adversary?.0.sent(input, label: label)
      } else {
        errors += 1
      }
      perPhase[key] = tally
      if let phase, let s = morphStrength {
        morphs.append((offset + i + 1, Int(test.labels[index]) == phase.source, label == phase.target, s))
      }
      if let phase, phase.kind == .feedbackPoison {
        morphs.append((offset + i + 1, Int(test.labels[index]) == phase.source, label == phase.target, phase.strength))
        if rng.nextDouble() < phase.share {
          let sources = attackerByClass[phase.source] ?? [], targets = attackerByClass[phase.target] ?? []
          let crafted = SlowDriftAdversary.morph(
            image(sources[rng.nextInt(below: sources.count)]), toward: image(targets[rng.nextInt(below: targets.count)]),
            strength: phase.strength)
          if let answer = try await predictRequest(base, crafted),
            try await sendLabel(base, request: answer.request, label: phase.target, token: poisonToken)
          {
            poisonSent += 1
          }
        }
      }
      if (offset + i + 1) % every == 0, phase?.kind == .slowDrift { adversary?.0.adjust() }
      if i % 50 == 0 || i == plan.count - 1 {
        let s = adversary.map { String(format: ", slow-drift strength %.3f", $0.0.strength) } ?? ""
        progress.update("traffic: \(i + 1)/\(plan.count) requests, \(errors) errors\(s)", force: i == plan.count - 1)
      }
    }
    progress.finish("traffic: \(plan.count) requests sent, \(errors) errors")
    let driftStart = plan.scenario.phases.first { $0.kind != .none }.map { $0.start + offset }
    var detectors: [(String, Int)] = []
    if let metricsToken { detectors = try await firstAlerts(base, token: metricsToken) }
    let phases = plan.scenario.phases.isEmpty ? [DriftScenario.Phase(start: 0, kind: .none)] : plan.scenario.phases
    let morphPhase = phases.first { $0.kind == .morph || $0.kind == .slowDrift || $0.kind == .feedbackPoison }
    func flipped(before first: Int?) -> Int { morphs.count { m in m.source && m.flipped && (first.map { m.prediction <= $0 } ?? true) } }
    func strength(at first: Int) -> Double { morphs.last { $0.prediction <= first }?.strength ?? 0 }
    if json {
      let phaseRows = phases.map { p -> String in
        let t = perPhase[p.start] ?? (0, 0)
        return
          "{\"start\":\(p.start),\"drift\":\"\(p.kind.rawValue)\",\"strength\":\(p.strength),\"ramp\":\(p.ramp),\"requests\":\(t.requests),"
          + "\"accuracy\":\(t.requests > 0 ? "\(Double(t.correct) / Double(t.requests))" : "null")}"
      }
      let detectorRows = detectors.map { name, first -> String in
        let delay = driftStart.map { first - $0 }
        return "\"\(name)\":{\"first_alert_prediction\":\(first),\"detection_delay\":\(delay.map { $0 >= 0 ? "\($0)" : "null" } ?? "null"),"
          + "\"false_alarm\":\(delay.map { $0 < 0 } ?? true)}"
      }
      var adversaryJSON = ""
      if let p = morphPhase {
        let before = detectors.map { "\"\($0.0)\":\(flipped(before: $0.1))" }.joined(separator: ",")
        let at = detectors.map { "\"\($0.0)\":\(strength(at: $0.1))" }.joined(separator: ",")
        adversaryJSON =
          ",\"adversary\":{\"drift\":\"\(p.kind.rawValue)\",\"source\":\(p.source),\"target\":\(p.target),"
          + "\"source_requests\":\(morphs.count { $0.source }),\"flipped\":\(flipped(before: nil)),"
          + "\"final_strength\":\(morphs.last?.strength ?? 0),\"max_strength\":\(morphs.map(\.strength).max() ?? 0),"
          + "\"flipped_before_first_alert\":{\(before)},\"strength_at_first_alert\":{\(at)}}"
      }
      print(
        "{\"requests\":\(plan.count),\"errors\":\(errors),\"phases\":[\(phaseRows.joined(separator: ","))],"
          + "\"drift_start\":\(driftStart.map { "\($0)" } ?? "null"),\"offset\":\(offset),\"labels_sent\":\(labelsSent),\"labels_refused\":\(labelsRefused),\"poison_labels\":\(poisonSent),\"detectors\":{\(detectorRows.joined(separator: ","))}"
          + adversaryJSON + "}")
    } else {
      if feedbackToken != nil {
        print("labels: \(labelsSent) sent \(plan.labelDelay) requests after their predictions, \(labelsRefused) refused")
      }
      if offset > 0 { print("slow-drift: \(offset) requests labelled the attacker's own sample first (prediction numbers include them)") }
      for p in phases {
        let t = perPhase[p.start] ?? (0, 0)
        print(
          String(
            format: "from request %d: %@ (strength %g, ramp %d): %d requests, accuracy %.4f", p.start, p.kind.rawValue, p.strength, p.ramp,
            t.requests, t.requests > 0 ? Double(t.correct) / Double(t.requests) : .nan))
      }
      if let p = morphPhase {
        print(
          String(
            format: "%@ %d → %d: %d of %d source images labelled %d; strength at the end %.3f, at most %.3f", p.kind.rawValue, p.source,
            p.target, flipped(before: nil), morphs.count { $0.source }, p.target, morphs.last?.strength ?? 0,
            morphs.map(\.strength).max() ?? 0))
      }
      for (name, first) in detectors {
        let damage =
          morphPhase == nil ? "" : String(format: "; %d flipped before it, strength %.3f", flipped(before: first), strength(at: first))
        if let s = driftStart, first >= s {
          print("\(name): first alert at prediction \(first), \(first - s) after the drift began\(damage)")
        } else {
          print(
            "\(name): first alert at prediction \(first)\(driftStart == nil ? "" : ", before the drift began (a false alarm)")\(damage)")
        }
      }
      if morphPhase != nil {
        for name in adversary?.0.detectors.map(\.rawValue) ?? [] where !detectors.contains(where: { $0.0 == name }) {
          print("\(name): no alert; \(flipped(before: nil)) flipped")
        }
      }
    }
  }

  /// The slow-drift attacker, if the scenario has one: it labels its own sample through the
  /// server (returned as the number of those requests) and reads the monitor's settings.
  func makeAdversary(_ plan: Plan, base: URL, image: (Int) -> [Float], pool: Range<Int>) async throws -> (SlowDriftAdversary, Int)? {
    guard let phase = plan.scenario.phases.first(where: { $0.kind == .slowDrift }) else { return nil }
    guard let deployment else {
      throw UserError("a slow-drift phase needs --deployment FILE: the attacker reads the detectors and thresholds from its [monitor]")
    }
    let config = try DeployConfig.load(path: deployment)
    guard let m = config.monitor else {
      throw UserError("\(deployment) has no [monitor]: there is nothing for a slow-drift attacker to evade")
    }
    let detectors = m.detectors.compactMap { WindowDetector(rawValue: $0.rawValue) }
    let n = min(pool.count, max(m.window, 300))
    var rows: [[Double]] = [], labels: [Double] = []
    for k in pool.prefix(n) {
      let x = image(k)
      guard let label = try await predict(base, x) else { throw UserError("the server refused to label the attacker's own sample") }
      rows.append(x.map(Double.init))
      labels.append(Double(label))
    }
    let adversary = SlowDriftAdversary(
      reference: WindowReference(rows: rows, labels: labels), detectors: detectors,
      settings: WindowSettings(alpha: m.alpha, psiThreshold: m.psiThreshold, mmdPermutations: m.mmdPermutations), window: m.window,
      margin: phase.margin, step: phase.step)
    return (adversary, n)
  }

  /// One image's predicted label (nil: the server refused or failed).
  func predict(_ base: URL, _ image: [Float]) async throws -> Int? { try await predictRequest(base, image)?.label }

  /// Sends request `request`'s true label; false if the server refused it.
  func sendLabel(_ base: URL, request: UInt64, label: Int, token: String?) async throws -> Bool {
    var r = URLRequest(url: base.appendingPathComponent("v1/feedback"))
    r.httpMethod = "POST"
    r.setValue("application/json", forHTTPHeaderField: "Content-Type")
    if let token { r.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
    r.httpBody = Data("{\"request\":\(request),\"labels\":[\(label)]}".utf8)
    let (data, response): (Data, URLResponse)
    do { (data, response) = try await URLSession.shared.data(for: r) } catch {
      throw UserError("cannot reach \(base): \(error.localizedDescription)")
    }
    let status = (response as? HTTPURLResponse)?.statusCode ?? 0
    if status == 401 || status == 403 || status == 404 && String(decoding: data, as: UTF8.self).contains("not enabled") {
      throw UserError("\(base)/v1/feedback refused the feedback token (HTTP \(status)): \(String(decoding: data, as: UTF8.self))")
    }
    return status == 200
  }

  /// One image's predicted label and the server's request number (nil: refused or failed).
  func predictRequest(_ base: URL, _ image: [Float]) async throws -> (label: Int, request: UInt64)? {
    var request = URLRequest(url: base.appendingPathComponent("v1/predict"))
    request.httpMethod = "POST"
    request.setValue("application/json", forHTTPHeaderField: "Content-Type")
    if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
    request.httpBody = Data(("{\"input\":[" + image.map { "\($0)" }.joined(separator: ",") + "]}").utf8)
    let (data, response): (Data, URLResponse)
    do { (data, response) = try await URLSession.shared.data(for: request) } catch {
      throw UserError("cannot reach \(base): \(error.localizedDescription)")
    }
    guard (response as? HTTPURLResponse)?.statusCode == 200,
      let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let outputs = json["outputs"] as? [[String: Any]],
      let label = outputs.first?["label"] as? Int, let request = (json["request"] as? NSNumber)?.uint64Value
    else { return nil }
    return (label, request)
  }

  /// (detector, predictions at its first alert) from the server's /metrics; 0 means never. The
  /// window detectors run behind the requests, so this waits until the server's evaluation
  /// count stops moving (at most 60 s).
  func firstAlerts(_ base: URL, token: String) async throws -> [(String, Int)] {
    func metrics() async throws -> String {
      var request = URLRequest(url: base.appendingPathComponent("metrics"))
      request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
      let (data, response) = try await URLSession.shared.data(for: request)
      guard (response as? HTTPURLResponse)?.statusCode == 200 else { throw UserError("\(base)/metrics refused the metrics token") }
      return String(decoding: data, as: UTF8.self)
    }
    func evaluations(_ text: String) -> String? {
      text.split(separator: "\n").first { $0.hasPrefix("byzsim_drift_evaluated_predictions ") }.map(String.init)
    }
    var text = try await metrics()
    for _ in 0..<120 {
      try await Task.sleep(for: .milliseconds(500))
      let next = try await metrics()
      let settled = evaluations(next) == evaluations(text)
      text = next
      if settled { break }
    }
    var out: [(String, Int)] = []
    for line in text.split(separator: "\n") where line.hasPrefix("byzsim_drift_first_alert_prediction{") {
      guard let r = line.range(of: "detector=\""), let value = Double(line.split(separator: " ").last ?? ""), value > 0 else { continue }
      out.append((String(line[r.upperBound...].prefix { $0 != "\"" }), Int(value)))
    }
    return out.sorted { $0.0 < $1.0 }
  }
}
