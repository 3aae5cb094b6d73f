import Dispatch
import Tensor

/// A feed-forward stack of layers whose parameters live in ONE contiguous Float32
/// vector (`parameters`); each layer reads a view at its offset. `gradients` has the
/// same layout, so an update is just a vector of `parameterCount` floats.
///
/// Not thread-safe: layers keep scratch space between forward and backward.
public final class Network {
  public let layers: [any Layer]
  /// Offset of each layer's parameters in `parameters` (same order as `layers`).
  public let parameterOffsets: [Int]
  public let parameterCount: Int
  public var parameters: [Float]
  public private(set) var gradients: [Float]

  private let activations: [Scratch]
  private let deltaA = Scratch(), deltaB = Scratch(), topDelta = Scratch()
  /// Data-parallel replicas (`parallelPasses`): each computes its share of a batch on a thread
  /// of its own, with its own scratch.
  private var replicas: [Network] = []

  /// Largest number of samples one forward/backward pass processes at once. A larger batch is
  /// split into micro-batches of this size whose gradients are averaged (the same mean
  /// gradient, one optimizer step), so the working set of conv layers stays in cache.
  /// Derived from the layers: about 4 MiB of activations and scratch per pass.
  public var microBatch: Int

  /// Builds the network and initialises its parameters from `seed` (PyTorch's default scheme).
  public init(layers: [any Layer], seed: UInt64) {
    precondition(!layers.isEmpty, "a network needs at least one layer")
    for (a, b) in zip(layers, layers.dropFirst()) {
      precondition(
        a.outputSize == b.inputSize, "layer sizes do not chain: \(a.summary) gives \(a.outputSize), \(b.summary) takes \(b.inputSize)")
    }
    self.layers = layers
    var offsets: [Int] = []
    var total = 0
    for layer in layers {
      offsets.append(total)
      total += layer.parameterCount
    }
    parameterOffsets = offsets
    parameterCount = total
    parameters = [Float](repeating: 0, count: total)
    gradients = [Float](repeating: 0, count: total)
    activations = layers.map { _ in Scratch() }
    let perSample = layers.map(\.workspacePerSample).reduce(0, +)
    microBatch = max(8, (1 << 21) / max(1, perSample))
    var rng = RandomStream(seed: seed, purpose: .parameterInit)
    parameters.withUnsafeMutableBufferPointer { p in
      for (layer, offset) in zip(layers, offsets) where layer.parameterCount > 0 {
        let view = UnsafeMutableBufferPointer(rebasing: p[offset..<(offset + layer.parameterCount)])
        layer.initialize(view, rng: &rng)
      }
    }
  }

  public var inputSize: Int { layers[0].inputSize }
  public var outputSize: Int { layers[layers.count - 1].outputSize }

  /// Runs the forward pass on x (batch, inputSize); returns the logits (batch, outputSize),
  /// valid until the next call on this network.
  public func forward(_ x: UnsafePointer<Float>, batch: Int) -> UnsafePointer<Float> {
    parameters.withUnsafeBufferPointer { p in
      var input = x
      for (i, layer) in layers.enumerated() {
        let out = activations[i].reserve(batch * layer.outputSize)
        layer.forward(input, out, batch: batch, parameters: p.baseAddress! + parameterOffsets[i])
        input = UnsafePointer(out)
      }
      return input
    }
  }

  /// The penultimate representation of `count` samples (count × the last layer's input size):
  /// what the final layer sees — the last hidden layer's activations, or the inputs themselves
  /// for a one-layer model. Computed in chunks of `batchSize`.
  public func representations(_ x: UnsafePointer<Float>, count: Int, batchSize: Int = 256) -> [Float] {
    let last = layers.count - 1, width = layers[last].inputSize
    var out = [Float](repeating: 0, count: count * width)
    guard last > 0 else {
      for i in 0..<(count * width) { out[i] = x[i] }
      return out
    }
    var start = 0
    while start < count {
      let n = min(batchSize, count - start)
      parameters.withUnsafeBufferPointer { p in
        var input = x + start * inputSize
        for i in 0..<last {
          let y = activations[i].reserve(n * layers[i].outputSize)
          layers[i].forward(input, y, batch: n, parameters: p.baseAddress! + parameterOffsets[i])
          input = UnsafePointer(y)
        }
        for k in 0..<(n * width) { out[start * width + k] = input[k] }
      }
      start += n
    }
    return out
  }

