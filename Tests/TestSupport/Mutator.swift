import Tensor

/// A seeded mutator for fuzz tests: from valid seed inputs, each call returns one variant made
/// by 1–4 edits (bit flips, byte replacements with boundary values, insertions, deletions,
/// duplicated or truncated runs, splices of two seeds). The same seed gives the same inputs,
/// so a failing case is reproducible from the test's name and the iteration number.
public struct Mutator {
  var rng: RandomStream
  let seeds: [[UInt8]]
  static let interesting: [UInt8] = [0x00, 0x01, 0x7F, 0x80, 0xFF, 0x0A, 0x22, 0x5B, 0x7B, 0x2C, 0x3D, 0x2E, 0x2D, 0x30, 0x39]

  public init(seed: UInt64, seeds: [[UInt8]]) {
    precondition(!seeds.isEmpty, "a mutator needs at least one valid input")
    rng = RandomStream(seed: seed, 0xF022)
    self.seeds = seeds
  }

  public mutating func next() -> [UInt8] {
    var b = seeds[rng.nextInt(below: seeds.count)]
    for _ in 0...rng.nextInt(below: 4) {
      let n = b.count
      switch rng.nextInt(below: 8) {
      case 0 where n > 0:
        b[rng.nextInt(below: n)] ^= UInt8(1 << rng.nextInt(below: 8))
      case 1 where n > 0:
        b[rng.nextInt(below: n)] = Self.interesting[rng.nextInt(below: Self.interesting.count)]
      case 2:
        b.insert(UInt8(truncatingIfNeeded: rng.next()), at: rng.nextInt(below: n + 1))
      case 3 where n > 0:
        b.remove(at: rng.nextInt(below: n))
      case 4 where n > 0:
        b.removeLast(rng.nextInt(below: n + 1) / 2)
      case 5 where n > 1:
        let start = rng.nextInt(below: n), length = min(n - start, 1 + rng.nextInt(below: 16))
        b.insert(contentsOf: b[start..<(start + length)], at: rng.nextInt(below: n + 1))
      case 6 where n >= 4:
        // A little-endian 32-bit boundary value over four bytes (lengths, counts).
        let v: UInt32 = [0, 1, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, UInt32(n)][rng.nextInt(below: 6)]
        let at = rng.nextInt(below: n - 3)
        for k in 0..<4 { b[at + k] = UInt8(truncatingIfNeeded: v >> (8 * k)) }
      default:
        let other = seeds[rng.nextInt(below: seeds.count)]
        let cut = rng.nextInt(below: n + 1), from = rng.nextInt(below: other.count + 1)
        b = Array(b[..<cut]) + Array(other[from...])
      }
    }
    return b
  }
}
