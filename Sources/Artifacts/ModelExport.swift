import Learning
import Tensor

/// A ByzSim model as named tensors in PyTorch's layout and names, and back:
///
/// - dense layers: `fc.weight` (logreg) or `fc1.weight`, `fc2.weight`, … as [out, in], biases [out];
/// - convolutions: `conv1.weight`, `conv2.weight` as [out, in, kh, kw] (ByzSim keeps
///   [out, kh, kw, in] for NHWC images);
/// - the first dense layer after images or feature maps takes them flattened channel-first
///   (PyTorch's NCHW `flatten`), so its columns are permuted from ByzSim's HWC order.
///
/// A NumPy or PyTorch forward pass over NCHW inputs with these tensors computes what ByzSim
/// computes over the same images in NHWC. Export then import gives back the parameter vector
/// bit for bit.
public enum ModelExport {
  /// One tensor's place in the parameter vector: `source[i]` is the parameter index of the
  /// tensor's i-th element (row-major in PyTorch's shape).
  struct Slot {
    let name: String
    let shape: [Int]
    let source: [Int]
  }

  /// The tensors of `spec` on `input` images with `classes` outputs, in parameter order.
  static func slots(spec: ModelSpec, input: ImageShape, classes: Int) -> [Slot] {
    var slots: [Slot] = []
    var offset = 0
    // The shape of what feeds the next layer: images, feature maps, then flat vectors.
    var image: ImageShape? = input
    let layers = spec.makeLayers(input: input, classes: classes)
    let denseCount = layers.filter { $0 is Dense }.count
    var dense = 0, conv = 0
    for layer in layers {
      if let d = layer as? Dense {
        dense += 1
        let name = denseCount == 1 ? "fc" : "fc\(dense)"
        let (o, n) = (d.outputSize, d.inputSize)
        // Column j of PyTorch's weight is input element j in CHW order; ours is HWC.
        let column: [Int] =
          image.map { s in
            (0..<n).map { j in
              let c = j / (s.height * s.width), h = (j / s.width) % s.height, w = j % s.width
              return (h * s.width + w) * s.channels + c
            }
          } ?? Array(0..<n)
        slots.append(Slot(name: "\(name).weight", shape: [o, n], source: (0..<(o * n)).map { offset + ($0 / n) * n + column[$0 % n] }))
        slots.append(Slot(name: "\(name).bias", shape: [o], source: (0..<o).map { offset + o * n + $0 }))
        image = nil
      } else if let c = layer as? Conv2D {
        conv += 1
        let g = c.geometry
        let (o, kh, kw, ci) = (g.outChannels, g.kernelHeight, g.kernelWidth, g.inChannels)
        // PyTorch [o, c, i, j] ← ByzSim [o, i, j, c].
        let source = (0..<(o * ci * kh * kw)).map { t -> Int in
          let j = t % kw, i = (t / kw) % kh, cc = (t / (kw * kh)) % ci, oo = t / (kw * kh * ci)
          return offset + ((oo * kh + i) * kw + j) * ci + cc
        }
        slots.append(Slot(name: "conv\(conv).weight", shape: [o, ci, kh, kw], source: source))
        slots.append(Slot(name: "conv\(conv).bias", shape: [o], source: (0..<o).map { offset + g.weightCount + $0 }))
        image = ImageShape(height: g.outHeight, width: g.outWidth, channels: o)
      } else if let p = layer as? MaxPool2D {
        image = ImageShape(height: p.height / 2, width: p.width / 2, channels: p.channels)
      }
      offset += layer.parameterCount
    }
    return slots
  }

  /// The parameters as named Float32 tensors in PyTorch's layout.
  public static func tensors(_ parameters: [Float], spec: ModelSpec, input: ImageShape, classes: Int) -> [SafeTensorsFile.Tensor] {
    slots(spec: spec, input: input, classes: classes).map { s in
      SafeTensorsFile.Tensor(name: s.name, shape: s.shape, floats: s.source.map { parameters[$0] })
    }
  }

  /// The parameter vector of `spec` from a file's tensors; every expected tensor must be there
  /// as F32 with its exact shape, and nothing else.
  public static func parameters(
    from file: SafeTensorsFile, spec: ModelSpec, input: ImageShape, classes: Int, path: String
  ) throws -> [Float] {
    let slots = slots(spec: spec, input: input, classes: classes)
    var parameters = [Float](repeating: 0, count: spec.parameterCount(input: input, classes: classes))
    for s in slots {
      guard let t = file.tensor(s.name) else {
        throw SafeTensorsError(path: path, rule: "no tensor \"\(s.name)\" for \(spec) on \(input) inputs")
      }
      guard t.dtype == .f32, t.shape == s.shape else {
        throw SafeTensorsError(path: path, rule: "\"\(s.name)\" is \(t.dtype.rawValue) \(t.shape); \(spec) needs F32 \(s.shape)")
      }
      for (i, v) in t.floats.enumerated() { parameters[s.source[i]] = v }
    }
    let expected = Set(slots.map(\.name))
    if let extra = file.tensors.first(where: { !expected.contains($0.name) }) {
      throw SafeTensorsError(path: path, rule: "unexpected tensor \"\(extra.name)\" for \(spec)")
    }
    return parameters
  }
}
