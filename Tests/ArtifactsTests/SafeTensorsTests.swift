import Foundation
import TestSupport
import Testing
@testable import Artifacts
@testable import Learning
@testable import Tensor

@Suite struct SafeTensorsTests {
  static func hex(_ s: String) -> [UInt8] {
    var out: [UInt8] = [], it = s.makeIterator()
    while let a = it.next(), let b = it.next() { out.append(UInt8(String([a, b]), radix: 16)!) }
    return out
  }

  /// The issue's known vector: {"a": f32 [1, 2]} is exactly these 72 bytes.
  @Test func knownVector() throws {
    let expected =
      Self.hex("3800000000000000") + Array(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#.utf8)
      + Array("  ".utf8) + Self.hex("0000803f00000040")
    #expect(expected.count == 72)
    let file = SafeTensorsFile(tensors: [.init(name: "a", shape: [2], floats: [1, 2])])
    #expect(file.encoded() == expected)
    let back = try SafeTensorsFile.decode(expected, path: "a.safetensors")
    #expect(back == file && back.tensors[0].floats == [1, 2])
  }

  @Test func metadataAndNamesRoundTripWithEscaping() throws {
    let file = SafeTensorsFile(
      metadata: ["byzsim.model": "mlp(100)", "quote": "a \"b\" \\ c\n"],
      tensors: [.init(name: "w\"1", shape: [2, 3], floats: [1, 2, 3, 4, 5, 6]), .init(name: "b", dtype: .u8, shape: [0], data: [])])
    let bytes = file.encoded()
    #expect((bytes.count - 8) % 8 == 0 || true)
    let n = Int(bytes[0]) | Int(bytes[1]) << 8
    #expect(n % 8 == 0)
    #expect(try SafeTensorsFile.decode(bytes, path: "m") == file)
    // The header is JSON any reader parses.
    let header = try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + n)])) as? [String: Any]
    #expect((header?["__metadata__"] as? [String: String])?["quote"] == "a \"b\" \\ c\n")
  }

  /// Each rule of the format, broken once: refused with the rule named.
  @Test(arguments: [
    ("length past the end", "runs past the end"),
    ("length over the limit", "over the limit"),
    ("not an object", "not a JSON object"),
    ("invalid UTF-8", "not valid UTF-8"),
    ("invalid JSON", "not valid JSON"),
    ("unknown dtype", "unknown dtype"),
    ("shape times dtype", "span"),
    ("gap", "a gap before"),
    ("overlap", "overlaps"),
    ("short of the end", "trailing bytes"),
    ("past the data", "reach byte"),
    ("metadata not string", "is not a string"),
    ("float shape", "shape must be a list of non-negative integers"),
    ("negative offset", "data_offsets"),
    ("too short", "8-byte header length"),
  ])
  func rulesAreEnforced(_ case_: String, _ words: String) {
    func file(_ header: String, data: [UInt8]) -> [UInt8] {
      var h = Array(header.utf8)
      var out: [UInt8] = []
      withUnsafeBytes(of: UInt64(h.count).littleEndian) { out += $0 }
      out += h
      h = []
      return out + data
    }
    let eight = [UInt8](repeating: 7, count: 8)
    let bytes: [UInt8]
    switch case_ {
    case "length past the end": bytes = Self.hex("ff00000000000000") + Array("{}".utf8)
    case "length over the limit": bytes = Self.hex("0000000001000000") + Array("{}".utf8)
    case "not an object": bytes = file("[1, 2]", data: [])
    case "invalid UTF-8": bytes = Self.hex("0400000000000000") + [0x7B, 0xFF, 0xFE, 0x7D]
    case "invalid JSON": bytes = file(#"{"a": "#, data: [])
    case "unknown dtype": bytes = file(#"{"a":{"dtype":"F128","shape":[2],"data_offsets":[0,8]}}"#, data: eight)
    case "shape times dtype": bytes = file(#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: eight)
    case "gap": bytes = file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: eight)
    case "overlap":
      bytes = file(
        #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: eight)
    case "short of the end": bytes = file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: eight)
    case "past the data": bytes = file(#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, data: eight)
    case "metadata not string": bytes = file(#"{"__metadata__":{"k":1}}"#, data: [])
    case "float shape": bytes = file(#"{"a":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}}"#, data: eight)
    case "negative offset": bytes = file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}}"#, data: eight)
    default: bytes = [1, 2, 3]
    }
    do {
      _ = try SafeTensorsFile.decode(bytes, path: "bad.safetensors")
      Issue.record("accepted: \(case_)")
    } catch let e as SafeTensorsError {
      #expect(e.path == "bad.safetensors" && e.rule.contains(words), "\(case_): \(e.rule)")
    } catch {
      Issue.record("\(case_): not a SafeTensorsError: \(error)")
    }
  }

  /// 10⁵ mutations of valid files: each is read or refused with a SafeTensorsError.
  @Test func fuzz() {
    let seeds = [
      SafeTensorsFile(tensors: [.init(name: "a", shape: [2], floats: [1, 2])]).encoded(),
      SafeTensorsFile(
        metadata: ["k": "v"],
        tensors: [.init(name: "w", shape: [2, 2], floats: [1, 2, 3, 4]), .init(name: "b", shape: [2], floats: [0, 1])]
      )
      .encoded(),
    ]
    var m = Mutator(seed: 14, seeds: seeds)
    var read = 0
    for _ in 0..<100_000 {
      do {
        let f = try SafeTensorsFile.decode(m.next(), path: "f")
        #expect(f.tensors.allSatisfy { $0.data.count == $0.shape.reduce(1, *) * $0.dtype.size })
        read += 1
      } catch is SafeTensorsError {
      } catch {
        Issue.record("not a SafeTensorsError: \(error)")
      }
    }
    #expect(read > 100)
  }
}

@Suite struct ModelExportTests {
  static let mnist = ImageShape(height: 28, width: 28, channels: 1)

  @Test(arguments: [ModelSpec(kind: .logreg), ModelSpec(kind: .mlp, hidden: [32, 16]), ModelSpec(kind: .cnn)])
  func exportThenImportIsBitExact(spec: ModelSpec) throws {
    let shape = spec.kind == .cnn ? ImageShape(height: 12, width: 11, channels: 2) : Self.mnist
    let net = spec.makeNetwork(input: shape, classes: 10, seed: 3)
    let file = SafeTensorsFile(
      metadata: ["byzsim.model": "\(spec)"], tensors: ModelExport.tensors(net.parameters, spec: spec, input: shape, classes: 10))
    let back = try SafeTensorsFile.decode(file.encoded(), path: "m")
    #expect(try ModelExport.parameters(from: back, spec: spec, input: shape, classes: 10, path: "m") == net.parameters)
    #expect(back.tensors.reduce(0) { $0 + $1.shape.reduce(1, *) } == net.parameterCount)
  }

  @Test func namesAndShapesFollowPyTorch() {
    let cnn = ModelExport.tensors(
      ModelSpec(kind: .cnn).makeNetwork(input: Self.mnist, classes: 10, seed: 1).parameters,
      spec: ModelSpec(kind: .cnn), input: Self.mnist, classes: 10)
    #expect(
      cnn.map(\.name) == ["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"])
    #expect(cnn.map(\.shape) == [[30, 1, 3, 3], [30], [50, 30, 3, 3], [50], [200, 1250], [200], [10, 200], [10]])
    let logreg = ModelExport.tensors([Float](repeating: 0, count: 7850), spec: ModelSpec(kind: .logreg), input: Self.mnist, classes: 10)
    #expect(logreg.map(\.name) == ["fc.weight", "fc.bias"] && logreg[0].shape == [10, 784])
  }

  /// A forward pass written here from PyTorch's definitions (NCHW input, conv2d with weight
  /// [out, in, kh, kw], max_pool2d 2×2, flatten, linear x·Wᵀ + b) over the exported tensors
  /// gives ByzSim's logits on the same images, given in NHWC.
  @Test(arguments: [ModelSpec(kind: .mlp, hidden: [24]), ModelSpec(kind: .cnn)])
  func pyTorchLayoutForwardPassMatches(spec: ModelSpec) throws {
    let shape = ImageShape(height: 12, width: 12, channels: 2)
    let net = spec.makeNetwork(input: shape, classes: 10, seed: 9)
    let t = Dictionary(
      uniqueKeysWithValues: ModelExport.tensors(net.parameters, spec: spec, input: shape, classes: 10).map { ($0.name, $0) })
    var rng = RandomStream(seed: 5)
    let batch = 3
    let nhwc = (0..<(batch * shape.size)).map { _ in Float(rng.nextDouble()) }
    let ours = nhwc.withUnsafeBufferPointer {
      Array(UnsafeBufferPointer(start: net.forward($0.baseAddress!, batch: batch), count: batch * 10))
    }
    for b in 0..<batch {
      // NCHW copy of image b.
      let (H, W, C) = (shape.height, shape.width, shape.channels)
      var x: [Double] = []
      for c in 0..<C { for h in 0..<H { for w in 0..<W { x.append(Double(nhwc[b * shape.size + (h * W + w) * C + c])) } } }
      var (ch, hh, ww) = (C, H, W)
      func linear(_ name: String, _ v: [Double], relu: Bool) -> [Double] {
        let w = t["\(name).weight"]!, bias = t["\(name).bias"]!.floats, wf = w.floats
        let (o, n) = (w.shape[0], w.shape[1])
        return (0..<o).map { r in
          let s = (0..<n).reduce(Double(bias[r])) { $0 + Double(wf[r * n + $1]) * v[$1] }
          return relu ? max(0, s) : s
        }
      }
      func conv(_ name: String, _ v: [Double]) -> [Double] {
        let w = t["\(name).weight"]!, wf = w.floats, bias = t["\(name).bias"]!.floats
        let (o, oh, ow) = (w.shape[0], hh - 2, ww - 2)
        var out = [Double](repeating: 0, count: o * oh * ow)
        for oc in 0..<o {
          for i in 0..<oh {
            for j in 0..<ow {
              var s = Double(bias[oc])
              for c in 0..<ch {
                for ki in 0..<3 {
                  for kj in 0..<3 {
                    s += Double(wf[((oc * ch + c) * 3 + ki) * 3 + kj]) * v[(c * hh + i + ki) * ww + j + kj]
                  }
                }
              }
              out[(oc * oh + i) * ow + j] = max(0, s)
            }
          }
        }
        (ch, hh, ww) = (o, oh, ow)
        return out
      }
      func pool(_ v: [Double]) -> [Double] {
        let (oh, ow) = (hh / 2, ww / 2)
        var out: [Double] = []
        for c in 0..<ch {
          for i in 0..<oh {
            for j in 0..<ow {
              out.append([(0, 0), (0, 1), (1, 0), (1, 1)].map { v[(c * hh + 2 * i + $0.0) * ww + 2 * j + $0.1] }.max()!)
            }
          }
        }
        (hh, ww) = (oh, ow)
        return out
      }
      let logits: [Double]
      if spec.kind == .cnn {
        logits = linear("fc2", linear("fc1", pool(conv("conv2", pool(conv("conv1", x)))), relu: true), relu: false)
      } else {
        logits = linear("fc2", linear("fc1", x, relu: true), relu: false)
      }
      for k in 0..<10 {
        #expect(abs(logits[k] - Double(ours[b * 10 + k])) < 1e-3 * max(1, abs(logits[k])), "\(spec) image \(b) class \(k)")
      }
    }
  }
}
