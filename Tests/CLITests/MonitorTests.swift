import Data
import Foundation
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The drift monitor inside `byzsim serve`: in-distribution traffic raises no KS or χ² alert,
/// brightened traffic raises them, and a real Prometheus (Debian's) evaluating the shipped
/// rules file (deploy/prometheus/byzsim-drift-rules.yml) fires the input-drift alert.
@Suite(.serialized) struct MonitorTests {
  static var rulesFile: String {
    var root = URL(fileURLWithPath: #filePath)
    while !FileManager.default.fileExists(atPath: root.appendingPathComponent("Package.swift").path) { root.deleteLastPathComponent() }
    return root.appendingPathComponent("deploy/prometheus/byzsim-drift-rules.yml").path
  }

  func body(_ images: [[Float]]) -> String {
    "{\"inputs\": [" + images.map { "[" + $0.map { String(format: "%.4f", $0) }.joined(separator: ",") + "]" }.joined(separator: ",") + "]}"
  }

  func metric(_ text: String, _ name: String, _ detector: String) -> Double? {
    for line in text.split(separator: "\n") where line.hasPrefix("\(name){") && line.contains("detector=\"\(detector)\"") {
      return Double(line.split(separator: " ").last ?? "")
    }
    return nil
  }

  @Test func driftRaisesAlertsThatPrometheusFires() async throws {
    let test = try FashionMNIST.load(.test, directory: FashionMNIST.defaultDirectory).dataset
    let image = { (i: Int) in Array(test.features[(i * 784)..<((i + 1) * 784)]) }
    let dir = CLI.temporaryDirectory().path
    try ServeTests.writeReference(test, images: 0..<300, to: dir + "/reference.csv")
    let (config, model, _) = try ServeTests.deployment(
      extra: """
        [monitor]
        reference = "\(dir)/reference.csv"
        window = 200
        every = 100
        detectors = ["ks", "chi2", "psi", "cusum", "page-hinkley"]
        """)
    let server = try ServerProcess([model, "--config", config])
    defer { server.stop() }
    let ops = ServeTests.tokens["ops"]!, bob = ServeTests.tokens["bob"]!
    func metrics() throws -> String { try server.curl("GET", "/metrics", token: ops).body }
    func waitFor(_ condition: (String) -> Bool) async throws -> String {
      var text = try metrics()
      for _ in 0..<100 where !condition(text) {
        try await Task.sleep(for: .milliseconds(100))
        text = try metrics()
      }
      return text
    }
    // 200 held-out images from the reference's distribution.
    for start in stride(from: 300, to: 500, by: 50) {
      #expect(try server.curl("POST", "/v1/predict", token: bob, body: body((start..<(start + 50)).map(image))).status == 200)
    }
    func evaluated(_ text: String) -> Double {
      text.split(separator: "\n").first { $0.hasPrefix("byzsim_drift_evaluated_predictions ") }.flatMap {
        Double($0.split(separator: " ").last!)
      } ?? 0
    }
    // The window fills at 200 predictions: the first evaluation.
    var text = try await waitFor { evaluated($0) == 200 }
    #expect(metric(text, "byzsim_drift_alert", "ks") == 0, "\(text)")
    #expect(metric(text, "byzsim_drift_alert", "chi2") == 0)
    #expect((metric(text, "byzsim_drift_p_value", "ks") ?? 0) > 0.05)
    // 200 brightened images: x/2 + 1/2.
    for start in stride(from: 500, to: 700, by: 50) {
      let bright = (start..<(start + 50)).map { image($0).map { $0 / 2 + 0.5 } }
      #expect(try server.curl("POST", "/v1/predict", token: bob, body: body(bright)).status == 200)
    }
    // The evaluation due at 400 predictions sees only brightened images.
    text = try await waitFor { evaluated($0) == 400 }
    #expect(evaluated(text) == 400)
    for detector in ["ks", "chi2", "psi"] {
      #expect(metric(text, "byzsim_drift_alert", detector) == 1, "\(detector): \(text)")
      #expect((metric(text, "byzsim_drift_first_alert_prediction", detector) ?? 0) > 200, "\(detector)")
    }
    #expect((metric(text, "byzsim_drift_p_value", "ks") ?? 1) < 0.05)

    // Prometheus scrapes the server and evaluates the shipped rules.
    let prometheus = try PrometheusProcess(scraping: server.port, token: ops, dir: dir, ruleFiles: [Self.rulesFile])
    defer { prometheus.stop() }
    let promPort = prometheus.port
    var firing: [String] = []
    for _ in 0..<60 where !firing.contains("ks") {
      try await Task.sleep(for: .milliseconds(500))
      guard let url = URL(string: "http://127.0.0.1:\(promPort)/api/v1/alerts"),
        let (data, _) = try? await URLSession.shared.data(from: url),
        let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
        let alerts = (json["data"] as? [String: Any])?["alerts"] as? [[String: Any]]
      else { continue }
      firing = alerts.compactMap { a in
        guard a["state"] as? String == "firing", let labels = a["labels"] as? [String: String], labels["alertname"] == "ByzSimInputDrift"
        else { return nil }
        return labels["detector"]
      }
    }
    #expect(firing.contains("ks"), "firing: \(firing)")

    // The dashboard's data: metrics role only.
    let state = try server.curl("GET", "/v1/monitor", token: ops)
    #expect(state.status == 200, "\(state.body)")
    let json = try #require(try JSONSerialization.jsonObject(with: Data(state.body.utf8)) as? [String: Any])
    let digest = try #require(json["model"] as? String)
    #expect(json["predictions"] as? Int == 400 && (json["class_counts"] as? [Int])?.reduce(0, +) == 400)
    #expect(try server.curl("GET", "/v1/monitor", token: bob).status == 403)
    #expect(try server.curl("GET", "/v1/monitor").status == 401)
    // The page in headless Chromium: its script fetched /v1/monitor with the fragment's token
    // and drew the model, the class mix (400 predictions) and the alerting detectors.
    let url = "http://127.0.0.1:\(server.port)/dashboard"
    let dom = try Chromium.dumpDOM(url + "#token=" + ops, dir: dir)
    #expect(dom.contains("data-ready=\"true\""), "\(dom)")
    #expect(dom.contains(String(digest.prefix(16))))
    for detector in ["ks", "chi2", "psi"] {
      #expect(dom.contains("<tr data-detector=\"\(detector)\" data-alert=\"true\""), "\(detector) not alerting on the page")
    }
    #expect(dom.contains("ks at prediction"))
    let drawn = dom.matches(of: /data-class="\d+" data-count="(\d+)"/).map { Int($0.output.1)! }
    #expect(drawn.count == 10 && drawn.reduce(0, +) == 400, "\(drawn)")
    // Saved in the scratch directory, or where $BYZSIM_ARTIFACTS says (to look at it after the run).
    let shot = (ProcessInfo.processInfo.environment["BYZSIM_ARTIFACTS"] ?? dir) + "/dashboard.png"
    try Chromium.screenshot(url + "#token=" + ops, to: shot, dir: dir)
    let png = try Data(contentsOf: URL(fileURLWithPath: shot))
    #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]) && png.count > 20_000, "\(png.count) bytes")
    // Without the token the page says what is missing instead of drawing.
    let refused = try Chromium.dumpDOM(url, dir: dir)
    #expect(refused.contains("HTTP 401") && !refused.contains("data-ready"), "\(refused)")
  }

  /// The query auditor (`[query_audit]`, action refuse): a caller sending held-out images stays
  /// unflagged; one sending uniform noise — what a random-query extraction sends — is flagged
  /// after its first window and refused from then on, while the other is still served.
  @Test func theQueryAuditorRefusesACallerWhoseQueriesAreUnlikeTheData() async throws {
    let test = try FashionMNIST.load(.test, directory: FashionMNIST.defaultDirectory).dataset
    let image = { (i: Int) in Array(test.features[(i * 784)..<((i + 1) * 784)]) }
    let dir = CLI.temporaryDirectory().path
    try ServeTests.writeReference(test, images: 0..<300, to: dir + "/reference.csv")
    let eve = "eve-token-0123456789abc"
    let hash = try CLI.run(["serve", "--hash-token", eve]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    let (config, model, _) = try ServeTests.deployment(
      extra: """
        [query_audit]
        reference = "\(dir)/reference.csv"
        window = 100
        every = 50
        action = "refuse"
        [[credentials]]
        id = "eve"
        role = "predict"
        token_sha256 = "\(hash)"
        output = "label"
        """)
    let server = try ServerProcess([model, "--config", config])
    defer { server.stop() }
    let bob = ServeTests.tokens["bob"]!, ops = ServeTests.tokens["ops"]!
    for start in stride(from: 300, to: 500, by: 50) {
      #expect(try server.curl("POST", "/v1/predict", token: bob, body: body((start..<(start + 50)).map(image))).status == 200)
    }
    var state: UInt64 = 42  // a seeded LCG: the same noise every run
    func uniform() -> Float {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return Float(state >> 40) / Float(1 << 24)
    }
    for _ in 0..<2 {
      let noise = (0..<50).map { _ in (0..<784).map { _ in uniform() } }
      #expect(try server.curl("POST", "/v1/predict", token: eve, body: body(noise)).status == 200)
    }
    func entries() throws -> [[String: Any]] {
      let state = try server.curl("GET", "/v1/monitor", token: ops).body
      let json = try JSONSerialization.jsonObject(with: Data(state.utf8)) as? [String: Any]
      return json?["query_audit"] as? [[String: Any]] ?? []
    }
    var audit = try entries()
    for _ in 0..<100 where !audit.contains(where: { $0["credential"] as? String == "eve" && $0["flagged"] as? Bool == true }) {
      try await Task.sleep(for: .milliseconds(100))
      audit = try entries()
    }
    let eveEntry = try #require(audit.first { $0["credential"] as? String == "eve" })
    let bobEntry = try #require(audit.first { $0["credential"] as? String == "bob" })
    #expect(eveEntry["flagged"] as? Bool == true && eveEntry["flagged_at_query"] as? Int == 100, "\(audit)")
    #expect(bobEntry["flagged"] as? Bool == false && (bobEntry["p_value"] as? Double ?? 0) > 0.01, "\(audit)")
    let refused = try server.curl("POST", "/v1/predict", token: eve, body: body([image(600)]))
    #expect(refused.status == 403 && refused.body.contains("query auditor"), "\(refused.body)")
    #expect(try server.curl("POST", "/v1/predict", token: bob, body: body([image(600)])).status == 200)
    #expect(try server.curl("GET", "/metrics", token: ops).body.contains("byzsim_query_audit_flagged{credential=\"eve\"} 1"))
  }

  @Test func aBadMonitorSectionIsAClearError() throws {
    let dir = CLI.temporaryDirectory().path
    try "1,2\n3,4\n".write(toFile: dir + "/narrow.csv", atomically: true, encoding: .utf8)
    let base = try ServeTests.deployment()
    for (extra, message) in [
      ("[monitor]\nreference = \"\(dir)/narrow.csv\"", "columns"),
      ("[monitor]\nreference = \"\(dir)/missing.csv\"", "cannot be read"),
      ("[monitor]\nreference = \"\(dir)/narrow.csv\"\ndetectors = [\"ks\", \"vibes\"]", "detectors"),
      ("[monitor]\nreference = \"\(dir)/narrow.csv\"\nwindow = 3", "window"),
      ("[monitor]\nreference = \"\(dir)/narrow.csv\"\ncolour = 1", "colour"),
      ("[query_audit]\nreference = \"\(dir)/narrow.csv\"\ndetector = \"psi\"", "ks or mmd"),
      ("[query_audit]\nreference = \"\(dir)/narrow.csv\"\naction = \"ban\"", "flag or refuse"),
      ("[query_audit]\nreference = \"\(dir)/narrow.csv\"", "the model takes 784"),
      // 20 permutations: the smallest p is 1/21 > 0.01, so MMD could never alert.
      ("[monitor]\nreference = \"\(dir)/narrow.csv\"\nalpha = 0.01\nmmd_permutations = 20\ndetectors = [\"mmd\"]", "use at least 100"),
    ] {
      // One trained model for every case: each case's file is the base file with its section.
      let text = try String(contentsOfFile: base.config, encoding: .utf8)
      let config = dir + "/case.toml"
      try text.replacingOccurrences(
        of: "[[credentials]]", with: extra + "\n[[credentials]]", options: [], range: text.range(of: "[[credentials]]")
      )
      .write(toFile: config, atomically: true, encoding: .utf8)
      let r = try CLI.run(["serve", base.model, "--config", config, "--port", "0"])
      #expect(r.status != 0 && r.stderr.contains(message), "\(extra): \(r.stderr)")
    }
  }
}
