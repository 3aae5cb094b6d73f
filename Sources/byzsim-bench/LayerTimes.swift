import Learning
import Tensor

/// Where a training step's time goes: each layer's forward and backward pass timed on its own,
/// one micro-batch at a time, as `Network` runs them (single-threaded).
enum LayerTimes {
  struct Row {
    let summary: String
    let forward: Double, backward: Double
  }

  /// Seconds per sample of each layer's forward and backward (parameter gradients, and the
  /// input gradient for every layer but the first) on `micro`-sample passes of deterministic data.
  static func measure(_ network: Network, micro: Int, seconds: Double) -> [Row] {
    var rng = RandomStream(seed: 5, purpose: .benchmark)
    let layers = network.layers
    var acts: [[Float]] = [(0..<(micro * network.inputSize)).map { _ in rng.nextFloat() }]
    for l in layers { acts.append([Float](repeating: 0, count: micro * l.outputSize)) }
    var grads = [Float](repeating: 0, count: network.parameterCount)
    let parameters = network.parameters
    var rows: [Row] = []
    parameters.withUnsafeBufferPointer { p in
      // One forward pass first, so every layer's output (and scratch) exists.
      for (i, l) in layers.enumerated() {
        let input = acts[i]
        acts[i + 1].withUnsafeMutableBufferPointer { y in
          l.forward(input, y.baseAddress!, batch: micro, parameters: p.baseAddress! + network.parameterOffsets[i])
        }
      }
      for (i, l) in layers.enumerated() {
        let w = p.baseAddress! + network.parameterOffsets[i]
        let input = acts[i]
        var output = acts[i + 1]
        let (f, _) = byzsim_bench.measure(seconds: seconds) {
          output.withUnsafeMutableBufferPointer { y in l.forward(input, y.baseAddress!, batch: micro, parameters: w) }
          return Double(output[0])
        }
        var dy = [Float](repeating: 0, count: micro * l.outputSize)
        for k in dy.indices { dy[k] = rng.nextFloat() - 0.5 }
        var dx = [Float](repeating: 0, count: i == 0 ? 0 : micro * l.inputSize)
        let (b, _) = byzsim_bench.measure(seconds: seconds) {
          grads.withUnsafeMutableBufferPointer { g in
            dx.withUnsafeMutableBufferPointer { d in
              // The backward pass needs the forward scratch of the same input.
              l.backward(
                input: input, output: output, outputGradient: dy, inputGradient: i == 0 ? nil : d.baseAddress!,
                batch: micro, parameters: w, gradients: g.baseAddress! + network.parameterOffsets[i])
            }
          }
          return Double(grads[network.parameterOffsets[i]])
        }
        rows.append(Row(summary: l.summary, forward: 1 / f / Double(micro), backward: 1 / b / Double(micro)))
      }
    }
    return rows
  }
}
