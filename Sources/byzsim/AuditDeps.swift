import ArgumentParser
import DepsAudit
import Foundation

/// `byzsim audit-deps [PATH]`: the dependency files' supply-chain findings (see `DependencyAudit`).
struct AuditDeps: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "audit-deps",
    abstract: "Audit dependency files: pins, hashes, typosquats, homoglyphs, extra indexes, branch pins (exit 1 at --fail-on).",
    discussion: """
      Reads Package.resolved, requirements*.txt, pyproject.toml, poetry.lock and pylock*.toml under
      PATH (a file, or a directory searched three levels deep; default: the current directory).
      Exit status: 0 when no finding reaches --fail-on (default medium), 1 when one does, 2 when a
      file cannot be read or parsed. --json keys: files, findings[{file, line, package, rule,
      severity, message}], popular_packages (the list's source).

      Examples:
        byzsim audit-deps
        byzsim audit-deps requirements.txt --fail-on high --json
      """)

  @Argument(help: "A dependency file or a directory.", completion: .file())
  var path = "."
  @Option(help: "The lowest severity that fails the audit: low, medium, high or never.")
  var failOn = "medium"
  @Flag(help: "Print one JSON object.")
  var json = false

  func run() throws {
    let threshold: DependencyFinding.Severity?
    if failOn == "never" {
      threshold = nil
    } else if let s = DependencyFinding.Severity(rawValue: failOn) {
      threshold = s
    } else {
      throw ValidationError("--fail-on: expected low, medium, high or never, found \(failOn)")
    }
    var files: [String] = []
    var findings: [DependencyFinding] = []
    do {
      files = try DependencyAudit.files(under: path)
      for f in files { findings += try DependencyAudit.audit(file: f) }
    } catch let e as DependencyAuditError {
      FileHandle.standardError.write(Data("byzsim audit-deps: \(e)\n".utf8))
      throw ExitCode(2)
    }
    if json {
      struct Report: Encodable {
        let files: [String]
        let findings: [DependencyFinding]
        let popularPackages: String
      }
      let r = Report(files: files, findings: findings, popularPackages: DependencyAudit.popularSource)
      print(String(decoding: try JSONEncoder.snake().encode(r), as: UTF8.self))
    } else {
      print("\(files.count) dependency file\(files.count == 1 ? "" : "s"), \(findings.count) finding\(findings.count == 1 ? "" : "s")")
      for f in findings { print("\(f.file):\(f.line): \(f.severity.rawValue): \(f.rule): \(f.message)") }
    }
    if let threshold, findings.contains(where: { $0.severity >= threshold }) { throw ExitCode(1) }
  }
}
