import Artifacts
import Data
import Foundation

/// Static analysis of pickle-based model files: finds the pickles in a file (bare, in PyTorch zip
/// or legacy archives, in NumPy object arrays, in joblib files) and runs each through
/// `PickleMachine` under a `GlobalPolicy`. Reads, never loads.
public struct PickleScanner: Sendable {
  public var policy: GlobalPolicy
  /// The most bytes inflated from one file's compressed members or streams (a zip bomb stops here).
  public var inflateLimit: Int
  /// How deep archives may nest in archives.
  public var maxNesting = 2

  public init(policy: GlobalPolicy = GlobalPolicy(), inflateLimit: Int = 1 << 30) {
    self.policy = policy
    self.inflateLimit = inflateLimit
  }

  /// Scans the file at `path`. Never throws: a file that cannot be read is `unreadable`.
  public func scan(path: String) -> FileReport {
    let data: Foundation.Data
    do {
      data = try Foundation.Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
    } catch {
      var report = FileReport(path: path, format: .unknown, size: 0)
      report.error = "cannot read: \((error as NSError).localizedDescription)"
      return report
    }
    return data.withUnsafeBytes { scan(bytes: $0, path: path) }
  }

  public func scan(bytes: UnsafeRawBufferPointer, path: String) -> FileReport {
    var report = FileReport(path: path, format: .unknown, size: bytes.count)
    var budget = inflateLimit
    report.format = Self.format(of: bytes)
    do {
      report.format = try scanContainer(bytes, name: (path as NSString).lastPathComponent, into: &report, budget: &budget, nesting: 0)
    } catch {
      report.error = "\(error)"
    }
    return report
  }

  /// Only identifies the format (for loaders that refuse pickles).
  public static func format(of bytes: UnsafeRawBufferPointer) -> FileFormat {
    if ZipArchive.isZip(bytes) {
      guard let zip = try? ZipArchive(bytes) else { return .zip }  // unreadable: still a zip, still refused
      if zip.entries.contains(where: { $0.name == "data.pkl" || $0.name.hasSuffix("/data.pkl") }) { return .pytorchZip }
      return !zip.entries.isEmpty && zip.entries.allSatisfy { $0.name.hasSuffix(".npy") } ? .npz : .zip
    }
    if Npy.isNpy(bytes) { return .npy }
    if Tar.isTar(bytes) { return .pytorchTar }
    if isSafeTensors(bytes) { return .safetensors }
    if bytes.count >= 4, ["BZCK", "BZMD"].contains(String(decoding: bytes[0..<4], as: UTF8.self)) { return .byzsim }
    if looksLikePickle(bytes) { return .pickle }
    return .unknown
  }

  // MARK: containers

  func scanContainer(
    _ bytes: UnsafeRawBufferPointer, name: String, into report: inout FileReport, budget: inout Int, nesting: Int
  ) throws -> FileFormat {
    if ZipArchive.isZip(bytes) {
      return try scanZip(bytes, name: name, into: &report, budget: &budget, nesting: nesting)
    }
    if Npy.isNpy(bytes) {
      try scanNpy(bytes, name: name, into: &report)
      return .npy
    }
    if Tar.isTar(bytes) {
      try scanLegacyTar(bytes, into: &report)
      return .pytorchTar
    }
    if Self.isSafeTensors(bytes) {
      do {
        _ = try SafeTensorsFile.decode(Array(bytes), path: name)
      } catch {
        throw ScanError.container("\(error)")
      }
      report.notes.append("safetensors: a JSON header and raw tensor data, no code")
      return .safetensors
    }
    if bytes.count >= 4, ["BZCK", "BZMD"].contains(String(decoding: bytes[0..<4], as: UTF8.self)) {
      report.notes.append("a ByzSim checkpoint or model file: raw numbers, no code (verify its signature with byzsim verify)")
      return .byzsim
    }
    if let compressed = Self.compression(bytes) {
      guard let wrapper = compressed.wrapper else {
        throw ScanError.container(
          "compressed with \(compressed.name), which byzsim scan does not inflate: decompress it and scan the result")
      }
      let inflated: [UInt8]
      do {
        inflated = try Gzip.inflate(Array(bytes), path: name, wrapper: wrapper, limit: budget)
      } catch {
        throw ScanError.container("\(error)")
      }
      budget -= inflated.count
      report.notes.append("inflated from \(compressed.name): \(inflated.count) bytes")
      return try inflated.withUnsafeBytes { try scanStreams($0, name: name, into: &report) }
    }
    if Self.looksLikePickle(bytes) {
      return try scanStreams(bytes, name: name, into: &report)
    }
    throw ScanError.container("not a pickle, nor a container of pickles or tensors that byzsim scan knows")
  }

