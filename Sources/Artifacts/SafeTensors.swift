import Foundation

/// The safetensors format (Hugging Face): an 8-byte little-endian header length N, N bytes of
/// UTF-8 JSON (an object: tensor name → {"dtype", "shape", "data_offsets": [begin, end]}, and an
/// optional "__metadata__" object of string → string), padded with spaces, then the tensors'
/// bytes, little-endian, back to back. Nothing in it can execute: it is data and a table.
///
/// Writing puts `__metadata__` first, then the tensors in the given order with consecutive
/// offsets, and pads the header with spaces to a multiple of 8 bytes (as the reference
/// implementation does), so `{"a": F32 [1, 2]}` is the 72 bytes
/// `3800000000000000` + `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}` + two spaces
/// + `0000803f00000040`.
///
/// Reading follows the format's rules and refuses everything else, naming the file and the rule
/// (`SafeTensorsError`): the header length must fit the file and 100,000,000 bytes, the header
/// must be valid UTF-8 JSON and an object, every dtype known, every shape a list of
/// non-negative integers whose product times the dtype's size is the tensor's span, the spans
/// must tile the data exactly (no gap, no overlap, reaching its end, nothing after it), and the
/// metadata must map strings to strings.
public struct SafeTensorsFile: Equatable, Sendable {
  public struct Tensor: Equatable, Sendable {
    public var name: String
    public var dtype: DType
    public var shape: [Int]
    /// Little-endian element bytes, shape.product × dtype.size of them.
    public var data: [UInt8]

    public init(name: String, dtype: DType, shape: [Int], data: [UInt8]) {
      self.name = name; self.dtype = dtype; self.shape = shape; self.data = data
    }

    /// A Float32 tensor.
    public init(name: String, shape: [Int], floats: [Float]) {
      precondition(shape.reduce(1, *) == floats.count, "\(name): shape \(shape) does not hold \(floats.count) values")
      self.init(name: name, dtype: .f32, shape: shape, data: floats.withUnsafeBytes { Array($0) })
    }

    /// The values of a Float32 tensor.
    public var floats: [Float] {
      precondition(dtype == .f32, "\(name) is \(dtype.rawValue), not F32")
      return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }
  }

  public enum DType: String, Sendable, CaseIterable {
    case bool = "BOOL", u8 = "U8", i8 = "I8", f8e5m2 = "F8_E5M2", f8e4m3 = "F8_E4M3"
    case i16 = "I16", u16 = "U16", f16 = "F16", bf16 = "BF16"
    case i32 = "I32", u32 = "U32", f32 = "F32", f64 = "F64", i64 = "I64", u64 = "U64"

    public var size: Int {
      switch self {
      case .bool, .u8, .i8, .f8e5m2, .f8e4m3: 1
      case .i16, .u16, .f16, .bf16: 2
      case .i32, .u32, .f32: 4
      case .f64, .i64, .u64: 8
      }
    }
  }

  public static let maxHeaderBytes = 100_000_000

  public var metadata: [String: String]
  public var tensors: [Tensor]

  public init(metadata: [String: String] = [:], tensors: [Tensor]) {
    self.metadata = metadata; self.tensors = tensors
  }

  public func tensor(_ name: String) -> Tensor? { tensors.first { $0.name == name } }

  // MARK: Writing

  public func encoded() -> [UInt8] {
    var entries: [String] = []
    if !metadata.isEmpty {
      let pairs = metadata.keys.sorted().map { "\(JSONString.quoted($0)):\(JSONString.quoted(metadata[$0]!))" }
      entries.append("\"__metadata__\":{\(pairs.joined(separator: ","))}")
    }
    var offset = 0
    for t in tensors {
      let shape = t.shape.map(String.init).joined(separator: ",")
      entries.append(
        "\(JSONString.quoted(t.name)):{\"dtype\":\"\(t.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + t.data.count)]}"
      )
      offset += t.data.count
    }
    var header = Array("{\(entries.joined(separator: ","))}".utf8)
    header += [UInt8](repeating: 0x20, count: (8 - header.count % 8) % 8)
    var out: [UInt8] = []
    out.reserveCapacity(8 + header.count + offset)
    withUnsafeBytes(of: UInt64(header.count).littleEndian) { out += $0 }
    out += header
    for t in tensors { out += t.data }
    return out
  }

  // MARK: Reading

