#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Elementwise and layout kernels over flat Float32 buffers.
///
/// Every kernel has a forward and (where training needs it) a backward, and is
/// tested against a naive loop. Layouts are row-major; images are NHWC
/// (batch, height, width, channels), so a convolution is a single GEMM over
/// the whole batch (see `ConvGeometry`).
public enum Kernels {
  /// Σ xᵢ² accumulated blockwise: 8-lane Float partial sums over blocks of 512 values, each
  /// block's total added in Double (relative error about 1e-6, deterministic: a fixed order).
  /// Nil when a value is NaN or ±Inf. A block whose Float sum overflows (huge but finite values)
  /// is redone in Double, so 1e30 gives 1e60, not nil.
  public static func sumOfSquares(_ x: UnsafePointer<Float>, count n: Int) -> Double? {
    var total = 0.0
    var i = 0
    while i < n {
      let end = min(n, i + 512)
      var acc = SIMD8<Float>(repeating: 0)
      var j = i
      while j + 8 <= end {
        let v = UnsafeRawPointer(x + j).loadUnaligned(as: SIMD8<Float>.self)
        acc += v * v
        j += 8
      }
      var block = Double(acc.sum())
      while j < end { block += Double(x[j]) * Double(x[j]); j += 1 }
      if !block.isFinite {
        block = 0
        for k in i..<end {
          guard x[k].isFinite else { return nil }
          block += Double(x[k]) * Double(x[k])
        }
      }
      total += block
      i = end
    }
    return total
  }

  // MARK: Vector helpers (explicit SIMD: the compiler cannot prove pointers don't alias)

  /// dst[i] += src[i] for i < count.
  @inline(__always)
  public static func add(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, count: Int) {
    var i = 0
    while i + 8 <= count {
      let a = UnsafeRawPointer(dst + i).loadUnaligned(as: SIMD8<Float>.self)
      let b = UnsafeRawPointer(src + i).loadUnaligned(as: SIMD8<Float>.self)
      UnsafeMutableRawPointer(dst + i).storeBytes(of: a + b, as: SIMD8<Float>.self)
      i += 8
    }
    while i < count { dst[i] += src[i]; i += 1 }
  }

  // MARK: Bias

  /// y[b, j] += bias[j].   y is (rows, cols), bias is (cols).
  public static func addBias(_ y: UnsafeMutablePointer<Float>, rows: Int, cols: Int, bias: UnsafePointer<Float>) {
    for r in 0..<rows { add(bias, into: y + r * cols, count: cols) }
  }

  /// dbias[j] = Σ_b dy[b, j].   dy is (rows, cols), dbias is (cols); overwrites dbias, or with
  /// `adding` adds the sum to it (rows added one after another either way).
  public static func biasGradient(
    _ dy: UnsafePointer<Float>, rows: Int, cols: Int, into dbias: UnsafeMutablePointer<Float>, adding: Bool = false
  ) {
    if !adding { dbias.update(repeating: 0, count: cols) }
    for r in 0..<rows { add(dy + r * cols, into: dbias, count: cols) }
  }

  // MARK: ReLU

  /// y = max(x, 0) over `count` floats (x and y may alias). NaN maps to 0.
  public static func relu(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
    var i = 0
    while i + 16 <= count {
      let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
      UnsafeMutableRawPointer(y + i).storeBytes(of: SIMD16<Float>(repeating: 0).replacing(with: v, where: v .> 0), as: SIMD16<Float>.self)
      i += 16
    }
    while i < count { y[i] = x[i] > 0 ? x[i] : 0; i += 1 }
  }

  /// dx = dy · 1[y > 0], given the forward output y (dy and dx may alias).
  public static func reluBackward(
    output y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, count: Int
  ) {
    var i = 0
    while i + 16 <= count {
      let v = UnsafeRawPointer(y + i).loadUnaligned(as: SIMD16<Float>.self)
      let g = UnsafeRawPointer(dy + i).loadUnaligned(as: SIMD16<Float>.self)
      UnsafeMutableRawPointer(dx + i).storeBytes(of: SIMD16<Float>(repeating: 0).replacing(with: g, where: v .> 0), as: SIMD16<Float>.self)
      i += 16
    }
    while i < count { dx[i] = y[i] > 0 ? dy[i] : 0; i += 1 }
  }

