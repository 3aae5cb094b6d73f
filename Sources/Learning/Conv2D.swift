import CKernels
import Tensor

/// 2-D convolution (stride 1, no padding) over NHWC images, as im2col + one GEMM per batch.
///
/// Parameters (in order): w (OUT, KH, KW, C) row-major, then b (OUT).
/// Forward: columns (B·OH·OW, K) = im2col(x); y (B·OH·OW, OUT) = columns · wᵀ + b.
///
/// Receptive fields of at most `directPatchMax` values (a 3×3 kernel over one to three channels:
/// an image model's first layer) are convolved directly instead (CKernels' `bz_conv_forward` and
/// `bz_conv_weight_gradient`, on AVX-512F, AVX2 + FMA or baseline code as the CPU allows): a GEMM
/// with k = 9 spends its time copying the im2col matrix, not multiplying — the Fang CNN's first
/// layer took 15% of a training step through im2col + GEMM for 3% of its arithmetic. The input
/// gradient always goes through the GEMM (it needs no im2col matrix).
public final class Conv2D: Layer {
  public let geometry: ConvGeometry
  /// How the forward pass and the weight gradient are computed.
  public enum Method: Sendable, Equatable {
    /// im2col + GEMM (OpenBLAS).
    case gemm
    /// The direct kernels on the instructions of `level` (2 = AVX-512F, 1 = AVX2 + FMA,
    /// 0 = baseline; at most `Conv2D.bestLevel`).
    case direct(level: Int32)
  }
  public let method: Method
  /// The widest level of the direct kernels this CPU runs (`SIMDLevel.best`).
  public static var bestLevel: Int32 { SIMDLevel.best }
  /// The largest receptive field (KH·KW·C) convolved directly by default.
  public static let directPatchMax = 32
  private let columns = Scratch()
  private let columnGradient = Scratch()
  private let sampleGradient = Scratch()
  /// The direct kernels' weights as (K, OUT rounded up to 16) and then the bias, or their weight gradient.
  private let packed = Scratch()

  /// `method` nil: direct for receptive fields of at most `directPatchMax` values, else GEMM.
  public init(geometry: ConvGeometry, method: Method? = nil) {
    self.geometry = geometry
    if case .direct(let level)? = method {
      precondition(
        level >= 0 && level <= Self.bestLevel, "direct convolution level \(level) is not run by this CPU (best \(Self.bestLevel))")
      precondition(
        geometry.patchSize <= Self.directPatchMax,
        "direct convolution takes receptive fields of at most \(Self.directPatchMax) values: got \(geometry.patchSize)")
    }
    self.method = method ?? (geometry.patchSize <= Self.directPatchMax ? .direct(level: Self.bestLevel) : .gemm)
  }
  public func replica() -> any Layer { Conv2D(geometry: geometry, method: method) }

  public var summary: String {
    let g = geometry
    return "conv \(g.kernelHeight)×\(g.kernelWidth)×\(g.outChannels) on \(g.height)×\(g.width)×\(g.inChannels)"
  }
  public var inputSize: Int { geometry.inputSize }
  public var outputSize: Int { geometry.outputSize }
  public var parameterCount: Int { geometry.weightCount + geometry.outChannels }
  private var pixels: Int { geometry.outHeight * geometry.outWidth }
  private var paddedOut: Int { (geometry.outChannels + 15) / 16 * 16 }
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
    if case .direct(let level) = method {
      let k = g.patchSize, op = paddedOut
      let wt = packed.reserve((k + 1) * op)
      wt.update(repeating: 0, count: (k + 1) * op)
      for o in 0..<g.outChannels {
        for t in 0..<k { wt[t * op + o] = parameters[o * k + t] }
        wt[k * op + o] = parameters[g.weightCount + o]
      }
      bz_conv_forward(
        x, Int32(batch), Int32(g.height), Int32(g.width), Int32(g.inChannels), Int32(g.kernelHeight), Int32(g.kernelWidth),
        Int32(g.outChannels), wt, wt + k * op, y, level)
      return
    }
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
    batch: Int, parameters: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Float>?, accumulate: Bool
  ) {
    let g = geometry, rows = batch * pixels
    if let gradients, case .direct(let level) = method {
      let k = g.patchSize, op = paddedOut
      let dwt = packed.reserve(k * op)
      bz_conv_weight_gradient(
        x, dy, Int32(batch), Int32(g.height), Int32(g.width), Int32(g.inChannels), Int32(g.kernelHeight), Int32(g.kernelWidth),
        Int32(g.outChannels), dwt, level)
      for o in 0..<g.outChannels {
        for t in 0..<k { gradients[o * k + t] = accumulate ? gradients[o * k + t] + dwt[t * op + o] : dwt[t * op + o] }
      }
      Kernels.biasGradient(dy, rows: rows, cols: g.outChannels, into: gradients + g.weightCount, adding: accumulate)
    } else if let gradients {
      precondition(columns.capacity >= rows * g.patchSize, "Conv2D.backward without a matching forward")
      let cols = UnsafePointer(columns.pointer)
      // dw (OUT, K) (+)= dyᵀ (OUT, rows) · cols (rows, K)
      BLAS.gemm(
        .transposed, .none, m: g.outChannels, n: g.patchSize, k: rows,
        a: dy, lda: g.outChannels, b: cols, ldb: g.patchSize, beta: accumulate ? 1 : 0, c: gradients, ldc: g.patchSize)
      Kernels.biasGradient(dy, rows: rows, cols: g.outChannels, into: gradients + g.weightCount, adding: accumulate)
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
    // The direct forward pass keeps no im2col matrix: it is built here.
    if case .direct = method { g.im2col(x, batch: batch, into: columns.reserve(batch * pixels * g.patchSize)) }
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