  public static func decode(_ bytes: [UInt8], path: String) throws -> SafeTensorsFile {
    func fail(_ rule: String) -> SafeTensorsError { SafeTensorsError(path: path, rule: rule) }
    guard bytes.count >= 8 else { throw fail("the file has \(bytes.count) bytes; a safetensors file starts with an 8-byte header length") }
    let n = bytes[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
    guard n <= UInt64(maxHeaderBytes) else { throw fail("the header length \(n) is over the limit of \(maxHeaderBytes) bytes") }
    guard n <= UInt64(bytes.count - 8) else { throw fail("the header length \(n) runs past the end of the file (\(bytes.count) bytes)") }
    let headerBytes = Array(bytes[8..<(8 + Int(n))])
    guard String(validating: headerBytes, as: UTF8.self) != nil else { throw fail("the header is not valid UTF-8") }
    let object: Any
    do { object = try JSONSerialization.jsonObject(with: Data(headerBytes)) } catch {
      throw fail("the header is not valid JSON (\(error.localizedDescription))")
    }
    guard let header = object as? [String: Any] else { throw fail("the header is not a JSON object") }
    var metadata: [String: String] = [:]
    if let m = header["__metadata__"] {
      guard let dict = m as? [String: Any] else { throw fail("__metadata__ is not an object") }
      for (k, v) in dict {
        guard let s = v as? String else { throw fail("__metadata__ value of \"\(k)\" is not a string") }
        metadata[k] = s
      }
    }
    let dataStart = 8 + Int(n), dataSize = bytes.count - dataStart
    var spans: [(name: String, dtype: DType, shape: [Int], begin: Int, end: Int)] = []
    for (name, value) in header where name != "__metadata__" {
      guard let info = value as? [String: Any] else { throw fail("\"\(name)\" is not an object with dtype, shape and data_offsets") }
      let allowed: Set<String> = ["dtype", "shape", "data_offsets"]
      if let extra = info.keys.first(where: { !allowed.contains($0) }) { throw fail("\"\(name)\" has an unknown field \"\(extra)\"") }
      guard let d = info["dtype"] as? String, let dtype = DType(rawValue: d) else {
        throw fail("\"\(name)\" has an unknown dtype \(info["dtype"].map { "\($0)" } ?? "(none)")")
      }
      guard let shape = try integers(info["shape"], fail: { fail("\"\(name)\": shape must be a list of non-negative integers") }) else {
        throw fail("\"\(name)\" has no shape")
      }
      guard let offsets = try integers(info["data_offsets"], fail: { fail("\"\(name)\": data_offsets must be two non-negative integers") }),
        offsets.count == 2, offsets[0] <= offsets[1]
      else { throw fail("\"\(name)\": data_offsets must be [begin, end] with begin <= end") }
      var elements = 1
      for s in shape {
        let (p, o) = elements.multipliedReportingOverflow(by: s)
        guard !o, p <= dataSize else { throw fail("\"\(name)\": shape \(shape) holds more elements than the file") }
        elements = p
      }
      guard elements * dtype.size == offsets[1] - offsets[0] else {
        throw fail(
          "\"\(name)\": shape \(shape) × \(dtype.size) bytes is \(elements * dtype.size) bytes, its data_offsets span \(offsets[1] - offsets[0])"
        )
      }
      spans.append((name, dtype, shape, offsets[0], offsets[1]))
    }
    spans.sort { $0.begin != $1.begin ? $0.begin < $1.begin : $0.end < $1.end }
    var expected = 0
    for s in spans {
      guard s.begin == expected else {
        throw fail(
          s.begin > expected
            ? "a gap before \"\(s.name)\" (bytes \(expected)..<\(s.begin) belong to no tensor)"
            : "\"\(s.name)\" overlaps the tensor before it")
      }
      expected = s.end
    }
    guard expected <= dataSize else { throw fail("the tensors' data_offsets reach byte \(expected), the data has \(dataSize)") }
    guard expected == dataSize else { throw fail("\(dataSize - expected) trailing bytes after the last tensor") }
    let tensors = spans.map { s in
      Tensor(name: s.name, dtype: s.dtype, shape: s.shape, data: Array(bytes[(dataStart + s.begin)..<(dataStart + s.end)]))
    }
    return SafeTensorsFile(metadata: metadata, tensors: tensors)
  }

  /// A JSON list of non-negative integers (nil when absent).
  static func integers(_ value: Any?, fail: () -> SafeTensorsError) throws -> [Int]? {
    guard let value else { return nil }
    guard let list = value as? [Any] else { throw fail() }
    return try list.map { item in
      // Integers only: no float (2.5, and also 2.0 written as a float), no boolean. The JSON
      // reader keeps the kind of number in its Objective-C type code ("d" float, "c" boolean).
      guard let n = item as? NSNumber, !["d", "f", "c", "B"].contains(String(cString: n.objCType)), let v = item as? Int, v >= 0 else {
        throw fail()
      }
      return v
    }
  }

  public static func read(_ path: String) throws -> SafeTensorsFile {
    guard let d = FileManager.default.contents(atPath: path) else { throw SafeTensorsError(path: path, rule: "cannot read the file") }
    return try decode([UInt8](d), path: path)
  }
}

/// A file that is not valid safetensors: the file and the rule it breaks.
public struct SafeTensorsError: Error, Equatable, CustomStringConvertible {
  public let path: String
  public let rule: String
  public var description: String { "\(path): not a valid safetensors file: \(rule)" }
}