  /// Forward + backward on one batch: fills `gradients` with d(mean loss)/d(parameters)
  /// and returns the mean softmax cross-entropy loss.
  ///
  /// x is (batch, inputSize), labels is (batch). Batches larger than `microBatch` are
  /// processed in micro-batches whose gradients are averaged, weighted by their sizes.
  @discardableResult
  public func lossAndGradient(_ x: UnsafePointer<Float>, labels: UnsafePointer<Int32>, batch: Int) -> Double {
    if !replicas.isEmpty, batch >= 8 * (replicas.count + 1) { return parallelLossAndGradient(x, labels: labels, batch: batch) }
    return serialLossAndGradient(x, labels: labels, batch: batch)
  }

  /// Passes a batch is split into, each on a thread of its own with one BLAS thread (1: none).
  /// k passes split a batch of b samples into k contiguous parts (the first b mod k one larger)
  /// whose gradients are averaged, weighted by their sizes: the same mean gradient up to the
  /// order of float sums — bit-identical run to run for the same k, not across k. Batches
  /// smaller than 8k samples are not split.
  public var parallelPasses: Int {
    get { replicas.count + 1 }
    set {
      precondition(newValue >= 1, "parallelPasses must be >= 1: got \(newValue)")
      replicas = (1..<newValue).map { _ in Network(replicating: self) }
    }
  }

  /// A network of the same layers with scratch of its own (its parameters are set per pass).
  private init(replicating n: Network) {
    layers = n.layers.map { $0.replica() }
    parameterOffsets = n.parameterOffsets
    parameterCount = n.parameterCount
    parameters = n.parameters
    gradients = [Float](repeating: 0, count: n.parameterCount)
    activations = layers.map { _ in Scratch() }
    microBatch = n.microBatch
  }

  /// The batch in `parallelPasses` parts, one per thread (OpenBLAS single-threaded meanwhile),
  /// gradients and losses averaged by part size.
  private func parallelLossAndGradient(_ x: UnsafePointer<Float>, labels: UnsafePointer<Int32>, batch: Int) -> Double {
    let k = replicas.count + 1
    let bounds = (0...k).map { i in i * (batch / k) + min(i, batch % k) }
    for r in replicas { r.parameters = parameters }
    let threads = BLAS.threads
    BLAS.threads = 1
    defer { BLAS.threads = threads }
    var losses = [Double](repeating: 0, count: k)
    // Each thread touches only its own network and its own slice of the batch and of `out`.
    nonisolated(unsafe) let nets = [self] + replicas
    nonisolated(unsafe) let (x, labels) = (x, labels)
    let width = inputSize
    losses.withUnsafeMutableBufferPointer { out in
      nonisolated(unsafe) let out = out
      DispatchQueue.concurrentPerform(iterations: k) { i in
        let start = bounds[i], count = bounds[i + 1] - bounds[i]
        out[i] = nets[i].serialLossAndGradient(x + start * width, labels: labels + start, batch: count)
      }
    }
    var loss = 0.0
    gradients.withUnsafeMutableBufferPointer { g in
      let w0 = Float(bounds[1]) / Float(batch)
      for j in 0..<parameterCount { g[j] *= w0 }
      for (i, r) in replicas.enumerated() {
        let w = Float(bounds[i + 2] - bounds[i + 1]) / Float(batch)
        r.gradients.withUnsafeBufferPointer { rg in for j in 0..<parameterCount { g[j] += w * rg[j] } }
      }
    }
    for i in 0..<k { loss += Double(bounds[i + 1] - bounds[i]) / Double(batch) * losses[i] }
    return loss
  }

  /// `lossAndGradient` on this thread: micro-batches one after another, each adding its share
  /// to `gradients` in the layers' GEMMs (its loss gradient scaled by count / batch).
  private func serialLossAndGradient(_ x: UnsafePointer<Float>, labels: UnsafePointer<Int32>, batch: Int) -> Double {
    if batch <= microBatch { return passLossAndGradient(x, labels: labels, batch: batch, share: nil, accumulate: false) }
    var loss = 0.0
    var start = 0
    while start < batch {
      let count = min(microBatch, batch - start)
      let weight = Double(count) / Double(batch)
      loss +=
        weight
        * passLossAndGradient(
          x + start * inputSize, labels: labels + start, batch: count, share: Float(weight), accumulate: start > 0)
      start += count
    }
    return loss
  }

  /// Adds an extra term's gradient (a regulariser, a covert encoding) to `gradients` after a
  /// backward pass: `body` gets the parameters and the gradients.
  public func addToGradients(_ body: (UnsafeBufferPointer<Float>, UnsafeMutableBufferPointer<Float>) -> Void) {
    parameters.withUnsafeBufferPointer { p in gradients.withUnsafeMutableBufferPointer { g in body(p, g) } }
  }

