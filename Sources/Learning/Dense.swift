import CKernels
import Tensor

/// Fully connected layer: y = x · wᵀ + b.
///
/// Parameters (in order): w (OUT, IN) row-major, then b (OUT).
public final class Dense: Layer {
  public let inputSize: Int
  public let outputSize: Int
  /// Forward passes of at most `rowsMax` rows run `bz_dense_rows`, whose result for a row does
  /// not depend on the rows beside it (OpenBLAS's GEMM and GEMV differ in the last bits with
  /// the batch's size). A model server sets it, so an input gets the same answer whether it
  /// came alone or in a batch the server put together; training leaves it off.
  public var rowIndependent = false
  public static let rowsMax = Int(BZ_DENSE_ROWS_MAX)

  public init(inputs: Int, outputs: Int) {
    precondition(inputs > 0 && outputs > 0, "dense layer needs positive sizes: got \(inputs)→\(outputs)")
    inputSize = inputs
    outputSize = outputs
  }

  public func replica() -> any Layer { Dense(inputs: inputSize, outputs: outputSize) }
  public var summary: String { "dense \(inputSize)→\(outputSize)" }
  public var parameterCount: Int { outputSize * inputSize + outputSize }
  public var forwardFLOPs: Int { 2 * inputSize * outputSize + outputSize }
  public func backwardFLOPs(needsInputGradient: Bool) -> Int {
    2 * inputSize * outputSize + outputSize + (needsInputGradient ? 2 * inputSize * outputSize : 0)
  }

  public func initialize(_ parameters: UnsafeMutableBufferPointer<Float>, rng: inout RandomStream) {
    uniformInit(parameters, fanIn: inputSize, rng: &rng)
  }

  public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int, parameters: UnsafePointer<Float>) {
    let w = parameters, b = parameters + outputSize * inputSize
    // y (B, OUT) = x (B, IN) · wᵀ (IN, OUT) + b. One input (a served prediction) is y = w·x: a
    // GEMM would pack all of w first (a sixth of a one-input request's time in `byzsim serve`).
    if rowIndependent && batch <= Self.rowsMax {
      bz_dense_rows(x, Int32(batch), Int32(inputSize), w, Int32(outputSize), y, SIMDLevel.best)
    } else if batch == 1 {
      BLAS.gemv(.none, rows: outputSize, cols: inputSize, a: w, lda: inputSize, x: x, y: y)
    } else {
      BLAS.gemm(
        .none, .transposed, m: batch, n: outputSize, k: inputSize,
        a: x, lda: inputSize, b: w, ldb: inputSize, c: y, ldc: outputSize)
    }
    Kernels.addBias(y, rows: batch, cols: outputSize, bias: b)
  }

  public func backward(
    input x: UnsafePointer<Float>, output y: UnsafePointer<Float>,
    outputGradient dy: UnsafePointer<Float>, inputGradient dx: UnsafeMutablePointer<Float>?,
    batch: Int, parameters: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Float>?, accumulate: Bool
  ) {
    if let dw = gradients {
      // dw (OUT, IN) (+)= dyᵀ (OUT, B) · x (B, IN)
      BLAS.gemm(
        .transposed, .none, m: outputSize, n: inputSize, k: batch,
        a: dy, lda: outputSize, b: x, ldb: inputSize, beta: accumulate ? 1 : 0, c: dw, ldc: inputSize)
      Kernels.biasGradient(dy, rows: batch, cols: outputSize, into: dw + outputSize * inputSize, adding: accumulate)
    }
    if let dx {
      // dx (B, IN) = dy (B, OUT) · w (OUT, IN)
      BLAS.gemm(
        .none, .none, m: batch, n: inputSize, k: outputSize,
        a: dy, lda: outputSize, b: parameters, ldb: inputSize, c: dx, ldc: inputSize)
    }
  }

  /// Sample i's weight gradient is the outer product dyᵢ xᵢᵀ and its bias gradient dyᵢ, so the
  /// squared norm is ‖dyᵢ‖²(‖xᵢ‖² + 1) without forming either (Goodfellow 2015, "Efficient
  /// per-example gradient computations").
  public func addPerSampleSquaredNorms(
    input x: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>, batch: Int, into norms: UnsafeMutablePointer<Double>
  ) {
    for i in 0..<batch {
      var gx = 0.0, gy = 0.0
      for j in 0..<inputSize { gx += Double(x[i * inputSize + j]) * Double(x[i * inputSize + j]) }
      for j in 0..<outputSize { gy += Double(dy[i * outputSize + j]) * Double(dy[i * outputSize + j]) }
      norms[i] += gy * (gx + 1)
    }
  }
}
