import Data
import Foundation
import Testing

/// `byzsim traffic` against `byzsim serve` with a monitor: a brightness shift from request 200
/// lowers accuracy and the KS detector's first alert comes after the shift began.
@Suite(.serialized) struct TrafficCommandTests {
  @Test func aShiftIsDetectedAfterItBegins() throws {
    let test = try FashionMNIST.load(.test, directory: FashionMNIST.defaultDirectory).dataset
    let dir = CLI.temporaryDirectory().path
    // The reference: test images 5,000–5,299 (the traffic replays images from 0).
    let reference = (5000..<5300).map { i in
      test.features[(i * 784)..<((i + 1) * 784)].map { String(format: "%.4f", $0) }.joined(separator: ",")
    }
    try reference.joined(separator: "\n").write(toFile: dir + "/reference.csv", atomically: true, encoding: .utf8)
    let (config, model, _) = try ServeTests.deployment(
      extra: "[monitor]\nreference = \"\(dir)/reference.csv\"\nwindow = 100\nevery = 50\ndetectors = [\"ks\", \"chi2\"]")
    let server = try ServerProcess([model, "--config", config])
    defer { server.stop() }
    try """
    count = 400
    rate = 0
    [[phase]]
    start = 0
    drift = "none"
    [[phase]]
    start = 200
    drift = "brightness"
    strength = 0.5
    """.write(toFile: dir + "/scenario.toml", atomically: true, encoding: .utf8)
    let r = try CLI.run([
      "traffic", "--server", "http://127.0.0.1:\(server.port)", "--token", ServeTests.tokens["bob"]!, "--metrics-token",
      ServeTests.tokens["ops"]!, "--scenario", dir + "/scenario.toml", "--json",
    ])
    #expect(r.status == 0, "\(r.stderr)")
    let json = try #require(r.json)
    #expect(json["errors"] as? Int == 0 && json["drift_start"] as? Int == 200)
    let phases = try #require(json["phases"] as? [[String: Any]])
    #expect(phases.count == 2 && (phases[0]["accuracy"] as? Double ?? 0) > (phases[1]["accuracy"] as? Double ?? 1) + 0.1, "\(phases)")
    let ks = try #require((json["detectors"] as? [String: [String: Any]])?["ks"], "\(r.stdout)")
    #expect(ks["false_alarm"] as? Bool == false && (ks["detection_delay"] as? Int ?? -1) >= 0, "\(ks)")
  }

  @Test func badScenariosAreClearErrors() throws {
    let dir = CLI.temporaryDirectory().path
    for (text, message) in [
      ("count = 0", "count"), ("[[phase]]\nstart = 0\ndrift = \"fog\"", "drift"), ("[[phase]]\ndrift = \"label-shift\"", "classes"),
      ("speed = 3", "speed"),
    ] {
      try text.write(toFile: dir + "/s.toml", atomically: true, encoding: .utf8)
      let r = try CLI.run(["traffic", "--server", "http://127.0.0.1:1", "--scenario", dir + "/s.toml"])
      #expect(r.status != 0 && r.stderr.contains(message), "\(text): \(r.stderr)")
    }
  }
}

/// The slow-drift attacker through a real server: it labels its own sample first (offset), reads
/// the monitor's settings from the deployment file, and reports what it did; a scenario it cannot
/// run is a clear error.
@Suite(.serialized) struct SlowDriftTrafficTests {
  @Test func theAttackerSteersItsStrengthAndReportsItsDamage() throws {
    let test = try FashionMNIST.load(.test, directory: FashionMNIST.defaultDirectory).dataset
    let dir = CLI.temporaryDirectory().path
    let reference = (5000..<5300).map { i in
      test.features[(i * 784)..<((i + 1) * 784)].map { String(format: "%.4f", $0) }.joined(separator: ",")
    }
    try reference.joined(separator: "\n").write(toFile: dir + "/reference.csv", atomically: true, encoding: .utf8)
    let (config, model, _) = try ServeTests.deployment(
      extra: "[monitor]\nreference = \"\(dir)/reference.csv\"\nwindow = 100\nevery = 25\nalpha = 0.01\ndetectors = [\"ks\"]")
    let server = try ServerProcess([model, "--config", config])
    defer { server.stop() }
    try """
    count = 600
    rate = 0
    [[phase]]
    start = 0
    drift = "none"
    [[phase]]
    start = 100
    drift = "slow-drift"
    source = 0
    target = 6
    step = 0.05
    """.write(toFile: dir + "/slow.toml", atomically: true, encoding: .utf8)
    let args = [
      "traffic", "--server", "http://127.0.0.1:\(server.port)", "--token", ServeTests.tokens["bob"]!, "--metrics-token",
      ServeTests.tokens["ops"]!, "--scenario", dir + "/slow.toml",
    ]
    let r = try CLI.run(args + ["--deployment", config, "--json"])
    #expect(r.status == 0, "\(r.stderr)")
    let json = try #require(r.json)
    #expect(json["offset"] as? Int == 300 && json["drift_start"] as? Int == 400, "\(json)")
    let adversary = try #require(json["adversary"] as? [String: Any])
    let sources = try #require(adversary["source_requests"] as? Int), flipped = try #require(adversary["flipped"] as? Int)
    // Test images 100–599 hold about 50 of class 0; the strength moved off 0 in steps of 0.05.
    #expect(sources > 20 && flipped <= sources, "\(adversary)")
    let top = try #require(adversary["max_strength"] as? Double)
    #expect(top > 0 && top <= 1 && abs(top / 0.05 - (top / 0.05).rounded()) < 1e-9, "\(adversary)")

    let missing = try CLI.run(args)
    #expect(missing.status != 0 && missing.stderr.contains("needs --deployment"), "\(missing.stderr)")
    try "count = 10\n[[phase]]\ndrift = \"morph\"\nsource = 3\ntarget = 3\n".write(
      toFile: dir + "/same.toml", atomically: true, encoding: .utf8)
    let same = try CLI.run(["traffic", "--server", "http://127.0.0.1:1", "--scenario", dir + "/same.toml"])
    #expect(same.status != 0 && same.stderr.contains("source and target must be different"), "\(same.stderr)")
  }
}