  func scanZip(
    _ bytes: UnsafeRawBufferPointer, name: String, into report: inout FileReport, budget: inout Int, nesting: Int
  ) throws -> FileFormat {
    let zip = try ZipArchive(bytes)
    let isTorch = zip.entries.contains { $0.name == "data.pkl" || $0.name.hasSuffix("/data.pkl") }
    let isNpz = !zip.entries.isEmpty && zip.entries.allSatisfy { $0.name.hasSuffix(".npy") }
    var skipped = 0
    for entry in zip.entries {
      let lower = entry.name.lowercased()
      let kind: FileFormat? =
        [".pkl", ".pickle", ".joblib"].contains { lower.hasSuffix($0) }
        ? .pickle
        : lower.hasSuffix(".npy") ? .npy : [".pt", ".pth", ".zip"].contains { lower.hasSuffix($0) } ? .zip : nil
      guard let kind else {
        skipped += 1
        continue
      }
      let member = "\(name):\(entry.name)"
      guard entry.size <= budget else {
        throw ScanError.container("member \(entry.name) would inflate past the \(inflateLimit)-byte limit for one file (a zip bomb?)")
      }
      let contents = try zip.contents(entry, limit: budget)
      budget -= contents.count
      try contents.withUnsafeBytes { raw in
        switch kind {
        case .npy: try scanNpy(raw, name: member, into: &report)
        case .zip:
          guard nesting < maxNesting else { throw ScanError.container("archives nested over \(maxNesting) deep (\(member))") }
          _ = try scanContainer(raw, name: member, into: &report, budget: &budget, nesting: nesting + 1)
        default: _ = try scanStreams(raw, name: member, into: &report)
        }
      }
    }
    if skipped > 0 { report.notes.append("\(skipped) archive members are not pickles (tensor storage, version records): not scanned") }
    return isTorch ? .pytorchZip : isNpz ? .npz : .zip
  }

  func scanNpy(_ bytes: UnsafeRawBufferPointer, name: String, into report: inout FileReport) throws {
    let header = try Npy.header(bytes, name: name)
    guard header.objectArray else {
      report.notes.append("\(name): a NumPy array of dtype \(header.descr): raw numbers, no pickle")
      return
    }
    let sub = UnsafeRawBufferPointer(rebasing: bytes[header.dataOffset...])
    _ = try scanStreams(sub, name: name, into: &report, base: header.dataOffset)
  }

  func scanLegacyTar(_ bytes: UnsafeRawBufferPointer, into report: inout FileReport) throws {
    for member in try Tar.members(bytes) {
      let raw = UnsafeRawBufferPointer(rebasing: bytes[member.range])
      switch member.name {
      case "pickle", "sys_info":
        _ = try scanStreams(raw, name: member.name, into: &report, base: member.range.lowerBound)
      case "storages", "tensors":
        try scanLegacyRecords(raw, name: member.name, into: &report)
      default:
        report.notes.append("tar member \(member.name): not a member PyTorch unpickles, not scanned")
      }
    }
  }
}