  /// Predicted classes (argmax of the logits) of `count` samples, in chunks of `batchSize`.
  public func predict(_ x: UnsafePointer<Float>, count: Int, batchSize: Int = 256) -> [Int32] {
    var out = [Int32](repeating: 0, count: count)
    out.withUnsafeMutableBufferPointer { pred in
      var start = 0
      while start < count {
        let n = min(batchSize, count - start)
        let logits = forward(x + start * inputSize, batch: n)
        Kernels.argmaxRows(logits, rows: n, cols: outputSize, into: pred.baseAddress! + start)
        start += n
      }
    }
    return out
  }

  /// One forward + backward pass over `batch` samples (no splitting): the gradient of their
  /// mean loss, times `share` if given, written to `gradients` or added to them (`accumulate`).
  private func passLossAndGradient(
    _ x: UnsafePointer<Float>, labels: UnsafePointer<Int32>, batch: Int, share: Float?, accumulate: Bool
  ) -> Double {
    let logits = forward(x, batch: batch)
    let top = topDelta.reserve(batch * outputSize)
    let lossSum = Kernels.softmaxCrossEntropy(logits: logits, labels: labels, rows: batch, classes: outputSize, gradient: top)
    if let share {
      for i in 0..<(batch * outputSize) { top[i] *= share }
    }
    backward(x, from: top, batch: batch, accumulate: accumulate)
    return lossSum / Double(batch)
  }

  /// Each sample's gradient of its own cross-entropy loss with respect to its input, written to
  /// `into` (batch, inputSize); returns the summed loss. Parameters and `gradients` are left as
  /// they were (the evasion attacks' white-box gradient; one pass, no micro-batches).
  @discardableResult
  public func inputGradients(
    _ x: UnsafePointer<Float>, labels: UnsafePointer<Int32>, batch: Int, into dx: UnsafeMutablePointer<Float>
  ) -> Double {
    let logits = forward(x, batch: batch)
    let top = topDelta.reserve(batch * outputSize)
    let lossSum = Kernels.softmaxCrossEntropy(logits: logits, labels: labels, rows: batch, classes: outputSize, gradient: top)
    for i in 0..<(batch * outputSize) { top[i] *= Float(batch) }
    var delta = deltaA.reserve(batch * maxLayerWidth)
    var spare = deltaB.reserve(batch * maxLayerWidth)
    delta.update(from: top, count: batch * outputSize)
    parameters.withUnsafeBufferPointer { p in
      for i in stride(from: layers.count - 1, through: 0, by: -1) {
        let layer = layers[i]
        let input = i == 0 ? x : UnsafePointer(activations[i - 1].pointer)
        layer.backward(
          input: input, output: activations[i].pointer, outputGradient: delta, inputGradient: i == 0 ? dx : spare,
          batch: batch, parameters: p.baseAddress! + parameterOffsets[i], gradients: nil)
        swap(&delta, &spare)
      }
    }
    return lossSum
  }

  /// DP-SGD's clipped sum: fills `gradients` with Σᵢ min(1, C/‖gᵢ‖)·gᵢ over the batch, where
  /// gᵢ is sample i's own gradient of its cross-entropy loss, and returns (the summed loss, how
  /// many samples were clipped, the per-sample norms ‖gᵢ‖).
  ///
  /// No gᵢ is formed (Lee & Kifer 2021, "Scaling up differentially private deep learning with
  /// fast per-example gradient clipping"; Li et al. 2022's "ghost clipping"): a first backward
  /// pass without parameter gradients gives each layer's dy, from which the layers compute
  /// ‖gᵢ‖² (`addPerSampleSquaredNorms`); the backward pass is linear in the loss gradient for a
  /// fixed forward pass, so a second one, from the loss gradient's rows scaled by
  /// min(1, C/‖gᵢ‖), sums the clipped gradients in one GEMM per layer. The clip factor is
  /// min(1, C/(‖gᵢ‖ + 10⁻⁶)), as Opacus's.
  public func clippedGradientSum(
    _ x: UnsafePointer<Float>, labels: UnsafePointer<Int32>, batch: Int, clip: Float
  ) -> (lossSum: Double, clipped: Int, norms: [Double]) {
    precondition(clip > 0 && clip.isFinite, "the clipping norm must be positive: got \(clip)")
    var lossSum = 0.0, clipped = 0
    var norms = [Double](repeating: 0, count: batch)
    var start = 0
    while start < batch {
      let count = min(microBatch, batch - start)
      let r = norms.withUnsafeMutableBufferPointer { n in
        passClipped(
          x + start * inputSize, labels: labels + start, batch: count, clip: clip, norms: n.baseAddress! + start,
          accumulate: start > 0)
      }
      lossSum += r.lossSum
      clipped += r.clipped
      start += count
    }
    if batch == 0 {
      for i in gradients.indices { gradients[i] = 0 }
    }
    return (lossSum, clipped, norms)
  }

