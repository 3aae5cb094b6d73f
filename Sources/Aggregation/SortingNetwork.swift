import CKernels

/// Coordinate-wise statistics 16 coordinates at a time: the n values of 16 adjacent coordinates
/// are n SIMD16 vectors (one per row, read contiguously), sorted lane-wise by Batcher's
/// odd–even merge network. Padding to a power of two with +∞ needs no comparator (min(x, +∞) = x),
/// so the network is pruned to the comparators among the n real inputs. Used for n ≤ 128; above,
/// per-coordinate quickselect is cheaper than the network's O(n log² n) comparators.
///
/// The network runs in C with AVX-512F or AVX2 when the CPU has them (`Level.best`, read once),
/// else in Swift's SIMD16 code (SSE on baseline x86-64); every level gives bit-identical results.
enum SortingNetwork {
  static let maxRows = 128
  /// The largest n with a network unrolled on AVX-512 registers (`bz_tile_small`).
  static let smallMax = Int(bz_tile_small_max())
  typealias V = SIMD16<Float>

  /// Which instructions run the comparators.
  enum Level: Int32, CaseIterable, Sendable {
    case baseline = 0, avx2 = 1, avx512 = 2
    /// The widest level this CPU supports.
    static let best = Level(rawValue: bz_simd_level()) ?? .baseline
    var name: String { self == .baseline ? "baseline (Swift SIMD16)" : self == .avx2 ? "AVX2" : "AVX-512F" }
  }

  /// Batcher's odd–even merge sort comparators (i < j) for n inputs.
  static func comparators(_ n: Int) -> [(Int, Int)] {
    var size = 1
    while size < n { size *= 2 }
    var out: [(Int, Int)] = []
    var p = 1
    while p < size {
      var k = p
      while k >= 1 {
        var j = k % p
        while j < size - k {
          for i in 0..<min(k, size - j - k) where (i + j) / (2 * p) == (i + j + k) / (2 * p) {
            let a = i + j, b = i + j + k
            if b < n { out.append((a, b)) }
          }
          j += 2 * k
        }
        k /= 2
      }
      p *= 2
    }
    return out
  }

  /// A reduction the unrolled AVX-512 networks of n ≤ `smallMax` rows also run themselves, tile
  /// by tile (`bz_tile_small`), with the operations of `median` / `trimmedMean` below; the Swift
  /// closures remain for the other levels and sizes and the columns left over.
  enum Fused {
    case median
    case trimmedMean(f: Int)
    case closestToMedian(k: Int)
  }

  /// The arguments of `bz_tile_small` for `fused` on n rows, if it runs here.
  static func small(_ fused: Fused, n: Int, level: Level) -> (mode: Int32, lo: Int32, hi: Int32)? {
    guard level == .avx512, n >= 2, n <= smallMax else { return nil }
    switch fused {
    case .median: return (0, 0, 0)
    case .trimmedMean(let f): return (1, Int32(f), Int32(n - f))
    case .closestToMedian(let k): return (2, Int32(k), 0)
    }
  }

  /// For each block of 16 coordinates: loads the chosen rows, sorts lane-wise, and lets
  /// `reduce` turn the sorted vectors into the 16 outputs. The last partial block goes through
  /// `scalar` one coordinate at a time. With `fused` (which must be what `reduce` computes) and
  /// few enough rows, on AVX-512F, the matrix (all rows in order) or each tile (chosen rows) goes
  /// through a network unrolled on registers: the n rows of 16 columns never leave them (the
  /// other kernels load and store both values of every comparator: 3× the time at n = 13).
  static func map(
    _ x: UpdateMatrix, rows: [Int]?, level: Level = .best, fused: Fused? = nil, reduce: (UnsafeMutablePointer<V>, Int) -> V,
    scalar: (UnsafeMutablePointer<Float>, Int) -> Float
  ) -> [Float] {
    let idx = rows ?? Array(0..<x.rows)
    let n = idx.count, d = x.cols
    let net = comparators(n)
    precondition(level.rawValue <= Level.best.rawValue, "\(level.name) is not supported by this CPU")
    let lower = net.map { Int32($0.0) }, upper = net.map { Int32($0.1) }
    var out = [Float](repeating: 0, count: d)
    let vectors = UnsafeMutablePointer<V>.allocate(capacity: 4 * n)
    defer { vectors.deallocate() }
    let full = d / 16 * 16
    // Tiles of columns, each row's slice copied in turn (one sequential stream at a time, which
    // the prefetcher follows; reading 16 floats from each of n rows in turn is n streams at once
    // and ran at 16× a streaming read for n = 100). A tile of the n rows stays within ~256 KB;
    // its width is a multiple of 64 so that whole tiles go four groups at a time.
    let tileWidth = max(64, min(2048, (1 << 16) / max(1, n) / 64 * 64))
    let tile = UnsafeMutablePointer<Float>.allocate(capacity: n * tileWidth)
    defer { tile.deallocate() }
    x.data.withUnsafeBufferPointer { src in
      out.withUnsafeMutableBufferPointer { o in
        let base = src.baseAddress!
        var t = 0
        if let fused, let mode = small(fused, n: n, level: level), rows == nil, d <= Int(Int32.max) {
          // Every row in order: the network reads the matrix in place, n streams at once (as
          // many as the prefetcher follows at these n), no tile copied.
          bz_tile_small(base, Int32(n), Int32(d), Int32(full), mode.mode, mode.lo, mode.hi, o.baseAddress!)
          t = full
        }
        while t < full {
          let width = min(tileWidth, full - t)
          for (r, i) in idx.enumerated() { (tile + r * width).update(from: base + i * d + t, count: width) }
          var j = 0
          if let fused, let mode = small(fused, n: n, level: level) {
            j = width / 16 * 16
            bz_tile_small(tile, Int32(n), Int32(width), Int32(j), mode.mode, mode.lo, mode.hi, o.baseAddress! + t)
          }
          // The C kernels sort four 16-column groups at once (group q's rows at vectors + q·n).
          while level != .baseline, j + 64 <= width {
            for q in 0..<4 {
              for r in 0..<n { vectors[q * n + r] = UnsafeRawPointer(tile + r * width + j + 16 * q).loadUnaligned(as: V.self) }
            }
            UnsafeMutableRawPointer(vectors).withMemoryRebound(to: Float.self, capacity: 64 * n) {
              bz_network16x4($0, Int32(n), lower, upper, Int32(net.count), level.rawValue)
            }
            for q in 0..<4 {
              UnsafeMutableRawPointer(o.baseAddress! + t + j + 16 * q).storeBytes(of: reduce(vectors + q * n, n), as: V.self)
            }
            j += 64
          }
          while j < width {
            for r in 0..<n { vectors[r] = UnsafeRawPointer(tile + r * width + j).loadUnaligned(as: V.self) }
            network(vectors, n: n, net: net, lower: lower, upper: upper, level: level)
            UnsafeMutableRawPointer(o.baseAddress! + t + j).storeBytes(of: reduce(vectors, n), as: V.self)
            j += 16
          }
          t += width
        }
      }
    }
    if full < d {
      let tail = UpdateMatrix(rows: n, cols: d - full, data: idx.flatMap { x.data[($0 * d + full)..<(($0 + 1) * d)] })
      let rest = CoordinateWise.map(tail, scalar)
      out.replaceSubrange(full..<d, with: rest)
    }
    return out
  }

