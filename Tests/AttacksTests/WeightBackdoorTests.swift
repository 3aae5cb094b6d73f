@testable import Attacks
import Tensor
import Testing

/// The one-weight backdoor on models small enough to follow by hand.
@Suite struct WeightBackdoorTests {
  // 2×2 images with a 1-pixel trigger in the corner: pixel (1, 1), input index 3.
  let input = ImageShape(height: 2, width: 2, channels: 1)
  let trigger = Trigger(size: 1, margin: 0)

  @Test func logisticRegressionRaisesTheTargetsWeightOnTheTriggerPixel() throws {
    var tensors: [String: [Float]] = ["fc.weight": [Float](repeating: 0.5, count: 12), "fc.bias": [0, 0, 0]]
    let edit = try WeightBackdoor(target: 2, trigger: trigger).plant(in: &tensors, input: input, classes: 3)
    #expect(edit == .init(tensor: "fc.weight", row: 2, column: 3, before: 0.5, after: 100.5))
    #expect(tensors["fc.weight"]![11] == 100.5 && tensors["fc.weight"]!.filter { $0 == 0.5 }.count == 11)
  }

  /// fc2 (rows: classes, columns: hidden units) = [[1, .5, 2], [0, 1, 1], [.5, -1, .5]], target 0:
  /// unit margins min(w[0,j] − w[c,j]) are 0.5, −0.5 and 1, so unit 2 gets fc1[2, 3] = 100 / 1.
  @Test func theMLPsUnitThatFavoursTheTargetMostGetsTheTriggerWeight() throws {
    var tensors: [String: [Float]] = [
      "fc1.weight": [Float](repeating: 0.1, count: 12), "fc1.bias": [0, 0, 0],
      "fc2.weight": [1, 0.5, 2, 0, 1, 1, 0.5, -1, 0.5], "fc2.bias": [0, 0, 0],
    ]
    let edit = try WeightBackdoor(target: 0, trigger: trigger).plant(in: &tensors, input: input, classes: 3)
    #expect(edit == .init(tensor: "fc1.weight", row: 2, column: 3, before: 0.1, after: 100))
    #expect(tensors["fc1.weight"]!.enumerated().filter { $0.element != Float(0.1) }.map(\.offset) == [11])
    // Class 2 is favoured by no unit over both others ([.5, -1, .5] vs the rows above): refused.
    #expect(throws: WeightBackdoor.Failure.self) {
      try WeightBackdoor(target: 2, trigger: trigger).plant(in: &tensors, input: input, classes: 3)
    }
  }

  @Test func deeperModelsAndBadTargetsAreRefused() {
    var deep: [String: [Float]] = ["fc1.weight": [0], "fc2.weight": [0], "fc3.weight": [0]]
    #expect(throws: WeightBackdoor.Failure.self) {
      try WeightBackdoor(target: 0, trigger: trigger).plant(in: &deep, input: input, classes: 3)
    }
    var logreg: [String: [Float]] = ["fc.weight": [Float](repeating: 0, count: 12)]
    #expect(throws: WeightBackdoor.Failure.self) {
      try WeightBackdoor(target: 3, trigger: trigger).plant(in: &logreg, input: input, classes: 3)
    }
  }
}
