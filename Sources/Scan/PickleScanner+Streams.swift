import Data
import Foundation

extension PickleScanner {
  /// PyTorch's legacy magic number, 0x1950a86a20f9469cfc6c, as the LONG1 bytes of its first pickle.
  static let legacyMagic: [UInt8] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]

  var machine: PickleMachine { PickleMachine(policy: policy, limits: .init(), depth: 0) }

  /// Every pickle in `bytes`, one after another: a bare pickle file, several pickles written to
  /// one file, PyTorch's legacy format (five pickles, then raw storage data), joblib (arrays
  /// between the opcodes). Bytes after the last STOP that are not a pickle are noted.
  func scanStreams(_ bytes: UnsafeRawBufferPointer, name: String, into report: inout FileReport, base: Int = 0) throws -> FileFormat {
    var pos = 0
    var index = 0
    var format = FileFormat.pickle
    while pos < bytes.count {
      let label = index == 0 ? name : "\(name)#\(index + 1)"
      let (reports, end, result) = machine.run(bytes, from: pos, name: label)
      if index > 0, reports[0].error != nil, reports.allSatisfy({ $0.verdict < .malicious }) {
        // Not a second pickle after all: bytes pickle.load never reads.
        report.notes.append("\(name): \(bytes.count - pos) bytes after the pickle's STOP are not a pickle (pickle.load does not read them)")
        break
      }
      report.pickles += reports.map { shifted($0, by: base) }
      if reports.contains(where: { $0.error != nil }) { break }
      if reports.contains(where: { $0.events.contains { $0.global == GlobalName("joblib.numpy_pickle", "NumpyArrayWrapper") } }) {
        format = .joblib
      }
      pos = end
      index += 1
      if index == 1, case .long(let magic)? = result, magic == Self.legacyMagic {
        // torch.save before 1.6: magic, protocol version, sys_info, the object, storage keys.
        for k in 2...5 {
          let (more, next, _) = machine.run(bytes, from: pos, name: "\(name)#\(k)")
          report.pickles += more.map { shifted($0, by: base) }
          if more.contains(where: { $0.error != nil }) { return .pytorchLegacy }
          pos = next
        }
        if pos < bytes.count {
          report.notes.append("\(name): \(bytes.count - pos) bytes of raw tensor storage after the five pickles: not pickle, not scanned")
        }
        return .pytorchLegacy
      }
    }
    return format
  }

  /// Legacy tar members `storages` and `tensors`: a pickled count, then per record a pickled
  /// tuple and raw bytes (torch/serialization.py, `legacy_load`): storages carry an 8-byte element
  /// count and the elements; tensors an ndim, sizes, strides and offset.
  func scanLegacyRecords(_ bytes: UnsafeRawBufferPointer, name: String, into report: inout FileReport) throws {
    let (first, afterCount, count) = machine.run(bytes, from: 0, name: name)
    report.pickles += first
    guard first.allSatisfy({ $0.error == nil }) else { return }
    guard case .int(let n)? = count, n >= 0, n <= 10_000_000 else { throw ScanError.container("\(name): the record count is not a number") }
    var pos = afterCount
    let reader = ZipArchive.Reader(bytes: bytes)
    for k in 0..<n {
      let (reports, end, args) = machine.run(bytes, from: pos, name: "\(name)#\(k + 2)")
      report.pickles += reports
      guard reports.allSatisfy({ $0.error == nil }) else { return }
      pos = end
      if name == "storages" {
        guard case .tuple(let items)? = args, items.count == 3, case .global(let type) = items[2], let size = Self.elementSize(type) else {
          throw ScanError.container("\(name): record \(k + 1) does not name a storage type")
        }
        let numel = try reader.int64(at: pos)
        let (bytesNeeded, overflow) = numel.multipliedReportingOverflow(by: size)
        guard !overflow else { throw ScanError.container("\(name): record \(k + 1) has an impossible size") }
        _ = try reader.slice(pos + 8, bytesNeeded)
        pos += 8 + bytesNeeded
      } else {
        let ndim = Int(try reader.u32(at: pos))
        guard ndim <= 64 else { throw ScanError.container("\(name): record \(k + 1) has \(ndim) dimensions") }
        pos += 8 + 16 * ndim + 8
        _ = try reader.slice(pos, 0)
      }
    }
    if pos < bytes.count { report.notes.append("\(name): \(bytes.count - pos) bytes after the last record") }

  }

  static func elementSize(_ type: GlobalName) -> Int? {
    guard type.module == "torch" else { return nil }
    let sizes: [String: Int] = [
      "FloatStorage": 4, "DoubleStorage": 8, "HalfStorage": 2, "BFloat16Storage": 2, "LongStorage": 8, "IntStorage": 4,
      "ShortStorage": 2, "CharStorage": 1, "ByteStorage": 1, "BoolStorage": 1, "ComplexFloatStorage": 8, "ComplexDoubleStorage": 16,
    ]
    return sizes[type.name]
  }

  func shifted(_ report: PickleReport, by base: Int) -> PickleReport {
    var r = report
    r.start += base
    return r
  }

  // MARK: recognising bytes

  static func looksLikePickle(_ bytes: UnsafeRawBufferPointer) -> Bool {
    guard let first = bytes.first else { return false }
    if first == 0x80 { return bytes.count >= 2 && bytes[1] <= 5 }
    // Protocols 0 and 1 start with an opcode that pushes or marks.
    return "(cNIJKLMFGSTUVX]})".utf8.contains(first)
  }

  static func isSafeTensors(_ bytes: UnsafeRawBufferPointer) -> Bool {
    guard bytes.count >= 10 else { return false }
    var n: UInt64 = 0
    for i in stride(from: 7, through: 0, by: -1) { n = n << 8 | UInt64(bytes[i]) }
    return n >= 2 && n <= UInt64(bytes.count - 8) && bytes[8] == UInt8(ascii: "{")
  }

  /// Compression formats joblib writes (joblib/compressor.py): zlib and gzip are inflated here.
  static func compression(_ bytes: UnsafeRawBufferPointer) -> (name: String, wrapper: Gzip.Wrapper?)? {
    func starts(_ prefix: [UInt8]) -> Bool { bytes.count >= prefix.count && zip(bytes, prefix).allSatisfy { $0 == $1 } }
    if starts([0x1f, 0x8b]) { return ("gzip", .gzip) }
    if bytes.count >= 2, bytes[0] == 0x78, (Int(bytes[0]) * 256 + Int(bytes[1])) % 31 == 0 { return ("zlib", .zlib) }
    if starts(Array("BZh".utf8)) { return ("bz2", nil) }
    if starts([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]) { return ("xz", nil) }
    if starts([0x5d, 0x00, 0x00]) { return ("lzma", nil) }
    if starts([0x04, 0x22, 0x4d, 0x18]) { return ("lz4", nil) }
    return nil
  }
}
