import Tensor

/// Covert channel (c): capacity abuse, the black-box scheme of Song, Ristenpart & Shmatikov,
/// "Machine Learning Models that Remember Too Much", CCS 2017, §5.
///
/// The malicious worker adds N synthetic inputs to its shard; input j is drawn by a PRNG whose
/// seed the receiver shares, and its label carries the j-th group of ⌊log₂ c⌋ secret bits
/// (c classes; 3 bits for 10). Training makes the model memorise the pairs. An outsider who
/// can only query the final model regenerates the inputs, reads the predicted labels, and gets
/// the bits back. Our synthetic inputs are i.i.d. uniform pixels (the paper's generator for
/// images draws pixels pseudo-randomly; its text variant differs).
///
/// The secret is XORed with a keystream both ends derive from the shared seed before it is cut
/// into labels (`whiten`), as an attacker would encrypt it: image bytes are mostly zero, and raw
/// they would make label 0 so common that a model that learned nothing would look like a
/// receiver. Whitened, a receiver without the channel gets 1/2^k of the labels right.
///
/// Worked example (c = 10, 3 bits per label): bits 1,0,1, 0,1,1 → labels 5, 3.
public struct CapacityAbuse: Sendable {
  public let inputs: Int
  public let classes: Int
  public let pixelsPerInput: Int
  public let seed: UInt64
  public let worker: UInt64

  public init(inputs: Int, classes: Int, pixelsPerInput: Int, seed: UInt64, worker: Int) throws {
    guard inputs > 0 else { throw CovertError("capacity_abuse: inputs must be positive, got \(inputs)") }
    guard classes >= 2 else { throw CovertError("capacity_abuse: needs at least 2 classes") }
    self.inputs = inputs; self.classes = classes; self.pixelsPerInput = pixelsPerInput
    self.seed = seed; self.worker = UInt64(worker)
  }

  /// Secret bits one label carries: ⌊log₂ classes⌋.
  public var bitsPerLabel: Int { Int.bitWidth - 1 - classes.leadingZeroBitCount }
  /// Secret bits the N inputs carry.
  public var capacityBits: Int { inputs * bitsPerLabel }

  /// The synthetic inputs, as bytes (N × pixelsPerInput), regenerated alike by sender and receiver.
  public func syntheticPixels() -> [UInt8] {
    var rng = RandomStream(seed: seed, purpose: .covert, worker, 0xCA9A)
    return (0..<(inputs * pixelsPerInput)).map { _ in UInt8(truncatingIfNeeded: rng.next() >> 56) }
  }

  /// The secret XOR the channel's keystream (its own inverse).
  public func whiten(_ bytes: [UInt8]) -> [UInt8] {
    var rng = RandomStream(seed: seed, purpose: .covert, worker, 0x5EC)
    return bytes.map { $0 ^ UInt8(truncatingIfNeeded: rng.next() >> 56) }
  }

  /// Labels carrying `bits` (MSB first per label; a short tail is zero-padded).
  public func labels(encoding bits: [UInt8]) -> [Int32] {
    let k = bitsPerLabel
    return (0..<inputs).map { j in
      var v: Int32 = 0
      for t in 0..<k {
        let i = j * k + t
        v = (v << 1) | Int32(i < bits.count ? bits[i] & 1 : 0)
      }
      return v
    }
  }

  /// The bits predicted labels carry (the receiver's decoding).
  public func bits(decoding labels: [Int32]) -> [UInt8] {
    let k = bitsPerLabel
    var out: [UInt8] = []
    for l in labels {
      for t in stride(from: k - 1, through: 0, by: -1) { out.append(l >= 0 && l < (1 << k) ? UInt8((l >> Int32(t)) & 1) : 0) }
    }
    return out
  }
}
