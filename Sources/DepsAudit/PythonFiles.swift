import Foundation
import TOML

/// A PEP 508 requirement's parts that the audit needs.
struct Requirement {
  var name: String
  /// The version specifier as written (`==1.2`, `>=1,<2`, empty).
  var specifier: String
  /// A direct reference (`name @ URL`).
  var url: String?

  /// Pinned: exactly one version, `==V` without a wildcard, or `===V`.
  var pinned: Bool {
    let s = specifier.replacingOccurrences(of: " ", with: "")
    if s.hasPrefix("===") { return !s.dropFirst(3).isEmpty }
    guard s.hasPrefix("=="), !s.contains(","), !s.contains("*") else { return false }
    return !s.dropFirst(2).isEmpty
  }

  /// Parses `name[extras] specifier ; markers` or `name @ url`; nil when no name starts it.
  init?(_ text: String) {
    let body = text.split(separator: ";", maxSplits: 1).first.map(String.init)?.trimmingCharacters(in: .whitespaces) ?? ""
    var nameEnd = body.startIndex
    while nameEnd < body.endIndex, !"[<>=!~@ (\t".contains(body[nameEnd]) { nameEnd = body.index(after: nameEnd) }
    name = String(body[..<nameEnd])
    guard !name.isEmpty, name.first!.isLetter || name.first!.isNumber else { return nil }
    var rest = body[nameEnd...].trimmingCharacters(in: .whitespaces)
    if rest.hasPrefix("[") {
      guard let close = rest.firstIndex(of: "]") else { return nil }
      rest = rest[rest.index(after: close)...].trimmingCharacters(in: .whitespaces)
    }
    if rest.hasPrefix("@") {
      url = rest.dropFirst().trimmingCharacters(in: .whitespaces)
      specifier = ""
    } else {
      specifier = rest.trimmingCharacters(in: CharacterSet(charactersIn: "() "))
    }
  }
}

/// Findings shared by every Python file: the name checks and the pin.
func requirementFindings(_ r: Requirement, file: String, line: Int, lockedElsewhere: Bool = false) -> [DependencyFinding] {
  var out = DependencyAudit.nameFindings(r.name, file: file, line: line)
  if let url = r.url {
    out.append(
      .init(
        file: file, line: line, package: r.name, rule: "direct-url", severity: .medium,
        message: "\(r.name) comes from \(url), outside any index and its version pin"))
  } else if !r.pinned && !lockedElsewhere {
    out.append(
      .init(
        file: file, line: line, package: r.name, rule: "unpinned", severity: .medium,
        message: r.specifier.isEmpty
          ? "\(r.name) has no version: any release, including a malicious one, is installed"
          : "\(r.name) \(r.specifier) is a range: pin one version (==)"))
  }
  return out
}

/// requirements*.txt (pip's format): one requirement a line, `\` continuations, `#` comments,
/// options (`--hash`, `--extra-index-url`, `-r`, …).
enum Requirements {
  static func audit(_ text: String, file: String) -> [DependencyFinding] {
    var out: [DependencyFinding] = []
    var logical: [(line: Int, text: String)] = []
    var pending: (line: Int, text: String)?
    for (i, raw) in text.components(separatedBy: "\n").enumerated() {
      var l = raw
      if let hash = l.range(of: " #") ?? (l.hasPrefix("#") ? l.range(of: "#") : nil) { l = String(l[..<hash.lowerBound]) }
      let continued = l.hasSuffix("\\")
      if continued { l.removeLast() }
      if var p = pending {
        p.text += " " + l
        pending = p
      } else {
        pending = (i + 1, l)
      }
      if !continued, let p = pending {
        logical.append(p)
        pending = nil
      }
    }
    if let p = pending { logical.append(p) }
    for (line, text) in logical {
      let t = text.trimmingCharacters(in: .whitespaces)
      if t.isEmpty { continue }
      let words = t.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "=" }).map(String.init)
      if t.hasPrefix("-") {
        if let k = words.firstIndex(where: { $0 == "--extra-index-url" }) {
          let url = k + 1 < words.count ? words[k + 1] : "(none)"
          out.append(
            .init(
              file: file, line: line, package: nil, rule: "extra-index", severity: .high,
              message:
                "--extra-index-url \(url): pip takes the highest version from any index, so a public package with a private one's name wins (dependency confusion); use one index that mirrors both"
            ))
        } else if words.first == "-i" || words.first == "--index-url", words.count > 1, !words[1].contains("pypi.org") {
          out.append(
            .init(
              file: file, line: line, package: nil, rule: "index", severity: .low,
              message: "packages come from \(words[1]) instead of PyPI: make sure it serves every name you use"))
        } else if words.first == "--trusted-host" {
          out.append(
            .init(
              file: file, line: line, package: nil, rule: "trusted-host", severity: .medium,
              message: "--trusted-host turns off TLS verification for \(words.count > 1 ? words[1] : "a host")"))
        }
        continue
      }
      let spec = t.components(separatedBy: " --").first ?? t
      guard let r = Requirement(spec) else { continue }
      out += requirementFindings(r, file: file, line: line)
      if !t.contains("--hash") {
        out.append(
          .init(
            file: file, line: line, package: r.name, rule: "no-hash", severity: .low,
            message: "\(r.name) has no --hash: a changed file on the index would install unchecked (pip --require-hashes)"))
      }
    }
    return out
  }
}

