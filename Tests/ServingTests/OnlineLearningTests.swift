import Artifacts
import Foundation
import Learning
import TestSupport
import Tensor
import Testing

@testable import Runtime
@testable import Serving

/// One online retraining against NumPy: a logistic regression on two features, three feedback
/// sources with two labels each (chunk 2, batch 2: one full-batch SGD step per chunk, lr 0.5),
/// combined by the coordinate-wise median. NumPy computes each chunk's softmax cross-entropy
/// step and the median of the three updates independently.
struct OnlineLearningTests {
  @Test func oneRetrainingIsTheMedianOfTheChunksStepsAsNumPyComputesThem() throws {
    let spec = ModelSpec(parsing: "logreg")!
    let input = ImageShape(height: 1, width: 2, channels: 1)
    let parameters = spec.makeNetwork(input: input, classes: 2, seed: 7).parameters
    let model = LoadedModel(
      path: "-", spec: spec, input: input, classes: 2, parameters: parameters, metadata: [:], origin: "test", sha256: "", bytes: [])
    var config = OnlineConfig()
    config.chunk = 2
    config.batch = 2
    config.epochs = 1
    config.learningRate = 0.5
    config.aggregator = RuleSpec(name: "median")
    let data: [(String, [Float], Int)] = [
      ("a", [1, 0], 0), ("a", [0, 1], 1), ("b", [1, 1], 1), ("b", [0.5, 0], 0), ("c", [0, 0.5], 0), ("c", [1, 0.2], 1),
    ]
    let learner = OnlineLearner(config: config, seed: 3)
    let after = try learner.retrain(model, on: data.map { Feedback.Labelled(input: $0.1, label: $0.2, credential: $0.0) })
    #expect(learner.retrains == 1)
    let before = ModelExport.tensors(parameters, spec: spec, input: input, classes: 2)
    let result = ModelExport.tensors(after, spec: spec, input: input, classes: 2)
    func json(_ ts: [SafeTensorsFile.Tensor]) -> String {
      "{" + ts.map { "\"\($0.name)\": \($0.floats)" }.joined(separator: ",") + "}"
    }
    let names = before.map(\.name)
    let weight = try #require(names.first { $0.hasSuffix("weight") }), bias = try #require(names.first { $0.hasSuffix("bias") })
    let expected = try ReferencePython.run([
      "-c",
      """
      import json, sys
      import numpy as np
      t = json.loads(sys.argv[1])
      W = np.array(t[sys.argv[2]], dtype=np.float64).reshape(2, 2); b = np.array(t[sys.argv[3]], dtype=np.float64)
      chunks = [([[1, 0], [0, 1]], [0, 1]), ([[1, 1], [0.5, 0]], [1, 0]), ([[0, 0.5], [1, 0.2]], [0, 1])]
      dW, db = [], []
      for X, y in chunks:
          X = np.array(X, dtype=np.float64); Y = np.eye(2)[y]
          z = X @ W.T + b; p = np.exp(z - z.max(1, keepdims=True)); p /= p.sum(1, keepdims=True)
          dW.append(-0.5 * (p - Y).T @ X / len(X)); db.append(-0.5 * (p - Y).mean(0))
      print(json.dumps({"w": (W + np.median(dW, axis=0)).ravel().tolist(), "b": (b + np.median(db, axis=0)).tolist()}))
      """, json(before), weight, bias,
    ])
    let reference = try #require(try JSONSerialization.jsonObject(with: Data(expected.utf8)) as? [String: [Double]])
    let w = try #require(result.first { $0.name == weight }).floats, b = try #require(result.first { $0.name == bias }).floats
    for (x, y) in zip(w, reference["w"]!) { #expect(abs(Double(x) - y) < 1e-5, "\(w) vs \(reference["w"]!)") }
    for (x, y) in zip(b, reference["b"]!) { #expect(abs(Double(x) - y) < 1e-5, "\(b) vs \(reference["b"]!)") }
    #expect(zip(w, before.first { $0.name == weight }!.floats).contains { $0 != $1 })
  }
}
