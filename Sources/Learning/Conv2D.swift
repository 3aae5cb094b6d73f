import Tensor

/// 2-D convolution (stride 1, no padding) over NHWC images, as im2col + one GEMM per batch.
///
/// Parameters (in order): w (OUT, KH, KW, C) row-major, then b (OUT).
/// Forward: columns (B·OH·OW, K) = im2col(x); y (B·OH·OW, OUT) = columns · wᵀ + b.
public final class Conv2D: Layer {
  public let geometry: ConvGeometry
  private let columns = Scratch()
  private let columnGradient = Scratch()
  private let sampleGradient = Scratch()

  public init(geometry: ConvGeometry) { self.geometry = geometry }
  public func replica() -> any Layer { Conv2D(geometry: geometry) }

  public var summary: String {
    let g = geometry
    return "conv \(g.kernelHeight)×\(g.kernelWidth)×\(g.outChannels) on \(g.height)×\(g.width)×\(g.inChannels)"
  }
  public var inputSize: Int { geometry.inputSize }
  public var outputSize: Int { geometry.outputSize }
  public var parameterCount: Int { geometry.weightCount + geometry.outChannels }
  private var pixels: Int { geometry.outHeight * geometry.outWidth }
  public var workspacePerSample: Int { inputSize + outputSize + 2 * pixels * geometry.patchSize }
  public var forwardFLOPs: Int { pixels * (2 * geometry.patchSize * geometry.outChannels + geometry.outChannels) }
  public func backwardFLOPs(needsInputGradient: Bool) -> Int {
    let gemm = 2 * pixels * geometry.patchSize * geometry.outChannels
    return gemm + pixels * geometry.outChannels + (needsInputGradient ? gemm + pixels * geometry.patchSize : 0)
  }

  public func initialize(_ parameters: UnsafeMutableBufferPointer<Float>, rng: inout RandomStream) {
    uniformInit(parameters, fanIn: geometry.patchSize, rng: &rng)
  }

  public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int, parameters: UnsafePointer<Float>) {
    let g = geometry, rows = batch * pixels
    let cols = columns.reserve(rows * g.patchSize)
    g.im2col(x, batch: batch, into: cols)
    // y (rows, OUT) = cols (rows, K) · wᵀ (K, OUT)
    BLAS.gemm(
      .none, .transposed, m: rows, n: g.outChannels, k: g.patchSize,
      a: cols, lda: g.patchSize, b: parameters, ldb: g.patchSize, c: y, ldc: g.outChannels)
    Kernels.addBias(y, rows: rows, cols: g.outChannels, bias: parameters + g.weightCount)
  }

  public func backward(
    input x: UnsafePointer<Float>, output y: UnsafePointer<Float>,
    outputGradient dy: UnsafePointer<Float>, inputGradient dx: UnsafeMutablePointer<Float>?,
    batch: Int, parameters: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Float>?
  ) {
    let g = geometry, rows = batch * pixels
    precondition(columns.capacity >= rows * g.patchSize, "Conv2D.backward without a matching forward")
    let cols = UnsafePointer(columns.pointer)
    if let gradients {
      // dw (OUT, K) = dyᵀ (OUT, rows) · cols (rows, K)
      BLAS.gemm(
        .transposed, .none, m: g.outChannels, n: g.patchSize, k: rows,
        a: dy, lda: g.outChannels, b: cols, ldb: g.patchSize, c: gradients, ldc: g.patchSize)
      Kernels.biasGradient(dy, rows: rows, cols: g.outChannels, into: gradients + g.weightCount)
    }
    if let dx {
      // dcols (rows, K) = dy (rows, OUT) · w (OUT, K); dx = col2im(dcols)
      let dcols = columnGradient.reserve(rows * g.patchSize)
      BLAS.gemm(
        .none, .none, m: rows, n: g.patchSize, k: g.outChannels,
        a: dy, lda: g.outChannels, b: parameters, ldb: g.patchSize, c: dcols, ldc: g.patchSize)
      g.col2im(dcols, batch: batch, into: dx)
    }
  }

  /// Sample i's weight gradient is dyᵢᵀ colsᵢ over its own OH·OW rows of the im2col matrix the
  /// forward pass kept: one small GEMM per sample into an (OUT, K) scratch, whose squared norm
  /// is added with the bias gradient's (the sum of dyᵢ over positions). Only one sample's
  /// gradient exists at a time.
  public func addPerSampleSquaredNorms(
    input x: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>, batch: Int, into norms: UnsafeMutablePointer<Double>
  ) {
    let g = geometry
    precondition(columns.capacity >= batch * pixels * g.patchSize, "Conv2D norms without a matching forward")
    let cols = UnsafePointer(columns.pointer)
    let dw = sampleGradient.reserve(g.weightCount)
    for i in 0..<batch {
      let dyi = dy + i * pixels * g.outChannels
      BLAS.gemm(
        .transposed, .none, m: g.outChannels, n: g.patchSize, k: pixels,
        a: dyi, lda: g.outChannels, b: cols + i * pixels * g.patchSize, ldb: g.patchSize, c: dw, ldc: g.patchSize)
      var total = 0.0
      for j in 0..<g.weightCount { total += Double(dw[j]) * Double(dw[j]) }
      for c in 0..<g.outChannels {
        var b = 0.0
        for p in 0..<pixels { b += Double(dyi[p * g.outChannels + c]) }
        total += b * b
      }
      norms[i] += total
    }
  }
}