/// pyproject.toml: PEP 621 `[project]` dependencies and optional dependencies, Poetry's
/// `[tool.poetry.dependencies]` and its package sources.
enum PythonProject {
  static func audit(_ text: String, file: String) throws -> [DependencyFinding] {
    let top: TOMLTable
    do { top = try TOML.parse(text) } catch { throw DependencyAuditError("\(file): \(error)") }
    var out: [DependencyFinding] = []
    if case .table(let project)? = top["project"]?.value {
      var arrays: [TOMLNode] = []
      if let d = project["dependencies"] { arrays.append(d) }
      if case .table(let optional)? = project["optional-dependencies"]?.value { arrays += optional.keys.compactMap { optional[$0] } }
      for node in arrays {
        guard case .array(let items) = node.value else { continue }
        for item in items {
          guard case .string(let s) = item.value, let r = Requirement(s) else { continue }
          out += requirementFindings(r, file: file, line: item.line)
        }
      }
    }
    guard case .table(let tool)? = top["tool"]?.value, case .table(let poetry)? = tool["poetry"]?.value else { return out }
    for key in ["dependencies", "dev-dependencies"] {
      guard case .table(let deps)? = poetry[key]?.value else { continue }
      for name in deps.keys where name.lowercased() != "python" {
        let node = deps[name]!
        var version = ""
        switch node.value {
        case .string(let v): version = v
        case .table(let t): if case .string(let v)? = t["version"]?.value { version = v }
        default: break
        }
        // Poetry: a bare version is exact; ^, ~, *, >, < are ranges.
        let exact = !version.isEmpty && !version.contains(where: { "^~*><,|".contains($0) })
        let r = Requirement(name + (exact ? "==" + version.trimmingCharacters(in: CharacterSet(charactersIn: "= ")) : " " + version))!
        out += requirementFindings(r, file: file, line: node.line)
      }
    }
    if case .array(let sources)? = poetry["source"]?.value {
      for s in sources {
        guard case .table(let t) = s.value else { continue }
        var url = "", priority = ""
        if case .string(let u)? = t["url"]?.value { url = u }
        if case .string(let p)? = t["priority"]?.value { priority = p }
        if ["supplemental", "secondary"].contains(priority) || (priority.isEmpty && !url.contains("pypi.org")) {
          out.append(
            .init(
              file: file, line: s.line, package: nil, rule: "extra-index", severity: .high,
              message:
                "package source \(url) is searched beside PyPI (priority \(priority.isEmpty ? "default" : priority)): a public package with a private name wins (dependency confusion); use priority = \"explicit\" and name the packages it serves"
            ))
        }
      }
    }
    return out
  }
}

/// poetry.lock (`[[package]]` with `files` hashes) and PEP 751's pylock.toml (`[[packages]]`
/// with `wheels`/`sdist` hashes): locked versions, so only names, hashes and indexes are checked.
enum PythonLock {
  static func audit(_ text: String, file: String, pylock: Bool) throws -> [DependencyFinding] {
    let top: TOMLTable
    do { top = try TOML.parse(text) } catch { throw DependencyAuditError("\(file): \(error)") }
    var out: [DependencyFinding] = []
    guard case .array(let packages)? = top[pylock ? "packages" : "package"]?.value else { return out }
    for p in packages {
      guard case .table(let t) = p.value, case .string(let name)? = t["name"]?.value else { continue }
      out += DependencyAudit.nameFindings(name, file: file, line: p.line)
      let hashed: Bool
      if pylock {
        hashed = ["wheels", "sdist", "archive"].contains { key in
          if case .array(let items)? = t[key]?.value { return !items.isEmpty }
          if case .table(let s)? = t[key]?.value { return s["hashes"] != nil }
          return false
        }
        if case .string(let index)? = t["index"]?.value, !index.contains("pypi.org") {
          out.append(
            .init(
              file: file, line: p.line, package: name, rule: "index", severity: .low,
              message: "\(name) comes from \(index), not PyPI"))
        }
      } else if case .array(let files)? = t["files"]?.value {
        hashed = !files.isEmpty
      } else {
        hashed = false
      }
      if !hashed {
        out.append(
          .init(
            file: file, line: p.line, package: name, rule: "no-hash", severity: .low,
            message: "\(name) is locked without file hashes"))
      }
    }
    return out
  }
}