  // MARK: Softmax cross-entropy

  /// Mean softmax cross-entropy of `logits` (rows, classes) against integer labels,
  /// computed stably (max-shifted log-sum-exp).
  ///
  /// If `gradient` is non-nil it receives d(mean loss)/d(logits) = (softmax − onehot) / rows.
  /// Returns the *sum* of per-row losses (divide by rows for the mean).
  @discardableResult
  public static func softmaxCrossEntropy(
    logits: UnsafePointer<Float>, labels: UnsafePointer<Int32>, rows: Int, classes: Int,
    gradient: UnsafeMutablePointer<Float>?
  ) -> Double {
    var total = 0.0
    let scale = Float(1) / Float(max(rows, 1))
    for r in 0..<rows {
      let z = logits + r * classes
      var m = z[0]
      for j in 1..<classes where z[j] > m { m = z[j] }
      var sum: Float = 0
      for j in 0..<classes { sum += expf(z[j] - m) }
      let label = Int(labels[r])
      precondition(label >= 0 && label < classes, "label \(label) outside 0..<\(classes)")
      let logSum = logf(sum)
      total += Double(logSum - (z[label] - m))
      if let g = gradient {
        let gr = g + r * classes
        let inv = 1 / sum
        for j in 0..<classes { gr[j] = expf(z[j] - m) * inv * scale }
        gr[label] -= scale
      }
    }
    return total
  }

  /// Index of the largest value in each row of x (rows, cols); ties go to the lowest index.
  public static func argmaxRows(_ x: UnsafePointer<Float>, rows: Int, cols: Int, into out: UnsafeMutablePointer<Int32>) {
    for r in 0..<rows {
      let row = x + r * cols
      var best = 0
      for j in 1..<cols where row[j] > row[best] { best = j }
      out[r] = Int32(best)
    }
  }

  // MARK: Max pooling (NHWC, window 2, stride 2)

  /// y[b, i, j, c] = max over the 2×2 window of x; odd trailing rows/cols are dropped (floor).
  ///
  /// x is (B, H, W, C), y is (B, H/2, W/2, C), argmax (same size as y) receives the
  /// flat index into x of each winner, for the backward pass.
  public static func maxPool2(
    _ x: UnsafePointer<Float>, batch: Int, height: Int, width: Int, channels: Int,
    _ y: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<Int32>
  ) {
    let oh = height / 2, ow = width / 2
    for b in 0..<batch {
      for i in 0..<oh {
        for j in 0..<ow {
          let o = ((b * oh + i) * ow + j) * channels
          let p00 = ((b * height + 2 * i) * width + 2 * j) * channels
          let p01 = p00 + channels
          let p10 = p00 + width * channels
          let p11 = p10 + channels
          for c in 0..<channels {
            var bestIndex = p00 + c
            var best = x[bestIndex]
            if x[p01 + c] > best { best = x[p01 + c]; bestIndex = p01 + c }
            if x[p10 + c] > best { best = x[p10 + c]; bestIndex = p10 + c }
            if x[p11 + c] > best { best = x[p11 + c]; bestIndex = p11 + c }
            y[o + c] = best
            argmax[o + c] = Int32(bestIndex)
          }
        }
      }
    }
  }

  /// dx = scatter of dy to the winners recorded by `maxPool2`. dx (inputCount floats) is overwritten.
  public static func maxPool2Backward(
    _ dy: UnsafePointer<Float>, argmax: UnsafePointer<Int32>, outputCount: Int,
    _ dx: UnsafeMutablePointer<Float>, inputCount: Int
  ) {
    dx.update(repeating: 0, count: inputCount)
    for i in 0..<outputCount { dx[Int(argmax[i])] += dy[i] }
  }
}
