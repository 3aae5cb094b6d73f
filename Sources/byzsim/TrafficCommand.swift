import ArgumentParser
import Data
import Drift
import Foundation
import Runtime
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
        [[phase]]
        start = 0
        drift = "none"
        [[phase]]
        start = 1000        # from this request on
        drift = "brightness"   # none, brightness, contrast, noise, rotation, occlusion, label-shift
        strength = 0.3      # brightness: added; contrast: factor − 1; noise: σ; rotation: degrees; occlusion: side/28
        ramp = 0            # requests over which the strength grows (0: abrupt)
        classes = [0, 1]    # label-shift: the classes drawn
      With --metrics-token, the server's byzsim_drift_first_alert_prediction series are read at the
      end: detection delay = first alert − the first drifting phase's start (a fresh server counts
      predictions from 0; an alert before the drift is a false alarm).
      --json keys: requests, errors, phases[{start, drift, strength, ramp, requests, accuracy}],
      drift_start, detectors{NAME: {first_alert_prediction, detection_delay, false_alarm}}.
      """)

  @Option(help: "The server's base URL, http://HOST:PORT.")
  var server: String
  @Option(help: "A predict token.")
  var token: String?
  @Option(help: "A metrics token, to read the detectors' alerts at the end.")
  var metricsToken: String?
  @Option(help: "The scenario file (TOML).")
  var scenario: String
  @Option(help: "The Fashion-MNIST directory.", completion: .directory)
  var data = FashionMNIST.defaultDirectory
  @Flag(help: "Print one JSON object.")
  var json = false

  struct Plan {
    var count = 1000
    var rate = 100.0
    var seed: UInt64 = 1
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
      var phases: [DriftScenario.Phase] = []
      let kinds = DriftScenario.Kind.allCases.map(\.rawValue)
      for var p in try top.tableArray("phase") {
        let kind = try p.string("drift", default: nil) { kinds.contains($0) ? nil : "one of \(kinds.joined(separator: ", "))" }
        let phase = DriftScenario.Phase(
          start: try p.int("start", default: 0) { $0 >= 0 ? nil : "a request number ≥ 0" }, kind: DriftScenario.Kind(rawValue: kind)!,
          strength: try p.double("strength", default: 0) { $0.isFinite && abs($0) <= 360 ? nil : "a finite strength" },
          ramp: try p.int("ramp", default: 0) { $0 >= 0 ? nil : "requests ≥ 0" },
          classes: try p.intArray("classes", default: []) { $0.allSatisfy { (0..<1000).contains($0) } ? nil : "class numbers from 0" })
        if phase.kind == .labelShift && phase.classes.isEmpty { throw p.error("classes", "label-shift needs classes = [...]") }
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
      throw UserError("--server must be http://HOST:PORT: got \(server)")
    }
    let d = test.shape.size
    var rng = RandomStream(seed: plan.seed, purpose: .sampling, 0x5452)
    var cursor = 0
    var perPhase = [Int: (requests: Int, correct: Int)]()
    var errors = 0
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
      let image = plan.scenario.apply(Array(test.features[(index * d)..<((index + 1) * d)]), shape: test.shape, at: i, rng: &rng)
      let label = try await predict(base, image)
      let key = phase?.start ?? 0
      var tally = perPhase[key] ?? (0, 0)
      tally.requests += 1
      if let label {
        if label == Int(test.labels[index]) { tally.correct += 1 }
      } else {
        errors += 1
      }
      perPhase[key] = tally
      if i % 50 == 0 || i == plan.count - 1 {
        progress.update("traffic: \(i + 1)/\(plan.count) requests, \(errors) errors", force: i == plan.count - 1)
      }
    }
    progress.finish("traffic: \(plan.count) requests sent, \(errors) errors")
    let driftStart = plan.scenario.phases.first { $0.kind != .none }?.start
    var detectors: [(String, Int)] = []
    if let metricsToken { detectors = try await firstAlerts(base, token: metricsToken) }
    let phases = plan.scenario.phases.isEmpty ? [DriftScenario.Phase(start: 0, kind: .none)] : plan.scenario.phases
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
      print(
        "{\"requests\":\(plan.count),\"errors\":\(errors),\"phases\":[\(phaseRows.joined(separator: ","))],"
          + "\"drift_start\":\(driftStart.map { "\($0)" } ?? "null"),\"detectors\":{\(detectorRows.joined(separator: ","))}}")
    } else {
      for p in phases {
        let t = perPhase[p.start] ?? (0, 0)
        print(
          String(
            format: "from request %d: %@ (strength %g, ramp %d): %d requests, accuracy %.4f", p.start, p.kind.rawValue, p.strength, p.ramp,
            t.requests, t.requests > 0 ? Double(t.correct) / Double(t.requests) : .nan))
      }
      for (name, first) in detectors {
        if let s = driftStart, first >= s {
          print("\(name): first alert at prediction \(first), \(first - s) after the drift began")
        } else {
          print("\(name): first alert at prediction \(first)\(driftStart == nil ? "" : ", before the drift began (a false alarm)")")
        }
      }
    }
  }

  /// One image's predicted label (nil: the server refused or failed).
  func predict(_ base: URL, _ image: [Float]) async throws -> Int? {
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
      let label = outputs.first?["label"] as? Int
    else { return nil }
    return label
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
