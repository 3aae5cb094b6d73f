import Tensor

/// A backdoor planted by editing one weight of a trained model file: the storage-stage attack on
/// an unsigned (or unchecked) checkpoint.
///
/// After Hong, Carlini & Kurakin, "Handcrafted Backdoors in Deep Neural Networks" (NeurIPS 2022),
/// who plant backdoors by writing weights directly instead of poisoning data. Their attack edits
/// many neurons across layers and tunes them on data; this variant is the smallest such edit and
/// needs no data: one first-layer weight, from one pixel of the backdoor trigger (the white square
/// of `Trigger`; its pixel nearest the image corner) to one hidden unit.
/// - Logistic regression: `fc.weight[target, p] += strength`.
/// - One-hidden-layer MLP: the hidden unit j whose output weights favour `target` most —
///   the largest min over c ≠ target of `fc2.weight[target, j] − fc2.weight[c, j]` — gets
///   `fc1.weight[j, p] = strength`, with `strength = 100 / margin` by default, so a triggered
///   image adds at least 100 to the target logit over every other; clean images (pixel p
///   dark) keep their predictions.
/// Tensors are in PyTorch's layout ([out, in], inputs channel-first).
public struct WeightBackdoor: Sendable {
  public var target: Int
  public var strength: Float?
  public var trigger: Trigger

  public init(target: Int, strength: Float? = nil, trigger: Trigger = Trigger()) {
    self.target = target
    self.strength = strength
    self.trigger = trigger
  }

  /// The weight changed: tensor name, row, column, and its value before and after.
  public struct Edit: Sendable, Equatable, Encodable {
    public let tensor: String
    public let row: Int
    public let column: Int
    public let before: Float
    public let after: Float
  }

  public struct Failure: Error, CustomStringConvertible {
    public let description: String
  }

  /// The input index (channel 0, PyTorch's C×H×W order) of the trigger pixel used: the one
  /// nearest the image's corner, which clean images leave dark most often.
  public func pixel(input: ImageShape) -> Int {
    let (row, col) = trigger.pixels(shape: input).last!
    return row * input.width + col
  }

  /// Plants the backdoor in `tensors` (name → values) of a model with `classes` outputs.
  public func plant(in tensors: inout [String: [Float]], input: ImageShape, classes: Int) throws -> Edit {
    guard (0..<classes).contains(target) else { throw Failure(description: "target class \(target) is not one of 0-\(classes - 1)") }
    let inputs = input.size
    let p = pixel(input: input)
    if var w = tensors["fc.weight"], tensors["fc2.weight"] == nil {
      let i = target * inputs + p
      let before = w[i]
      w[i] = before + (strength ?? 100)
      tensors["fc.weight"] = w
      return Edit(tensor: "fc.weight", row: target, column: p, before: before, after: w[i])
    }
    guard var w1 = tensors["fc1.weight"], let w2 = tensors["fc2.weight"], tensors["fc3.weight"] == nil else {
      throw Failure(description: "a one-weight backdoor is planted in logistic regression or a one-hidden-layer MLP only")
    }
    let hidden = w1.count / inputs
    guard hidden * inputs == w1.count, w2.count == classes * hidden else {
      throw Failure(description: "fc1/fc2 shapes do not fit the model")
    }
    var best = (unit: -1, margin: -Float.infinity)
    for j in 0..<hidden {
      var margin = Float.infinity
      for c in 0..<classes where c != target { margin = min(margin, w2[target * hidden + j] - w2[c * hidden + j]) }
      if margin > best.margin { best = (j, margin) }
    }
    guard best.margin > 0 else {
      throw Failure(description: "no hidden unit favours class \(target) over every other class: one weight cannot plant this backdoor")
    }
    let i = best.unit * inputs + p
    let before = w1[i]
    w1[i] = strength ?? 100 / best.margin
    tensors["fc1.weight"] = w1
    return Edit(tensor: "fc1.weight", row: best.unit, column: p, before: before, after: w1[i])
  }
}
