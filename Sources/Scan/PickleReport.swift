/// What a pickle would import and call, found without running it.

/// A `module.name` a pickle asks the unpickler to import.
public struct GlobalName: Hashable, Sendable, Codable, CustomStringConvertible {
  public let module: String
  public let name: String
  public init(_ module: String, _ name: String) {
    self.module = module
    self.name = name
  }
  public var description: String { "\(module).\(name)" }
}

/// How bad one finding is; a pickle's verdict is its worst finding's.
public enum Severity: Int, Comparable, Sendable, Encodable, CustomStringConvertible {
  case safe = 0, suspicious = 1, malicious = 2
  public static func < (a: Severity, b: Severity) -> Bool { a.rawValue < b.rawValue }
  public var description: String {
    switch self {
    case .safe: "safe"
    case .suspicious: "suspicious"
    case .malicious: "malicious"
    }
  }
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.singleValueContainer()
    try c.encode(description)
  }
}

/// One import (GLOBAL, STACK_GLOBAL, INST) or call (REDUCE, OBJ, NEWOBJ, NEWOBJ_EX, INST, BUILD)
/// with where it is in the stream.
public struct PickleEvent: Sendable, Equatable, Codable {
  public enum Kind: String, Sendable, Codable { case imports, calls }
  public let kind: Kind
  /// The global imported or called; nil when the callee was computed at load time.
  public let global: GlobalName?
  public let opcode: String
  /// Offset of the opcode in the pickle stream (not the container).
  public let offset: Int
  /// The first string argument of a call, when there is one (shortened): `echo pwned`.
  public let argument: String?
}

/// A reason for a verdict: the evidence a user checks.
public struct Finding: Sendable, Equatable, Encodable, CustomStringConvertible {
  public let severity: Severity
  public let global: String?
  public let opcode: String
  public let offset: Int
  public let reason: String
  public var description: String {
    let what = global.map { "\($0) " } ?? ""
    return "\(severity): \(what)(\(opcode) at offset \(offset)): \(reason)"
  }
}

/// The analysis of one pickle stream.
public struct PickleReport: Sendable, Encodable {
  /// Where the pickle lives: the file, or the archive member (`archive/data.pkl`), with `#N` for
  /// the N-th pickle when a file holds several.
  public var name: String
  /// Offset of the stream in the file or member it was read from.
  public var start: Int
  public var protocolVersion: Int
  public var length: Int
  public var events: [PickleEvent]
  public var findings: [Finding]
  /// Set when the stream could not be read to its STOP (truncated, malformed, over a limit).
  /// Findings made before the error stand: an unpickler runs each opcode as it reads it.
  public var error: String?
  public var verdict: Severity { findings.map(\.severity).max() ?? .safe }
  /// The distinct globals the stream imports, in order of first appearance.
  public var globals: [GlobalName] {
    var seen = Set<GlobalName>()
    return events.compactMap { $0.kind == .imports ? $0.global : nil }.filter { seen.insert($0).inserted }
  }

  enum CodingKeys: String, CodingKey {
    case name, start, protocolVersion = "protocol", length, verdict, globals, findings, events, error
  }
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(name, forKey: .name)
    try c.encode(start, forKey: .start)
    try c.encode(protocolVersion, forKey: .protocolVersion)
    try c.encode(length, forKey: .length)
    try c.encode(verdict, forKey: .verdict)
    try c.encode(globals.map(\.description), forKey: .globals)
    try c.encode(findings, forKey: .findings)
    try c.encode(events, forKey: .events)
    try c.encode(error, forKey: .error)
  }
  init(name: String, start: Int) {
    self.name = name
    self.start = start
    protocolVersion = 0
    length = 0
    events = []
    findings = []
  }
}
