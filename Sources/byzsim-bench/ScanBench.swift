import ArgumentParser
import Foundation
import Scan

/// `byzsim-bench scan`: `byzsim scan`'s throughput on large benign pickles (aim, issue 14:
/// at least 100 MB/s). Three shapes, each about 100 MB, written here opcode by opcode:
/// - floats: a list of 12 million floats (BINFLOAT, APPENDS every 1,000) — the most opcodes
///   per byte a real file has;
/// - records: a list of (int, float, short string) tuples with memoised strings, as pandas or
///   scikit-learn objects pickle;
/// - tensors: 100 arrays of 1 MB as NumPy pickles them (numpy _reconstruct, BINBYTES).
struct ScanBench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "scan", abstract: "Scan throughput on large benign pickles (aim: at least 100 MB/s).")
  @Option(help: "Megabytes per pickle.")
  var megabytes = 100

  func run() throws {
    let target = megabytes << 20
    var failures: [String] = []
    for (name, bytes) in [("floats", Self.floats(target)), ("records", Self.records(target)), ("tensors", Self.tensors(target))] {
      var best = Double.infinity
      var verdict = FileVerdict.unreadable
      for _ in 0..<3 {
        let start = ContinuousClock.now
        let report = bytes.withUnsafeBytes { PickleScanner().scan(bytes: $0, path: name) }
        let elapsed = (ContinuousClock.now - start).components
        let seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
        best = min(best, seconds)
        verdict = report.verdict
        if let error = report.error ?? report.pickles.compactMap(\.error).first { failures.append("\(name): \(error)") }
      }
      if verdict != .safe { failures.append("\(name): \(verdict)") }
      let rate = Double(bytes.count) / best / 1e6
      let label = name + String(repeating: " ", count: max(0, 10 - name.count))
      print(
        "  \(label) \(bytes.count / 1_000_000) MB  " + String(format: "%8.1f MB/s", rate)
          + "   aim ≥ 100 MB/s: \(rate >= 100 ? "met" : "NOT met")")
    }
    if !failures.isEmpty { throw ValidationError("benign pickles not judged safe: \(failures)") }
  }

  static func short(_ s: String) -> [UInt8] { [0x8c, UInt8(s.utf8.count)] + Array(s.utf8) }

  static func floats(_ target: Int) -> [UInt8] {
    var b: [UInt8] = [0x80, 4, 0x5d, 0x94]  // PROTO 4, EMPTY_LIST, MEMOIZE
    b.reserveCapacity(target + 10_000)
    var x = 0.5
    while b.count < target {
      b.append(0x28)  // MARK
      for _ in 0..<1000 {
        b.append(0x47)  // BINFLOAT, big-endian
        withUnsafeBytes(of: x.bitPattern.bigEndian) { b += $0 }
        x += 0.25
      }
      b.append(0x65)  // APPENDS
    }
    return b + [0x2e]
  }

  static func records(_ target: Int) -> [UInt8] {
    var b: [UInt8] = [0x80, 4, 0x5d, 0x94]
    b.reserveCapacity(target + 10_000)
    let names = ["alpha", "beta", "gamma", "delta"].map(short)
    var i = 0
    while b.count < target {
      b.append(0x28)
      for _ in 0..<1000 {
        b += [0x4a] + withUnsafeBytes(of: Int32(truncatingIfNeeded: i).littleEndian, Array.init)  // BININT
        b.append(0x47)
        withUnsafeBytes(of: Double(i).bitPattern.bigEndian) { b += $0 }
        if i < 4 { b += names[i] + [0x94] } else { b += [0x68, UInt8(1 + i % 4)] }  // memoised strings: BINGET
        b += [0x87]  // TUPLE3
        i += 1
      }
      b.append(0x65)
    }
    return b + [0x2e]
  }

  static func tensors(_ target: Int) -> [UInt8] {
    var b: [UInt8] = [0x80, 4, 0x7d, 0x94, 0x28]  // EMPTY_DICT, MEMOIZE, MARK
    let chunk = 1 << 20
    var k = 0
    while b.count < target {
      b += short("w\(k)")
      b += short("numpy.core.multiarray") + short("_reconstruct") + [0x93]
      b += short("numpy") + short("ndarray") + [0x93] + [0x4b, 0, 0x43, 1, 0x62, 0x87, 0x52]  // (ndarray, 0, b'b') REDUCE
      b += [0x28, 0x4b, 1, 0x4a] + withUnsafeBytes(of: Int32(chunk / 4).littleEndian, Array.init) + [0x85]
      b += short("numpy") + short("dtype") + [0x93] + short("f4") + [0x89, 0x88, 0x87, 0x52]
      b += [0x89, 0x42] + withUnsafeBytes(of: UInt32(chunk).littleEndian, Array.init) + [UInt8](repeating: 7, count: chunk)
      b += [0x74, 0x62]  // TUPLE (state), BUILD
      k += 1
    }
    return b + [0x75, 0x2e]  // SETITEMS, STOP
  }
}
