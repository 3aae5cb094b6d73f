import Tensor

/// The model families ByzSim trains.
public enum ModelKind: String, CaseIterable, Sendable, Codable {
  /// Multinomial logistic regression: one dense layer.
  case logreg
  /// Multi-layer perceptron with ReLU hidden layers (default 784-100-10).
  case mlp
  /// The CNN of Fang et al. 2020, Table 7a: conv3×3×30+ReLU, maxpool 2,
  /// conv3×3×50+ReLU, maxpool 2, FC200+ReLU, FC10.
  case cnn
}

/// A model family plus its size options; builds the layers for a given input shape.
public struct ModelSpec: Sendable, Equatable, Codable, CustomStringConvertible {
  public var kind: ModelKind
  /// Hidden layer widths of the MLP (ignored by the other kinds).
  public var hidden: [Int]

  public init(kind: ModelKind, hidden: [Int] = [100]) {
    self.kind = kind
    self.hidden = hidden
  }

  public var description: String {
    kind == .mlp ? "mlp(\(hidden.map(String.init).joined(separator: "-")))" : kind.rawValue
  }

  /// The largest model ByzSim builds (400 MB of Float32 parameters, before gradients and
  /// optimizer state): a bigger one is a typo, not an experiment for this machine.
  public static let maxParameters = 100_000_000
  /// The widest MLP hidden layer accepted.
  public static let maxHiddenWidth = 65_536

  /// Why these options cannot build a model for `input` and `classes`, or nil if they can.
  public func problem(input: ImageShape, classes: Int = 10) -> String? {
    if kind == .mlp, hidden.isEmpty || hidden.contains(where: { $0 <= 0 || $0 > Self.maxHiddenWidth }) {
      return "MLP hidden sizes must be integers from 1 to \(Self.maxHiddenWidth): got \(hidden)"
    }
    if kind == .cnn, input.height < 10 || input.width < 10 {
      return "the CNN of Fang et al. needs images of at least 10×10: got \(input)"
    }
    guard input.size >= 1, classes >= 2 else {
      return "a model needs a non-empty input and at least 2 classes: got \(input), \(classes) classes"
    }
    let count = parameterCount(input: input, classes: classes)
    if count > Self.maxParameters {
      return
        "\(description) on \(input) inputs would have \(count == .max ? "more than \(Self.maxParameters)" : String(count)) parameters; at most \(Self.maxParameters) are supported"
    }
    return nil
  }

  /// The number of parameters of this model for `input` and `classes`, computed without
  /// building it (Int.max when it overflows).
  public func parameterCount(input: ImageShape, classes: Int) -> Int {
    func dense(_ i: Int, _ o: Int) -> Int {
      let (w, o1) = i.multipliedReportingOverflow(by: o)
      let (t, o2) = w.addingReportingOverflow(o)
      return o1 || o2 ? .max : t
    }
    func sum(_ xs: [Int]) -> Int {
      xs.reduce(0) { a, b in
        let (s, o) = a.addingReportingOverflow(b); return o ? .max : s
      }
    }
    switch kind {
    case .logreg:
      return dense(input.size, classes)
    case .mlp:
      var width = input.size, parts: [Int] = []
      for h in hidden { parts.append(dense(width, h)); width = h }
      parts.append(dense(width, classes))
      return sum(parts)
    case .cnn:
      guard input.height >= 10, input.width >= 10 else { return 0 }
      let h2 = (input.height - 2) / 2 - 2, w2 = (input.width - 2) / 2 - 2
      return sum([dense(9 * input.channels, 30), dense(9 * 30, 50), dense((h2 / 2) * (w2 / 2) * 50, 200), dense(200, classes)])
    }
  }

  /// The layers of this model for inputs of `input` shape and `classes` outputs.
  public func makeLayers(input: ImageShape, classes: Int) -> [any Layer] {
    if let problem = problem(input: input) { preconditionFailure(problem) }
    switch kind {
    case .logreg:
      return [Dense(inputs: input.size, outputs: classes)]
    case .mlp:
      var layers: [any Layer] = []
      var width = input.size
      for h in hidden {
        layers.append(Dense(inputs: width, outputs: h))
        layers.append(ReLU(size: h))
        width = h
      }
      layers.append(Dense(inputs: width, outputs: classes))
      return layers
    case .cnn:
      let c1 = ConvGeometry(
        height: input.height, width: input.width, inChannels: input.channels,
        kernelHeight: 3, kernelWidth: 3, outChannels: 30)
      let p1 = MaxPool2D(height: c1.outHeight, width: c1.outWidth, channels: 30)
      let c2 = ConvGeometry(
        height: c1.outHeight / 2, width: c1.outWidth / 2, inChannels: 30,
        kernelHeight: 3, kernelWidth: 3, outChannels: 50)
      let p2 = MaxPool2D(height: c2.outHeight, width: c2.outWidth, channels: 50)
      return [
        Conv2D(geometry: c1), ReLU(size: c1.outputSize), p1,
        Conv2D(geometry: c2), ReLU(size: c2.outputSize), p2,
        Dense(inputs: p2.outputSize, outputs: 200), ReLU(size: 200),
        Dense(inputs: 200, outputs: classes),
      ]
    }
  }

  /// A freshly initialised network of this model.
  public func makeNetwork(input: ImageShape, classes: Int, seed: UInt64) -> Network {
    Network(layers: makeLayers(input: input, classes: classes), seed: seed)
  }
}

extension ModelSpec {
  /// Parses what `description` writes: `logreg`, `cnn`, `mlp(100)`, `mlp(256-128)`.
  public init?(parsing text: String) {
    if let kind = ModelKind(rawValue: text), kind != .mlp {
      self.init(kind: kind)
      return
    }
    guard text.hasPrefix("mlp("), text.hasSuffix(")") else { return nil }
    let sizes = text.dropFirst(4).dropLast().split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
    guard !sizes.isEmpty, sizes.allSatisfy({ $0 != nil }) else { return nil }
    self.init(kind: .mlp, hidden: sizes.map { $0! })
  }
}
