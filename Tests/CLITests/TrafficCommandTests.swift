import Data
import Foundation
import TestSupport
import Testing

/// `byzsim traffic` against `byzsim serve` with a monitor: a brightness shift from request 200
/// lowers accuracy and the KS detector's first alert comes after the shift began.
@Suite(.serialized) struct TrafficCommandTests {
  @Test func aShiftIsDetectedAfterItBegins() throws {
    let test = try FashionMNIST.load(.test, directory: FashionMNIST.defaultDirectory).dataset
    let dir = CLI.temporaryDirectory().path
    // The reference: test images 5,000–5,299 (the traffic replays images from 0).
    try ServeTests.writeReference(test, images: 5000..<5300, to: dir + "/reference.csv")
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
    try "count = 10".write(toFile: dir + "/ok.toml", atomically: true, encoding: .utf8)
    let zmq = try CLI.run(["traffic", "--server", "tcp://127.0.0.1:5555", "--scenario", dir + "/ok.toml"])
    #expect(zmq.status != 0 && zmq.stderr.contains("HTTP only"), "\(zmq.stderr)")
  }
}

/// The slow-drift attacker through a real server: it labels its own sample first (offset), reads
/// the monitor's settings from the deployment file, and reports what it did; a scenario it cannot
/// run is a clear error.
@Suite(.serialized) struct SlowDriftTrafficTests {
  @Test func theAttackerSteersItsStrengthAndReportsItsDamage() throws {
    let test = try FashionMNIST.load(.test, directory: FashionMNIST.defaultDirectory).dataset
    let dir = CLI.temporaryDirectory().path
    try ServeTests.writeReference(test, images: 5000..<5300, to: dir + "/reference.csv")
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

/// Online retraining on feedback, and poisoning through it: a server with `[online]` (every 100
/// labels, per-credential chunks, the mean) retrains as labels arrive; the retrained model is the
/// one served (`/v1/model` answers a new safetensors file that Python's safetensors reads, with
/// the same tensors and the retraining count in its metadata); and an attacker labelling
/// near-boundary T-shirts as shirts through its own feedback credential makes the model read
/// more honest T-shirts as shirts than the same traffic without it.
@Suite(.serialized) struct OnlinePoisoningTests {
  func deployment(_ dir: String, aggregator: String) throws -> (config: String, model: String) {
    func hash(_ t: String) throws -> String {
      try CLI.run(["serve", "--hash-token", t]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
    let (config, model, _) = try ServeTests.deployment(
      extra: """
        weights_route = true
        [feedback]
        window = 200
        block = 50
        [online]
        every = 100
        chunk = 25
        aggregator = \(aggregator)
        [[credentials]]
        id = "labeller"
        role = "feedback"
        token_sha256 = "\(try hash("labeller-token-0123456789"))"
        [[credentials]]
        id = "mallory"
        role = "feedback"
        token_sha256 = "\(try hash("mallory-token-0123456789"))"
        [[credentials]]
        id = "weights"
        role = "weights"
        token_sha256 = "\(try hash("weights-token-0123456789"))"
        """)
    return (config, model)
  }

  func traffic(_ server: ServerProcess, _ dir: String, share: Double) throws -> [String: Any] {
    try """
    count = 800
    rate = 0
    label_delay = 20
    [[phase]]
    start = 0
    drift = "none"
    [[phase]]
    start = 200
    drift = "feedback-poison"
    source = 0
    target = 6
    strength = 0.5
    share = \(share)
    """.write(toFile: dir + "/poison.toml", atomically: true, encoding: .utf8)
    let r = try CLI.run([
      "traffic", "--server", "http://127.0.0.1:\(server.port)", "--token", ServeTests.tokens["bob"]!, "--feedback-token",
      "labeller-token-0123456789", "--poison-token", "mallory-token-0123456789", "--scenario", dir + "/poison.toml", "--json",
    ])
    #expect(r.status == 0, "\(r.stderr)")
    return try #require(r.json)
  }

  @Test func retrainingServesTheNewModelAndPoisonedLabelsMoveIt() throws {
    let dir = CLI.temporaryDirectory().path
    let (config, model) = try deployment(dir, aggregator: "\"mean\"")
    var flipped: [Double: Int] = [:]
    for share in [0.0, 0.6] {
      let server = try ServerProcess([model, "--config", config])
      defer { server.stop() }
      let out = try traffic(server, dir, share: share)
      let adversary = try #require(out["adversary"] as? [String: Any])
      flipped[share] = adversary["flipped"] as? Int
      let poison = try #require(out["poison_labels"] as? Int)
      #expect(share == 0 ? poison == 0 : poison > 200, "\(out)")
      let state = try server.curl("GET", "/v1/monitor", token: ServeTests.tokens["ops"]!).body
      let monitor = try #require(try JSONSerialization.jsonObject(with: Data(state.utf8)) as? [String: Any])
      let retrains = try #require(monitor["online_retrains"] as? Int)
      #expect(retrains >= 7, "\(monitor)")  // 780 honest labels (+ the attacker's), a retraining every 100
      if share == 0 {
        // The served file is the retrained one, and it is a well-formed safetensors file.
        let served = dir + "/served.safetensors"
        let p = Process(), status = Pipe()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        p.arguments = [
          "-s", "-o", served, "-w", "%{http_code}", "-H", "Authorization: Bearer weights-token-0123456789",
          "http://127.0.0.1:\(server.port)/v1/model",
        ]
        p.standardOutput = status
        try p.run()
        p.waitUntilExit()
        #expect(String(decoding: status.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self) == "200")
        let original = try Data(contentsOf: URL(fileURLWithPath: model))
        let now = try Data(contentsOf: URL(fileURLWithPath: served))
        #expect(now != original)
        let check = try ReferencePython.run([
          "-c",
          """
          import sys
          from safetensors import safe_open
          a, b = safe_open(sys.argv[1], "numpy"), safe_open(sys.argv[2], "numpy")
          assert sorted(a.keys()) == sorted(b.keys())
          assert all(a.get_tensor(k).shape == b.get_tensor(k).shape for k in a.keys())
          assert any((a.get_tensor(k) != b.get_tensor(k)).any() for k in a.keys())
          print(b.metadata()["byzsim.online_retrains"])
          """, model, served,
        ])
        #expect(Int(check.trimmingCharacters(in: .whitespacesAndNewlines)) == retrains)
      }
    }
    let clean = try #require(flipped[0]), poisoned = try #require(flipped[0.6])
    #expect(poisoned > clean + 10, "T-shirts read as shirts: \(clean) without the attacker, \(poisoned) with it")
  }

  /// The same attack against a server whose retraining is audited (cosine, norm z-score and
  /// sign agreement over the chunks' updates): the attacker's source is flagged and its labels
  /// are left out, while the honest labeller is not flagged.
  @Test func auditorsFlagThePoisonersFeedback() throws {
    let dir = CLI.temporaryDirectory().path
    let (config, model) = try deployment(dir, aggregator: "\"mean\"\nauditors = [\"cosine\", \"norm_zscore\", \"sign_agreement\"]")
    let server = try ServerProcess([model, "--config", config])
    defer { server.stop() }
    _ = try traffic(server, dir, share: 0.6)
    let state = try server.curl("GET", "/v1/monitor", token: ServeTests.tokens["ops"]!).body
    let monitor = try #require(try JSONSerialization.jsonObject(with: Data(state.utf8)) as? [String: Any])
    #expect(monitor["online_flagged_sources"] as? [String] == ["mallory"], "\(monitor)")
    #expect((monitor["online_excluded_labels"] as? Int ?? 0) > 100, "\(monitor)")
  }

  @Test func anOnlineSectionNeedsFeedbackAndAKnownRule() throws {
    let base = try ServeTests.deployment()
    let text = try String(contentsOfFile: base.config, encoding: .utf8)
    for (extra, message) in [
      ("[online]\nevery = 10\n", "add a [feedback] section"),
      ("[feedback]\n[online]\naggregator = \"meen\"\n", "did you mean \"mean\""),
      ("[feedback]\n[online]\nevery = 0\n", "1 to 10000000 labels"),
      ("[feedback]\nwindow = 60\nblock = 50\n", "at least two blocks"),
      ("[feedback]\n[online]\nauditors = [\"vibes\"]\n", "auditors among"),
    ] {
      let file = base.dir + "/bad.toml"
      try (text + "\n" + extra).write(toFile: file, atomically: true, encoding: .utf8)
      let r = try CLI.run(["serve", base.model, "--config", file, "--port", "0"])
      #expect(r.status != 0 && r.stderr.contains(message), "\(extra): \(r.stderr)")
    }
  }
}