  private func passClipped(
    _ x: UnsafePointer<Float>, labels: UnsafePointer<Int32>, batch: Int, clip: Float, norms: UnsafeMutablePointer<Double>,
    accumulate: Bool
  ) -> (lossSum: Double, clipped: Int) {
    let logits = forward(x, batch: batch)
    let classes = outputSize
    let top = topDelta.reserve(batch * classes)
    let lossSum = Kernels.softmaxCrossEntropy(logits: logits, labels: labels, rows: batch, classes: classes, gradient: top)
    // The kernel's gradient is of the mean loss; each row times the batch is the sample's own.
    for i in 0..<(batch * classes) { top[i] *= Float(batch) }
    var delta = deltaA.reserve(batch * maxLayerWidth)
    var spare = deltaB.reserve(batch * maxLayerWidth)
    parameters.withUnsafeBufferPointer { p in
      // Pass 1: every layer's dy, and from it the per-sample norms.
      delta.update(from: top, count: batch * classes)
      for i in stride(from: layers.count - 1, through: 0, by: -1) {
        let layer = layers[i]
        let input = i == 0 ? x : UnsafePointer(activations[i - 1].pointer)
        layer.addPerSampleSquaredNorms(input: input, outputGradient: delta, batch: batch, into: norms)
        guard i > 0 else { break }
        layer.backward(
          input: input, output: activations[i].pointer, outputGradient: delta, inputGradient: spare,
          batch: batch, parameters: p.baseAddress! + parameterOffsets[i], gradients: nil)
        swap(&delta, &spare)
      }
    }
    var clipped = 0
    for i in 0..<batch {
      norms[i] = norms[i].squareRoot()
      let factor = min(1, Double(clip) / (norms[i] + 1e-6))
      if factor < 1 { clipped += 1 }
      for j in 0..<classes { top[i * classes + j] *= Float(factor) }
    }
    // Pass 2: the sum of the clipped gradients (added to the micro-batches' before).
    backward(x, from: top, batch: batch, accumulate: accumulate)
    return (lossSum, clipped)
  }

  /// The backward pass from the loss gradient `top` (batch, classes), after a forward on x:
  /// parameter gradients written to `gradients`, or added to them with `accumulate`.
  private func backward(_ x: UnsafePointer<Float>, from top: UnsafePointer<Float>, batch: Int, accumulate: Bool) {
    var delta = deltaA.reserve(batch * maxLayerWidth)
    var spare = deltaB.reserve(batch * maxLayerWidth)
    delta.update(from: top, count: batch * outputSize)
    parameters.withUnsafeBufferPointer { p in
      gradients.withUnsafeMutableBufferPointer { g in
        for i in stride(from: layers.count - 1, through: 0, by: -1) {
          let layer = layers[i]
          let input = i == 0 ? x : UnsafePointer(activations[i - 1].pointer)
          layer.backward(
            input: input, output: activations[i].pointer, outputGradient: delta, inputGradient: i == 0 ? nil : spare,
            batch: batch, parameters: p.baseAddress! + parameterOffsets[i],
            gradients: g.baseAddress! + parameterOffsets[i], accumulate: accumulate)
          swap(&delta, &spare)
        }
      }
    }
  }

  private var maxLayerWidth: Int { layers.map { max($0.inputSize, $0.outputSize) }.max()! }

  /// Floating-point operations per sample of one training step (forward + backward,
  /// no input gradient for the first layer) or of inference only.
  public func flopsPerSample(training: Bool) -> Int {
    var total = layers.reduce(0) { $0 + $1.forwardFLOPs }
    if training {
      for (i, layer) in layers.enumerated() { total += layer.backwardFLOPs(needsInputGradient: i > 0) }
    }
    return total
  }

  /// One line per layer with its parameter count.
  public var summary: String {
    layers.map { "\($0.summary) (\($0.parameterCount) parameters)" }.joined(separator: "\n")
  }
}
