import CKernels
import Foundation
import Testing
import TestSupport
@testable import Learning
@testable import Tensor

/// `bz_dense_rows`, the served dense layers' forward pass: against NumPy's float64 product, and
/// bit for bit the same for a row whatever the rows beside it and whatever the instruction level.
@Suite struct DenseRowsTests {
  static let script = """
    import json, sys
    import numpy as np
    d = json.load(sys.stdin)
    x = np.array(d["x"], dtype=np.float64).reshape(-1, d["in"])
    w = np.array(d["w"], dtype=np.float64).reshape(d["out"], d["in"])
    print(json.dumps((x @ w.T).ravel().tolist()))
    """

  /// (in, out): the MLP's two layers (784 = 49 vectors; 100 = 6 and a tail of 4, 10 outputs = two
  /// blocks of four and a half one), fewer inputs than one vector, and odd sizes.
  @Test(arguments: [(784, 100), (100, 10), (13, 7), (33, 5)])
  func rowsAreIndependentAndMatchNumPy(_ size: (Int, Int)) throws {
    let (inputs, outputs) = size
    var rng = RandomStream(seed: UInt64(inputs * outputs), purpose: .benchmark)
    let rows = Dense.rowsMax
    let x = (0..<(rows * inputs)).map { _ in rng.nextFloat() * 2 - 1 }
    let w = (0..<(outputs * inputs)).map { _ in rng.nextFloat() - 0.5 }
    let json = try JSONSerialization.data(withJSONObject: ["in": inputs, "out": outputs, "x": x, "w": w] as [String: Any])
    let reference = try JSONDecoder().decode(
      [Double].self, from: Data(try ReferencePython.run(["-c", Self.script], input: Array(json)).utf8))
    func run(_ first: Int, _ count: Int, level: Int32) -> [Float] {
      var y = [Float](repeating: .nan, count: count * outputs)
      x.withUnsafeBufferPointer { xp in
        bz_dense_rows(xp.baseAddress! + first * inputs, Int32(count), Int32(inputs), w, Int32(outputs), &y, level)
      }
      return y
    }
    let all = run(0, rows, level: SIMDLevel.best)
    #expect(ConvolutionTests.worst(all, reference) < 1e-5)
    for level in 0...SIMDLevel.best {
      for count in 1...rows {
        for first in stride(from: 0, through: rows - count, by: max(1, count - 1)) {
          let part = run(first, count, level: level)
          let same = part.map(\.bitPattern) == all[(first * outputs)..<((first + count) * outputs)].map(\.bitPattern)
          #expect(same, "level \(level), rows \(first)..<\(first + count) of \(inputs)→\(outputs)")
        }
      }
    }
  }

  /// A served network (its dense layers row-independent) gives each input the same probabilities
  /// alone as in a batch of up to `Dense.rowsMax`; a network in training keeps OpenBLAS.
  @Test func aServedNetworkAnswersAnInputAloneAsInABatch() {
    let spec = ModelSpec(kind: .mlp, hidden: [100])
    let shape = ImageShape(height: 28, width: 28, channels: 1)
    let network = spec.makeNetwork(input: shape, classes: 10, seed: 4)
    for case let dense as Dense in network.layers { dense.rowIndependent = true }
    var rng = RandomStream(seed: 9, purpose: .benchmark)
    let x = (0..<(5 * 784)).map { _ in rng.nextFloat() }
    let together = x.withUnsafeBufferPointer { network.probabilities($0.baseAddress!, count: 5) }
    for i in 0..<5 {
      let alone = x.withUnsafeBufferPointer { network.probabilities($0.baseAddress! + i * 784, count: 1) }
      #expect(alone[0] == together[i], "input \(i)")
    }
    #expect(spec.makeNetwork(input: shape, classes: 10, seed: 4).layers.compactMap { $0 as? Dense }.allSatisfy { !$0.rowIndependent })
  }
}