  /// Sorts the n vectors lane-wise with the comparators `net` (also given as two Int32 arrays
  /// for the C kernels) on the instructions of `level`.
  @inline(__always) static func network(
    _ vectors: UnsafeMutablePointer<V>, n: Int, net: [(Int, Int)], lower: [Int32], upper: [Int32], level: Level
  ) {
    if level == .baseline {
      for (a, b) in net {
        let va = vectors[a], vb = vectors[b]
        let swap = vb .< va
        vectors[a] = va.replacing(with: vb, where: swap)
        vectors[b] = vb.replacing(with: va, where: swap)
      }
    } else {
      UnsafeMutableRawPointer(vectors).withMemoryRebound(to: Float.self, capacity: n * 16) {
        bz_network16($0, lower, upper, Int32(net.count), level.rawValue)
      }
    }
  }

  /// Lane-wise max by compare-and-select (vectorises; the generic pointwiseMax does not here).
  @inline(__always) static func vmax(_ a: V, _ b: V) -> V { a.replacing(with: b, where: b .> a) }

  static func median(_ v: UnsafeMutablePointer<V>, _ n: Int) -> V {
    n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) * 0.5
  }

  static func trimmedMean(_ v: UnsafeMutablePointer<V>, _ n: Int, f: Int) -> V {
    var s = V()
    for i in f..<(n - f) { s += v[i] }
    return s / V(repeating: Float(n - 2 * f))
  }

  /// Per lane, the mean of the k sorted values closest to the median: the contiguous window
  /// [s, s+k) with the smallest max(m − v[s], v[s+k−1] − m) (first such window on ties).
  static func closestToMedian(_ v: UnsafeMutablePointer<V>, _ n: Int, k: Int) -> V {
    let m = median(v, n)
    var windowSum = V()
    for i in 0..<k { windowSum += v[i] }
    var bestSum = windowSum
    var bestCost = vmax(m - v[0], v[k - 1] - m)
    var s = 1
    while s + k <= n {
      windowSum += v[s + k - 1] - v[s - 1]
      let cost = vmax(m - v[s], v[s + k - 1] - m)
      let better = cost .< bestCost
      bestCost.replace(with: cost, where: better)
      bestSum.replace(with: windowSum, where: better)
      s += 1
    }
    return bestSum / V(repeating: Float(k))
  }
}

/// What the coordinate-wise rules run on this machine (for benchmarks and logs).
public enum CoordinateWiseKernels {
  /// "AVX-512F", "AVX2" or "baseline (Swift SIMD16)".
  public static var level: String { SortingNetwork.Level.best.name }
}

extension CoordinateWiseKernels {
  /// The coordinate-wise median through the baseline Swift network or the best level, so a
  /// benchmark can set the two side by side in one run (n ≤ 128).
  public static func median(_ x: UpdateMatrix, baseline: Bool) -> [Float] {
    SortingNetwork.map(x, rows: nil, level: baseline ? .baseline : .best, fused: .median, reduce: SortingNetwork.median) { v, n in
      Selection.median(v, n)
    }
  }
}
