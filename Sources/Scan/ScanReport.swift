/// The result of scanning one file.

/// What a file is.
public enum FileFormat: String, Sendable, Encodable {
  case pickle, joblib, npy, npz, zip, safetensors, byzsim, unknown
  case pytorchZip = "pytorch-zip"
  case pytorchLegacy = "pytorch-legacy"
  case pytorchTar = "pytorch-tar"

  /// Formats that are (or hold) pickles: loading them can run code.
  public var holdsPickles: Bool {
    switch self {
    case .pickle, .joblib, .npz, .zip, .pytorchZip, .pytorchLegacy, .pytorchTar: true
    case .npy, .safetensors, .byzsim, .unknown: false
    }
  }
}

/// A file's verdict, with the exit code a CI job gates on.
public enum FileVerdict: String, Sendable, Encodable, Comparable {
  case safe, suspicious, malicious, unreadable

  public var exitCode: Int32 {
    switch self {
    case .safe: 0
    case .suspicious: 1
    case .malicious: 2
    case .unreadable: 3
    }
  }

  /// Worst first: malicious, then unreadable (nothing could be proved), then suspicious.
  var rank: Int {
    switch self {
    case .safe: 0
    case .suspicious: 1
    case .unreadable: 2
    case .malicious: 3
    }
  }
  public static func < (a: FileVerdict, b: FileVerdict) -> Bool { a.rank < b.rank }
}

public struct FileReport: Sendable, Encodable {
  public var path: String
  public var format: FileFormat
  public var size: Int
  public var pickles: [PickleReport] = []
  /// What was not scanned and why (raw tensor data, members that are not pickles).
  public var notes: [String] = []
  /// Why the file (or a part of it) could not be read.
  public var error: String?

  public init(path: String, format: FileFormat, size: Int) {
    self.path = path
    self.format = format
    self.size = size
  }

  /// Malicious if any pickle is (an unpickler runs opcodes as it reads, so evidence found
  /// before a truncation stands); otherwise unreadable if anything could not be read; otherwise
  /// the worst pickle's verdict.
  public var verdict: FileVerdict {
    let worst = pickles.map(\.verdict).max() ?? .safe
    if worst == .malicious { return .malicious }
    if error != nil || pickles.contains(where: { $0.error != nil }) { return .unreadable }
    return worst == .suspicious ? .suspicious : .safe
  }

  enum CodingKeys: String, CodingKey { case path, format, size, verdict, error, notes, pickles }
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(path, forKey: .path)
    try c.encode(format, forKey: .format)
    try c.encode(size, forKey: .size)
    try c.encode(verdict, forKey: .verdict)
    try c.encode(error, forKey: .error)
    try c.encode(notes, forKey: .notes)
    try c.encode(pickles, forKey: .pickles)
  }
}

public enum ScanError: Error, CustomStringConvertible {
  case container(String)
  public var description: String {
    switch self {
    case .container(let message): message
    }
  }
}
