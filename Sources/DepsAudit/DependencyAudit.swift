import Foundation
import Plugins
import TOML

/// `byzsim audit-deps`: what in a project's dependency files opens the door to a compromised
/// dependency — versions not pinned, requirements without hashes, names one slip away from a
/// popular package (typosquatting) or made of lookalike characters (homoglyphs), extra package
/// indexes (dependency confusion), Swift packages pinned to a branch.
///
/// Reads Package.resolved (v1–v3), requirements*.txt, pyproject.toml (PEP 621 and Poetry),
/// poetry.lock and pylock*.toml (PEP 751). Names are compared after PEP 503 normalisation
/// against `PopularPackages` with the optimal-string-alignment Damerau–Levenshtein distance
/// (transpositions count 1): distance 1 for names of up to 6 characters, up to 2 beyond.
public struct DependencyFinding: Codable, Sendable, Equatable {
  public enum Severity: String, Codable, Sendable, Comparable, CaseIterable {
    case low, medium, high
    public static func < (a: Severity, b: Severity) -> Bool { allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)! }
  }
  public var file: String
  public var line: Int
  public var package: String?
  public var rule: String
  public var severity: Severity
  public var message: String
}

public enum DependencyAudit {
  /// The files under `path` (a file, or a directory searched to depth 3, skipping hidden and
  /// build directories) that the audit reads.
  public static func files(under path: String) throws -> [String] {
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
      throw DependencyAuditError("\(path): no such file or directory")
    }
    guard isDir.boolValue else { return [path] }
    var found: [String] = []
    func walk(_ dir: String, depth: Int) throws {
      let names: [String]
      do { names = try FileManager.default.contentsOfDirectory(atPath: dir).sorted() } catch {
        throw DependencyAuditError("\(dir): cannot list (\(error.localizedDescription))")
      }
      for name in names where !name.hasPrefix(".") && !["node_modules", "runs"].contains(name) {
        let full = (dir as NSString).appendingPathComponent(name)
        var sub: ObjCBool = false
        // A name that no longer resolves (a dangling symlink, removed meanwhile) is no manifest.
        guard FileManager.default.fileExists(atPath: full, isDirectory: &sub) else { continue }
        if sub.boolValue {
          if depth < 3 { try walk(full, depth: depth + 1) }
        } else if kind(of: name) != nil {
          found.append(full)
        }
      }
    }
    try walk(path, depth: 0)
    return found
  }

  enum Kind { case swiftResolved, requirements, pyproject, poetryLock, pylock }

  static func kind(of name: String) -> Kind? {
    if name == "Package.resolved" { return .swiftResolved }
    if name == "pyproject.toml" { return .pyproject }
    if name == "poetry.lock" { return .poetryLock }
    if name.hasPrefix("pylock") && name.hasSuffix(".toml") { return .pylock }
    if name.hasPrefix("requirements") && name.hasSuffix(".txt") { return .requirements }
    return nil
  }

  /// Every finding in `file`, by line.
  public static func audit(file: String) throws -> [DependencyFinding] {
    let data: Data
    do { data = try Data(contentsOf: URL(fileURLWithPath: file)) } catch {
      throw DependencyAuditError("\(file): cannot read (\(error.localizedDescription))")
    }
    guard let text = String(data: data, encoding: .utf8) else { throw DependencyAuditError("\(file): not UTF-8 text") }
    let name = (file as NSString).lastPathComponent
    switch kind(of: name) ?? .requirements {
    case .swiftResolved: return try SwiftResolved.audit(text, file: file)
    case .requirements: return Requirements.audit(text, file: file)
    case .pyproject: return try PythonProject.audit(text, file: file)
    case .poetryLock, .pylock: return try PythonLock.audit(text, file: file, pylock: kind(of: name) == .pylock)
    }
  }

  // MARK: Names

  /// PEP 503: lowercase, runs of `-`, `_` and `.` become one `-`.
  public static func normalize(_ name: String) -> String {
    var out = ""
    var dash = false
    for c in name.lowercased() {
      if c == "-" || c == "_" || c == "." {
        dash = true
      } else {
        if dash, !out.isEmpty { out.append("-") }
        dash = false
        out.append(c)
      }
    }
    return out
  }

  /// Optimal-string-alignment distance (insertions, deletions, substitutions and adjacent
  /// transpositions each cost 1): the project's one implementation, `Suggestion.distance`.
  public static func distance(_ a: String, _ b: String) -> Int { Suggestion.distance(a, b) }

  static let popular = Set(PopularPackages.names)
  /// Where the popular-package list comes from, and when.
  public static var popularSource: String { PopularPackages.source }

  /// Lookalikes mapped to what they imitate: ASCII confusables (I/l, 0/o, 1/l, rn/m, vv/w) and
  /// Cyrillic and Greek letters that render like Latin ones.
  static func deconfuse(_ name: String) -> String {
    let letters: [Character: Character] = [
      "I": "l", "0": "o", "1": "l", "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "х": "x", "у": "y", "і": "i", "ѕ": "s",
      "ј": "j", "ԁ": "d", "ո": "n", "α": "a", "ο": "o", "ν": "v", "κ": "k", "ι": "i", "ρ": "p", "τ": "t",
    ]
    let mapped = String(name.map { letters[$0] ?? $0 })
    return mapped.replacingOccurrences(of: "rn", with: "m").replacingOccurrences(of: "vv", with: "w")
  }

  /// Typosquatting and homoglyph findings for one dependency name.
  static func nameFindings(_ raw: String, file: String, line: Int) -> [DependencyFinding] {
    let name = normalize(raw)
    if popular.contains(name) && raw.allSatisfy(\.isASCII) && !raw.contains("I") { return [] }
    var out: [DependencyFinding] = []
    let lookalike = normalize(deconfuse(raw))
    if lookalike != name || !raw.allSatisfy(\.isASCII) {
      if popular.contains(lookalike) {
        out.append(
          .init(
            file: file, line: line, package: raw, rule: "homoglyph", severity: .high,
            message: "\"\(raw)\" imitates \"\(lookalike)\" with lookalike characters"))
        return out
      }
      if !raw.allSatisfy(\.isASCII) {
        out.append(
          .init(
            file: file, line: line, package: raw, rule: "homoglyph", severity: .high,
            message: "\"\(raw)\" has non-ASCII characters, which PyPI names never need"))
      }
    }
    guard !popular.contains(name) else { return out }
    let limit = name.count <= 6 ? 1 : 2
    var best: (name: String, d: Int)?
    for p in PopularPackages.names where abs(p.count - name.count) <= limit {
      let d = distance(name, p)
      if d >= 1, d <= limit, d < (best?.d ?? Int.max) { best = (p, d) }
    }
    if let best {
      out.append(
        .init(
          file: file, line: line, package: raw, rule: "typosquat", severity: .high,
          message:
            "\"\(raw)\" is \(best.d) edit\(best.d == 1 ? "" : "s") from the popular package \"\(best.name)\" and is not itself popular: check it is the package you mean"
        ))
    }
    return out
  }
}

public struct DependencyAuditError: Error, CustomStringConvertible {
  public let description: String
  public init(_ d: String) { description = d }
}
