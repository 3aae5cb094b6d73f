/// Stochastic gradient descent with momentum and L2 weight decay, PyTorch's formulation
/// (dampening 0, no Nesterov):
///
///     g ← g + λ·p;   v ← μ·v + g;   p ← p − η·v
///
/// With μ = 0 this is plain SGD. The velocity is one vector the length of the parameters.
public struct SGD: Sendable {
  public var momentum: Float
  public var weightDecay: Float
  public private(set) var velocity: [Float]

  public init(parameterCount: Int, momentum: Float = 0, weightDecay: Float = 0) {
    precondition(momentum >= 0 && momentum < 1, "momentum must be in [0, 1): got \(momentum)")
    precondition(weightDecay >= 0, "weight decay must be >= 0: got \(weightDecay)")
    self.momentum = momentum
    self.weightDecay = weightDecay
    velocity = [Float](repeating: 0, count: momentum > 0 ? parameterCount : 0)
  }

  /// Restores a velocity saved in a checkpoint (empty when momentum is 0).
  public mutating func restore(velocity v: [Float]) {
    precondition(v.count == velocity.count, "checkpoint velocity has \(v.count) values, expected \(velocity.count)")
    velocity = v
  }

  /// One step of size `learningRate` along `gradient` (same length as `parameters`). With
  /// `only`, the parameters outside that range are left exactly as they are (no step, no weight
  /// decay): fine-tuning one layer of a network.
  public mutating func step(_ parameters: inout [Float], gradient: [Float], learningRate: Float, only: Range<Int>? = nil) {
    precondition(parameters.count == gradient.count, "gradient length \(gradient.count) != parameter count \(parameters.count)")
    let lr = learningRate, wd = weightDecay, mu = momentum
    let range = only ?? 0..<parameters.count
    precondition(range.lowerBound >= 0 && range.upperBound <= parameters.count, "trainable range \(range) outside the parameters")
    gradient.withUnsafeBufferPointer { g in
      parameters.withUnsafeMutableBufferPointer { p in
        if mu == 0 {
          for i in range { p[i] -= lr * (g[i] + wd * p[i]) }
        } else {
          velocity.withUnsafeMutableBufferPointer { v in
            for i in range {
              let gi = g[i] + wd * p[i]
              v[i] = mu * v[i] + gi
              p[i] -= lr * v[i]
            }
          }
        }
      }
    }
  }
}

/// Learning rate as a function of the epoch: η₀ · γ^⌊epoch / step⌋ (step decay), or constant.
public struct LearningRateSchedule: Sendable, Equatable, Codable {
  public var base: Float
  /// Decay every `stepEpochs` epochs; nil or 0 keeps the rate constant.
  public var stepEpochs: Int?
  public var gamma: Float

  public init(base: Float, stepEpochs: Int? = nil, gamma: Float = 0.1) {
    self.base = base; self.stepEpochs = stepEpochs; self.gamma = gamma
  }

  /// The rate for 0-based `epoch`.
  public func rate(epoch: Int) -> Float {
    guard let s = stepEpochs, s > 0 else { return base }
    var r = base
    for _ in 0..<(epoch / s) { r *= gamma }
    return r
  }
}