/// Labels fed back through a real server: only the feedback role may send them, and `byzsim
/// traffic` sends each true label a set number of requests late — under concept drift (trousers,
/// class 1, relabelled 9 from request 600) the labelled accuracy falls while the inputs do not move.
@Suite(.serialized) struct FeedbackTrafficTests {
  @Test func delayedLabelsShowAConceptDriftTheInputsHide() throws {
    let dir = CLI.temporaryDirectory().path
    let labeller = "labeller-token-0123456789"
    let hash = try CLI.run(["serve", "--hash-token", labeller]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    let (config, model, _) = try ServeTests.deployment(
      extra: "[feedback]\nwindow = 300\nblock = 50\n[[credentials]]\nid = \"labeller\"\nrole = \"feedback\"\ntoken_sha256 = \"\(hash)\"")
    let server = try ServerProcess([model, "--config", config])
    defer { server.stop() }
    let image = "[" + [String](repeating: "0.5", count: 784).joined(separator: ",") + "]"
    let predicted = try server.curl("POST", "/v1/predict", token: ServeTests.tokens["bob"]!, body: "{\"input\": \(image)}")
    let json = try #require(try JSONSerialization.jsonObject(with: Data(predicted.body.utf8)) as? [String: Any])
    let request = try #require(json["request"] as? Int)
    let label = "{\"request\": \(request), \"labels\": [3]}"
    #expect(try server.curl("POST", "/v1/feedback", token: ServeTests.tokens["bob"]!, body: label).status == 403)
    #expect(try server.curl("POST", "/v1/feedback", token: labeller, body: label).status == 200)
    #expect(try server.curl("POST", "/v1/feedback", token: labeller, body: label).status == 409)
    #expect(try server.curl("POST", "/v1/feedback", token: labeller, body: "{\"request\": \(request), \"labels\": [10]}").status == 400)
    let metrics = try server.curl("GET", "/metrics", token: ServeTests.tokens["ops"]!).body
    #expect(
      metrics.contains("byzsim_feedback_labels_total 1")
        && metrics.contains("byzsim_feedback_rejected_total{reason=\"already-labelled\"} 1"))

    try """
    count = 1500
    rate = 0
    label_delay = 40
    [[phase]]
    start = 0
    drift = "none"
    [[phase]]
    start = 600
    drift = "concept"
    source = 1
    target = 9
    """.write(toFile: dir + "/concept.toml", atomically: true, encoding: .utf8)
    let r = try CLI.run([
      "traffic", "--server", "http://127.0.0.1:\(server.port)", "--token", ServeTests.tokens["bob"]!, "--metrics-token",
      ServeTests.tokens["ops"]!, "--feedback-token", labeller, "--scenario", dir + "/concept.toml", "--json",
    ])
    #expect(r.status == 0, "\(r.stderr)")
    let out = try #require(r.json)
    #expect(out["labels_sent"] as? Int == 1460 && out["labels_refused"] as? Int == 0, "\(out)")
    let phases = try #require(out["phases"] as? [[String: Any]])
    let before = try #require(phases[0]["accuracy"] as? Double), after = try #require(phases[1]["accuracy"] as? Double)
    // A tenth of the traffic is trousers, which the model gets mostly right, and now every one is wrong.
    #expect(before - after > 0.04, "\(phases)")
    let state = try server.curl("GET", "/v1/monitor", token: ServeTests.tokens["ops"]!).body
    let monitor = try #require(try JSONSerialization.jsonObject(with: Data(state.utf8)) as? [String: Any])
    let feedback = try #require(monitor["feedback"] as? [String: Any])
    #expect(feedback["labels"] as? Int == 1461 && (feedback["readings"] as? [[String: Any]])?.count == 2, "\(feedback)")
  }
}
