import Foundation

/// Package.resolved (format versions 1 to 3): every pin's name (typosquatting is a PyPI check,
/// so Swift names are only read) and state — a branch is a moving target.
enum SwiftResolved {
  static func audit(_ text: String, file: String) throws -> [DependencyFinding] {
    guard let json = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
      throw DependencyAuditError("\(file): not a Package.resolved (JSON object expected)")
    }
    let pins = (json["pins"] as? [[String: Any]]) ?? ((json["object"] as? [String: Any])?["pins"] as? [[String: Any]])
    guard let pins else { throw DependencyAuditError("\(file): no pins (format version \(json["version"] ?? "?"))") }
    let lines = text.components(separatedBy: "\n")
    var out: [DependencyFinding] = []
    for pin in pins {
      let name = (pin["identity"] as? String) ?? (pin["package"] as? String) ?? "?"
      let location = (pin["location"] as? String) ?? (pin["repositoryURL"] as? String) ?? "?"
      let line = (lines.firstIndex { $0.contains("\"\(name)\"") } ?? 0) + 1
      let state = pin["state"] as? [String: Any] ?? [:]
      if let branch = state["branch"] as? String {
        out.append(
          .init(
            file: file, line: line, package: name, rule: "branch-pin", severity: .medium,
            message:
              "\(name) (\(location)) follows branch \(branch): whatever is pushed there next is built; pin a version (from:) or a revision")
        )
      } else if state["version"] == nil || state["version"] is NSNull, state["revision"] == nil {
        out.append(
          .init(
            file: file, line: line, package: name, rule: "unpinned", severity: .medium,
            message: "\(name) (\(location)) has neither a version nor a revision"))
      }
    }
    return out
  }
}
