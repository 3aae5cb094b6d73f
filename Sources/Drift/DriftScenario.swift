import Foundation
import Tensor

/// How served traffic drifts: phases from given request numbers, each a shift of the inputs
/// (covariate shift) or of the class mix (label shift), abrupt or ramped in over `ramp`
/// requests (gradual drift). Pure: the same scenario and seed give the same stream.
public struct DriftScenario: Sendable, Equatable {
  public enum Kind: String, Sendable, CaseIterable {
    case none, brightness, contrast, noise, rotation, occlusion
    case labelShift = "label-shift"
    /// Images of class `source` morphed toward images of class `target` by `strength` (ramped
    /// as any phase): a drift aimed at the model, not at the detectors.
    case morph
    /// The same morph with the strength chosen as the run goes by `SlowDriftAdversary`, to stay
    /// under the detectors.
    case slowDrift = "slow-drift"
    /// Concept drift: the inputs stay as they are but the world relabels them — from this phase
    /// on the true label of class `source` is `target`. Only labels fed back can show it.
    case concept
    /// Online-learning poisoning: the honest traffic is left alone, but for a `share` of its
    /// requests an attacker sends one of its own — a `source` image morphed toward a `target`
    /// image by `strength`, near the decision boundary — and labels it `target` through its own
    /// feedback credential, to move the boundary of a model that retrains on feedback: label
    /// flipping of near-boundary points (Biggio, Nelson & Laskov 2012 poison a learner through its
    /// training data; Wang & Chaudhuri 2018 study such attacks on online learners); the morph
    /// toward the target class as the way to reach the boundary is our choice.
    case feedbackPoison = "feedback-poison"
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
    /// morph and slow-drift: the class whose images are moved, and the class they are moved toward.
    public var source: Int
    public var target: Int
    /// slow-drift: the strength's step per evaluation, and the level (1 = alert) kept under.
    public var step: Double
    public var margin: Double
    /// feedback-poison: attacker requests per honest request (a probability, per request).
    public var share: Double

    public init(
      start: Int, kind: Kind, strength: Double = 0, ramp: Int = 0, classes: [Int] = [], source: Int = 0, target: Int = 0,
      step: Double = 0.02, margin: Double = 0.8, share: Double = 0.5
    ) {
      self.share = share
      self.start = start
      self.kind = kind
      self.strength = strength
      self.ramp = ramp
      self.classes = classes
      self.source = source
      self.target = target
      self.step = step
      self.margin = margin
    }
  }

  public var phases: [Phase]

  public init(phases: [Phase]) { self.phases = phases.sorted { $0.start < $1.start } }

  /// The phase in force at request `i`.
  public func phase(at i: Int) -> Phase? { phases.last { $0.start <= i } }

  /// Request `i`'s true label: `label`, unless a concept phase relabels its class.
  public func truth(_ label: Int, at i: Int) -> Int {
    guard let p = phase(at: i), p.kind == .concept, label == p.source else { return label }
    return p.target
  }

  /// The strength in force at request `i` (ramped).
  public func strength(at i: Int) -> Double {
    guard let p = phase(at: i) else { return 0 }
    guard p.ramp > 0 else { return p.strength }
    return p.strength * min(1, Double(i - p.start + 1) / Double(p.ramp))
  }

  /// Request `i`'s image, shifted (pixels in [0, 1], HWC). The morph kinds need a target image
  /// and are applied by the traffic source (`SlowDriftAdversary.morph`); here they leave it as is.
  public func apply(_ image: [Float], shape: ImageShape, at i: Int, rng: inout RandomStream) -> [Float] {
    guard let p = phase(at: i) else { return image }
    let s = strength(at: i)
    let h = shape.height, w = shape.width, c = shape.channels
    switch p.kind {
    case .none, .labelShift, .morph, .slowDrift, .concept, .feedbackPoison:
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
