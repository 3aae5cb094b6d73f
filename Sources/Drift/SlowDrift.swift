import Foundation

/// The boiling-frog adversary against a drift monitor: it moves the traffic toward a target
/// (here, images of a source class morphed toward images of a target class, so the model reads
/// them as the target) in steps small enough that no window detector it knows of alerts.
///
/// It knows what an attacker who has read the deployment knows — the detectors, their
/// thresholds, the window length and cadence — but not the server's reference sample: it runs
/// the same tests (`WindowReference.evaluate`) on a sample of its own from the same
/// distribution, on exactly the window of inputs it sent and the labels the server answered.
/// After each of the monitor's evaluations falls due, it raises the morph strength by `step`
/// while the highest level (1 = the alert line) stays under `margin`, and lowers it by `step`
/// once the level reaches `margin`. This is the adaptive form of the slow-poisoning attacks on
/// change detectors (the attacker keeps each window's statistic under the threshold, after
/// Kloft & Laskov 2010 on online anomaly detectors); the step rule is our choice.
public struct SlowDriftAdversary: Sendable {
  public let reference: WindowReference
  public let detectors: [WindowDetector]
  public let settings: WindowSettings
  public let window: Int
  public let margin: Double
  public let step: Double
  public private(set) var strength = 0.0
  /// The highest level its own tests gave at the last adjustment.
  public private(set) var lastLevel = 0.0
  var inputs: [[Double]] = []
  var labels: [Double] = []
  var next = 0

  public init(
    reference: WindowReference, detectors: [WindowDetector], settings: WindowSettings, window: Int, margin: Double, step: Double
  ) {
    precondition(window >= 2 && margin > 0 && step > 0, "a window of at least 2, a positive margin and step")
    self.reference = reference
    self.detectors = detectors
    self.settings = settings
    self.window = window
    self.margin = margin
    self.step = step
  }

  /// One request it sent and the label the server gave.
  public mutating func sent(_ input: [Float], label: Int) {
    let row = input.map(Double.init)
    if inputs.count < window {
      inputs.append(row)
      labels.append(Double(label))
    } else {
      inputs[next] = row
      labels[next] = Double(label)
    }
    next = (next + 1) % window
  }

  /// Runs its tests on the window it sent and moves the strength; returns the highest level.
  @discardableResult
  public mutating func adjust() -> Double {
    guard inputs.count == window else { return 0 }
    lastLevel = detectors.map { reference.evaluate($0, rows: inputs, labels: labels, settings: settings).level }.max() ?? 0
    strength = lastLevel < margin ? min(1, strength + step) : max(0, strength - step)
    return lastLevel
  }

  /// `x` moved toward `target` by `strength` (0: unchanged; 1: the target image).
  public static func morph(_ x: [Float], toward target: [Float], strength: Double) -> [Float] {
    precondition(x.count == target.count, "morphing needs two images of one shape")
    let s = Float(strength)
    return zip(x, target).map { (1 - s) * $0 + s * $1 }
  }
}
