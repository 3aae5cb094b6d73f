import Foundation
import Prometheus
import Testing

@testable import Serving

/// Labels fed back: the accuracy detectors on a worked example, and every refusal.
struct FeedbackTests {
  func store(window: Int = 100, block: Int = 10, keep: Int = 10_000) -> Feedback {
    var c = FeedbackConfig()
    c.window = window
    c.block = block
    c.keep = keep
    return Feedback(config: c, inputSize: 1, classes: 3, registry: PrometheusCollectorRegistry())
  }

  func body(_ request: Int, _ labels: [Int]) -> [UInt8] { Array("{\"request\":\(request),\"labels\":\(labels)}".utf8) }

  /// Burn-in of 100 labels, every block of 10 with 9 right: μ₀ = 0.9, the blocks do not vary, so
  /// σ = √(0.9 · 0.1 / 10) = 0.094868, k = δ = 0.047434, h = λ = 0.47434. Then three blocks at 0.9
  /// and blocks at 0.5. By hand: CUSUM's lower sum is 0, 0, 0, then 0.9 − 0.047434 − 0.5 = 0.35257
  /// and 0.70513 > h: the alarm comes with the fifth block (label 150). Page–Hinkley: running
  /// means 0.9, 0.9, 0.9, 0.8, 0.74, 0.7 give m = −0.04743, −0.09487, −0.14230, 0.11027, 0.30283,
  /// 0.45540 and M = −0.14230, so m − M = 0.25257, 0.44513, then 0.59770 > λ at the sixth block
  /// (label 160).
  @Test func accuracyDetectorsAlarmWhereWorkedByHand() {
    let f = store()
    var i = 0
    func feed(blocks: Int, correct: Int) {
      for _ in 0..<blocks {
        for k in 0..<10 {
          f.record(request: UInt64(i), inputs: [0], predicted: [1])
          #expect(f.label(body(i, [k < correct ? 1 : 2]), credential: "l", served: i + 1) == .accepted(correct: k < correct ? 1 : 0, of: 1))
          i += 1
        }
      }
    }
    feed(blocks: 10, correct: 9)
    feed(blocks: 3, correct: 9)
    feed(blocks: 1, correct: 5)
    #expect(f.snapshot().readings.allSatisfy { $0.firstAlertPrediction == nil })
    feed(blocks: 1, correct: 5)
    let s1 = f.snapshot().readings
    #expect(s1[0].detector == "accuracy-cusum" && s1[0].firstAlertPrediction == 150 && abs(s1[0].threshold - 0.474342) < 1e-6)
    #expect(s1[1].detector == "accuracy-page-hinkley" && s1[1].firstAlertPrediction == nil)
    feed(blocks: 1, correct: 5)
    #expect(f.snapshot().readings[1].firstAlertPrediction == 160)
    #expect(f.snapshot().labels == 160 && f.takeFresh().count == 160 && f.takeFresh().isEmpty)
  }

  @Test func everyBadLabelIsRefusedAndCounted() {
    let f = store(keep: 3)
    for r in 0..<4 { f.record(request: UInt64(r), inputs: [Float(r)], predicted: [0]) }
    // keep = 3 predictions: request 0 is gone.
    #expect(
      f.label(body(0, [0]), credential: "l", served: 4)
        == .refused(status: 404, reason: "request 0 is unknown or no longer kept ([feedback] keep = 3)"))
    #expect(f.label(body(1, [0]), credential: "l", served: 4) == .accepted(correct: 1, of: 1))
    if case .refused(409, _) = f.label(body(1, [0]), credential: "l", served: 4) {} else { Issue.record("a second label was taken") }
    for bad in [
      "{\"request\":2,\"labels\":[0],\"extra\":1}", "{\"request\":2,\"labels\":[true]}", "{\"request\":2,\"labels\":[1.5]}",
      "{\"request\":2,\"labels\":[3]}", "{\"request\":2,\"labels\":[-1]}", "{\"request\":2,\"labels\":[0,1]}",
      "{\"request\":2,\"labels\":[]}",
      "{\"request\":-2,\"labels\":[0]}", "{\"request\":\"2\",\"labels\":[0]}", "[2, [0]]", "not json", "",
    ] {
      guard case .refused(400, _) = f.label(Array(bad.utf8), credential: "l", served: 4) else {
        Issue.record("accepted: \(bad)")
        continue
      }
    }
    // Nothing refused was taken: request 2 can still be labelled once.
    #expect(f.label(body(2, [1]), credential: "l", served: 4) == .accepted(correct: 0, of: 1))
    #expect(f.takeFresh().map(\.input) == [[1], [2]])
  }
}
