/// Selection on small scratch buffers (one coordinate's n values), without full sorts.
enum Selection {
  /// Rearranges v[0..<n] so v[k] is the k-th smallest, v[0..<k] ≤ v[k] ≤ v[k+1..<n]
  /// (Hoare's quickselect, median-of-three pivot; insertion sort below 16 elements).
  @inline(__always)
  static func select(_ v: UnsafeMutablePointer<Float>, _ n: Int, _ k: Int) {
    var lo = 0, hi = n - 1
    while hi - lo > 16 {
      let mid = (lo + hi) / 2
      if v[mid] < v[lo] { swap(v, mid, lo) }
      if v[hi] < v[lo] { swap(v, hi, lo) }
      if v[hi] < v[mid] { swap(v, hi, mid) }
      let pivot = v[mid]
      var i = lo, j = hi
      while i <= j {
        while v[i] < pivot { i += 1 }
        while v[j] > pivot { j -= 1 }
        if i <= j { swap(v, i, j); i += 1; j -= 1 }
      }
      if k <= j { hi = j } else if k >= i { lo = i } else { return }
    }
    insertionSort(v + lo, hi - lo + 1)
  }

  /// Same, moving `payload` in lockstep with the keys.
  static func select(keys v: UnsafeMutablePointer<Float>, payload p: UnsafeMutablePointer<Float>, _ n: Int, _ k: Int) {
    var lo = 0, hi = n - 1
    while hi - lo > 16 {
      let mid = (lo + hi) / 2
      if v[mid] < v[lo] { swap2(v, p, mid, lo) }
      if v[hi] < v[lo] { swap2(v, p, hi, lo) }
      if v[hi] < v[mid] { swap2(v, p, hi, mid) }
      let pivot = v[mid]
      var i = lo, j = hi
      while i <= j {
        while v[i] < pivot { i += 1 }
        while v[j] > pivot { j -= 1 }
        if i <= j { swap2(v, p, i, j); i += 1; j -= 1 }
      }
      if k <= j { hi = j } else if k >= i { lo = i } else { return }
    }
    for a in (lo + 1)..<(hi + 1) where hi > lo {
      var b = a
      while b > lo, v[b - 1] > v[b] { swap2(v, p, b - 1, b); b -= 1 }
    }
  }

  @inline(__always) static func swap(_ v: UnsafeMutablePointer<Float>, _ a: Int, _ b: Int) {
    let t = v[a]; v[a] = v[b]; v[b] = t
  }
  @inline(__always) static func swap2(_ v: UnsafeMutablePointer<Float>, _ p: UnsafeMutablePointer<Float>, _ a: Int, _ b: Int) {
    let t = v[a]; v[a] = v[b]; v[b] = t
    let u = p[a]; p[a] = p[b]; p[b] = u
  }

  @inline(__always)
  static func insertionSort(_ v: UnsafeMutablePointer<Float>, _ n: Int) {
    if n < 2 { return }
    for i in 1..<n {
      let x = v[i]
      var j = i - 1
      while j >= 0, v[j] > x { v[j + 1] = v[j]; j -= 1 }
      v[j + 1] = x
    }
  }

  /// Median of v[0..<n] (mean of the two middle values when n is even, as NumPy); permutes v.
  @inline(__always)
  static func median(_ v: UnsafeMutablePointer<Float>, _ n: Int) -> Float {
    let k = n / 2
    select(v, n, k)
    if n % 2 == 1 { return v[k] }
    var lowerMax = v[0]
    for i in 1..<k where v[i] > lowerMax { lowerMax = v[i] }
    return Float((Double(lowerMax) + Double(v[k])) / 2)
  }
}

/// Runs `body` once per coordinate on a scratch buffer holding that coordinate's values of the
/// chosen rows. Columns are gathered in blocks through a cache-resident tile, so the matrix
/// is streamed once, row by row.
enum CoordinateWise {
  static let block = 64

  static func map(_ x: UpdateMatrix, rows: [Int]? = nil, _ body: (UnsafeMutablePointer<Float>, Int) -> Float) -> [Float] {
    let idx = rows ?? Array(0..<x.rows)
    let n = idx.count, d = x.cols
    var out = [Float](repeating: 0, count: d)
    var tile = [Float](repeating: 0, count: n * block)
    var column = [Float](repeating: 0, count: n)
    x.data.withUnsafeBufferPointer { src in
      tile.withUnsafeMutableBufferPointer { t in
        column.withUnsafeMutableBufferPointer { c in
          out.withUnsafeMutableBufferPointer { o in
            var j0 = 0
            while j0 < d {
              let w = min(block, d - j0)
              for (r, i) in idx.enumerated() {
                (t.baseAddress! + r * block).update(from: src.baseAddress! + i * d + j0, count: w)
              }
              for jj in 0..<w {
                for r in 0..<n { c[r] = t[r * block + jj] }
                o[j0 + jj] = body(c.baseAddress!, n)
              }
              j0 += w
            }
          }
        }
      }
    }
    return out
  }
}
