import Foundation
import Testing

/// `byzsim audit-deps`: the project's own dependency files pass (only low findings: pip hashes
/// are not pinned, as the tests' venv installs on any Python); a typosquat fails the audit;
/// exit codes and --json as CI scripts read them.
@Suite struct AuditDepsCommandTests {
  static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

  @Test func theProjectsOwnFilesPass() throws {
    let r = try CLI.run(["audit-deps", Self.root, "--json"])
    #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
    let files = try #require(r.json?["files"] as? [String])
    #expect(files.contains { $0.hasSuffix("scripts/requirements-test.txt") })
    let findings = try #require(r.json?["findings"] as? [[String: Any]])
    #expect(findings.allSatisfy { $0["severity"] as? String == "low" && $0["rule"] as? String == "no-hash" }, "\(findings)")
    #expect((r.json?["popular_packages"] as? String)?.contains("2026-04-01") == true)
    // The build's own Package.resolved, when present, has no finding at all.
    if FileManager.default.fileExists(atPath: Self.root + "/Package.resolved") {
      let swift = try CLI.run(["audit-deps", Self.root + "/Package.resolved", "--fail-on", "low"])
      #expect(swift.status == 0 && swift.stdout.contains("0 findings"), "\(swift.stdout)")
    }
  }

  @Test func exitCodesGateCI() throws {
    let dir = CLI.temporaryDirectory()
    let file = dir.appendingPathComponent("requirements.txt").path
    try "reqeusts==2.32.3 --hash=sha256:00\n".write(toFile: file, atomically: true, encoding: .utf8)
    let failing = try CLI.run(["audit-deps", dir.path])
    #expect(failing.status == 1 && failing.stdout.contains("requirements.txt:1: high: typosquat"), "\(failing.stdout)")
    #expect(try CLI.run(["audit-deps", dir.path, "--fail-on", "never"]).status == 0)
    try "numpy==2.4.6\n".write(toFile: file, atomically: true, encoding: .utf8)
    #expect(try CLI.run(["audit-deps", dir.path]).status == 0)
    #expect(try CLI.run(["audit-deps", dir.path, "--fail-on", "low"]).status == 1)
    let toml = dir.appendingPathComponent("pyproject.toml").path
    try "[project\n".write(toFile: toml, atomically: true, encoding: .utf8)
    let broken = try CLI.run(["audit-deps", dir.path])
    #expect(broken.status == 2 && broken.stderr.contains("pyproject.toml"), "\(broken.stderr)")
    let missing = try CLI.run(["audit-deps", dir.path + "/nothing-here"])
    #expect(missing.status == 2 && missing.stderr.contains("no such file"), "\(missing.stderr)")
    let bad = try CLI.run(["audit-deps", dir.path, "--fail-on", "sometimes"])
    #expect(bad.status != 0 && bad.stderr.contains("--fail-on"))
  }
}
