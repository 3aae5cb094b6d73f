import Foundation
import Testing
import TestSupport
@testable import Learning
@testable import Tensor

/// Conv2D's two methods — direct kernels (every instruction level this CPU runs) and im2col +
/// GEMM — against NumPy's convolution and weight gradient computed in float64 from the same
/// inputs (explicit sums over the receptive field, not this code's layout tricks).
@Suite struct ConvolutionTests {
  struct Case: CustomStringConvertible, Sendable {
    let batch: Int, geometry: ConvGeometry
    var description: String {
      let g = geometry
      return "\(batch)×\(g.height)×\(g.width)×\(g.inChannels), \(g.kernelHeight)×\(g.kernelWidth)→\(g.outChannels)"
    }
  }

  /// Two channel blocks with a tail of 3 and a row of 5 pixels (the last group of four overlaps);
  /// three blocks with a tail of 1 and rows of 3 (one pixel at a time), K = 18; K = 32 (the most
  /// the direct kernels take), 16 channels exactly.
  static let cases = [
    Case(batch: 3, geometry: ConvGeometry(height: 7, width: 6, inChannels: 2, kernelHeight: 3, kernelWidth: 2, outChannels: 19)),
    Case(batch: 2, geometry: ConvGeometry(height: 5, width: 4, inChannels: 3, kernelHeight: 3, kernelWidth: 2, outChannels: 33)),
    Case(batch: 2, geometry: ConvGeometry(height: 9, width: 8, inChannels: 2, kernelHeight: 4, kernelWidth: 4, outChannels: 16)),
  ]

  static let script = """
    import json, sys
    import numpy as np
    d = json.load(sys.stdin)
    B, H, W, C, KH, KW, O = (d[k] for k in ("b", "h", "w", "c", "kh", "kw", "o"))
    x = np.array(d["x"], dtype=np.float64).reshape(B, H, W, C)
    w = np.array(d["weights"], dtype=np.float64).reshape(O, KH, KW, C)
    bias = np.array(d["bias"], dtype=np.float64)
    OH, OW = H - KH + 1, W - KW + 1
    dy = np.array(d["dy"], dtype=np.float64).reshape(B, OH, OW, O)
    y = np.zeros((B, OH, OW, O)) + bias
    dw = np.zeros((O, KH, KW, C))
    for ki in range(KH):
        for kj in range(KW):
            patch = x[:, ki:ki + OH, kj:kj + OW, :]  # (B, OH, OW, C)
            y += np.einsum("bijc,oc->bijo", patch, w[:, ki, kj, :])
            dw[:, ki, kj, :] += np.einsum("bijo,bijc->oc", dy, patch)
    print(json.dumps({"y": y.ravel().tolist(), "dw": dw.ravel().tolist(), "db": dy.sum(axis=(0, 1, 2)).tolist()}))
    """

  struct Reference: Decodable { let y: [Double], dw: [Double], db: [Double] }

  @Test(arguments: cases)
  func everyMethodMatchesNumPy(_ c: Case) throws {
    let g = c.geometry
    var rng = RandomStream(seed: UInt64(g.outChannels), purpose: .benchmark)
    let x = (0..<(c.batch * g.inputSize)).map { _ in rng.nextFloat() * 2 - 1 }
    let p = (0..<(g.weightCount + g.outChannels)).map { _ in rng.nextFloat() - 0.5 }
    let dy = (0..<(c.batch * g.outputSize)).map { _ in rng.nextFloat() - 0.5 }
    let input: [String: Any] = [
      "b": c.batch, "h": g.height, "w": g.width, "c": g.inChannels, "kh": g.kernelHeight, "kw": g.kernelWidth,
      "o": g.outChannels, "x": x, "weights": Array(p[..<g.weightCount]), "bias": Array(p[g.weightCount...]), "dy": dy,
    ]
    let json = try JSONSerialization.data(withJSONObject: input)
    let out = try ReferencePython.run(["-c", Self.script], input: Array(json))
    let reference = try JSONDecoder().decode(Reference.self, from: Data(out.utf8))
    let methods = [Conv2D.Method.gemm] + (0...Conv2D.bestLevel).map { Conv2D.Method.direct(level: $0) }
    for method in methods {
      let conv = Conv2D(geometry: g, method: method)
      var y = [Float](repeating: .nan, count: c.batch * g.outputSize)
      conv.forward(x, &y, batch: c.batch, parameters: p)
      var grads = [Float](repeating: .nan, count: p.count)
      conv.backward(input: x, output: y, outputGradient: dy, inputGradient: nil, batch: c.batch, parameters: p, gradients: &grads)
      #expect(Self.worst(y, reference.y) < 1e-5, "\(method) \(c): output")
      #expect(Self.worst(Array(grads[..<g.weightCount]), reference.dw) < 1e-5, "\(method) \(c): weight gradient")
      #expect(Self.worst(Array(grads[g.weightCount...]), reference.db) < 1e-5, "\(method) \(c): bias gradient")
      // With `accumulate` the same gradient is added to what is there: twice the reference.
      conv.backward(
        input: x, output: y, outputGradient: dy, inputGradient: nil, batch: c.batch, parameters: p, gradients: &grads,
        accumulate: true)
      #expect(Self.worst(Array(grads[..<g.weightCount]), reference.dw.map { 2 * $0 }) < 1e-5, "\(method) \(c): accumulated")
      #expect(Self.worst(Array(grads[g.weightCount...]), reference.db.map { 2 * $0 }) < 1e-5, "\(method) \(c): accumulated bias")
    }
  }

  /// The largest error relative to max(1, |reference|); NaN (a value never written) counts as infinite.
  static func worst(_ a: [Float], _ b: [Double]) -> Double {
    guard a.count == b.count else { return .infinity }
    return zip(a, b).map { x, r in x.isNaN ? .infinity : abs(Double(x) - r) / max(1, abs(r)) }.max() ?? 0
  }

  /// The default method: direct for receptive fields of at most 32 values, at this CPU's best level.
  @Test func smallReceptiveFieldsGoDirect() {
    let first = ConvGeometry(height: 28, width: 28, inChannels: 1, kernelHeight: 3, kernelWidth: 3, outChannels: 30)
    let second = ConvGeometry(height: 13, width: 13, inChannels: 30, kernelHeight: 3, kernelWidth: 3, outChannels: 50)
    #expect(Conv2D(geometry: first).method == .direct(level: Conv2D.bestLevel))
    #expect(Conv2D(geometry: second).method == .gemm)
    #expect(Conv2D(geometry: first).replica() is Conv2D)
    #expect((Conv2D(geometry: first, method: .gemm).replica() as? Conv2D)?.method == .gemm)
  }
}
