import Foundation
import Tensor

/// How served traffic drifts: phases from given request numbers, each a shift of the inputs
/// (covariate shift) or of the class mix (label shift), abrupt or ramped in over `ramp`
/// requests (gradual drift). Pure: the same scenario and seed give the same stream.
public struct DriftScenario: Sendable, Equatable {
  public enum Kind: String, Sendable, CaseIterable {
    case none, brightness, contrast, noise, rotation, occlusion
    case labelShift = "label-shift"
  }

  public struct Phase: Sendable, Equatable {
    public var start: Int
    public var kind: Kind
    /// brightness: added to every pixel; contrast: the factor is 1 + strength about the image's
    /// mean; noise: the standard deviation of Gaussian noise; rotation: degrees; occlusion: the
    /// side of a black square as a fraction of the image; label-shift: unused.
    public var strength: Double
    /// Requests over which the strength grows linearly from 0 (0: abrupt).
    public var ramp: Int
    /// label-shift: the classes the traffic is drawn from.
    public var classes: [Int]

    public init(start: Int, kind: Kind, strength: Double = 0, ramp: Int = 0, classes: [Int] = []) {
      self.start = start
      self.kind = kind
      self.strength = strength
      self.ramp = ramp
      self.classes = classes
    }
  }

  public var phases: [Phase]

  public init(phases: [Phase]) { self.phases = phases.sorted { $0.start < $1.start } }

  /// The phase in force at request `i`.
  public func phase(at i: Int) -> Phase? { phases.last { $0.start <= i } }

  /// The strength in force at request `i` (ramped).
  public func strength(at i: Int) -> Double {
    guard let p = phase(at: i) else { return 0 }
    guard p.ramp > 0 else { return p.strength }
    return p.strength * min(1, Double(i - p.start + 1) / Double(p.ramp))
  }

  /// Request `i`'s image, shifted (pixels in [0, 1], HWC).
  public func apply(_ image: [Float], shape: ImageShape, at i: Int, rng: inout RandomStream) -> [Float] {
    guard let p = phase(at: i) else { return image }
    let s = strength(at: i)
    let h = shape.height, w = shape.width, c = shape.channels
    switch p.kind {
    case .none, .labelShift:
      return image
    case .brightness:
      return image.map { min(1, max(0, $0 + Float(s))) }
    case .contrast:
      let mean = image.reduce(0, +) / Float(image.count)
      return image.map { min(1, max(0, mean + ($0 - mean) * Float(1 + s))) }
    case .noise:
      return image.map { min(1, max(0, $0 + Float(s * rng.nextNormal()))) }
    case .rotation:
      // Nearest-neighbour rotation by s degrees about the centre; uncovered pixels are 0.
      let angle = s * Double.pi / 180, cosA = cos(angle), sinA = sin(angle)
      let cy = Double(h - 1) / 2, cx = Double(w - 1) / 2
      var out = [Float](repeating: 0, count: image.count)
      for y in 0..<h {
        for x in 0..<w {
          let sx = cosA * (Double(x) - cx) + sinA * (Double(y) - cy) + cx
          let sy = -sinA * (Double(x) - cx) + cosA * (Double(y) - cy) + cy
          let ix = Int(sx.rounded()), iy = Int(sy.rounded())
          guard ix >= 0, ix < w, iy >= 0, iy < h else { continue }
          for ch in 0..<c { out[(y * w + x) * c + ch] = image[(iy * w + ix) * c + ch] }
        }
      }
      return out
    case .occlusion:
      let side = Int((s * Double(min(h, w))).rounded())
      guard side > 0 else { return image }
      let y0 = rng.nextInt(below: max(1, h - side + 1)), x0 = rng.nextInt(below: max(1, w - side + 1))
      var out = image
      for y in y0..<min(h, y0 + side) { for x in x0..<min(w, x0 + side) { for ch in 0..<c { out[(y * w + x) * c + ch] = 0 } } }
      return out
    }
  }
}
