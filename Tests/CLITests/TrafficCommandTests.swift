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
