import Foundation
import TestSupport
import Testing

@testable import DepsAudit

/// `DependencyAudit` on fixtures for every finding and on clean files; distances by hand.
@Suite struct DependencyAuditTests {
  /// By hand: a transposition is one edit (reqeusts → requests), as are one deletion (urlib3 →
  /// urllib3) and one insertion (colourama → colorama); "ca" → "abc" is 3 under optimal string
  /// alignment (it may not edit a transposed pair again).
  @Test func distancesByHand() {
    #expect(DependencyAudit.distance("reqeusts", "requests") == 1)
    #expect(DependencyAudit.distance("urlib3", "urllib3") == 1)
    #expect(DependencyAudit.distance("colourama", "colorama") == 1)
    #expect(DependencyAudit.distance("kitten", "sitting") == 3)
    #expect(DependencyAudit.distance("ca", "abc") == 3)
    #expect(DependencyAudit.distance("", "abc") == 3)
    #expect(DependencyAudit.normalize("Typing__Extensions") == "typing-extensions")
    #expect(DependencyAudit.normalize("zope.interface") == "zope-interface")
  }

  func audit(_ name: String, _ text: String) throws -> [DependencyFinding] {
    let dir = Scratch.directory("deps")
    let file = dir.appendingPathComponent(name).path
    try text.write(toFile: file, atomically: true, encoding: .utf8)
    return try DependencyAudit.audit(file: file)
  }

  func rules(_ findings: [DependencyFinding]) -> [String] { findings.map { "\($0.line) \($0.rule) \($0.package ?? "-")" } }

  @Test func requirementsFindings() throws {
    let f = try audit(
      "requirements.txt",
      """
      # a comment
      --extra-index-url https://pkgs.example.com/simple
      requests==2.32.3 --hash=sha256:70761cfe03c773ceb22aa2f671b4757976145175cdfca038c02654d061d6dcc6
      reqeusts==2.32.3 --hash=sha256:00
      urlib3>=2.0 --hash=sha256:00
      colourama --hash=sha256:00
      jeIlyfish==1.0 --hash=sha256:00
      numpy==2.4.6
      flask @ https://example.com/flask.tar.gz --hash=sha256:00
      scipy==1.* \\
          --hash=sha256:00
      --trusted-host pkgs.example.com
      """)
    #expect(
      rules(f) == [
        "2 extra-index -", "4 typosquat reqeusts", "5 typosquat urlib3", "5 unpinned urlib3", "6 typosquat colourama",
        "6 unpinned colourama", "7 homoglyph jeIlyfish", "8 no-hash numpy", "9 direct-url flask", "10 unpinned scipy",
        "12 trusted-host -",
      ], "\(f.map(\.message))")
    #expect(f.first { $0.rule == "typosquat" }!.message.contains("\"requests\""))
    #expect(f.first { $0.rule == "homoglyph" }!.message.contains("imitates \"jellyfish\""))
    #expect(f.filter { $0.severity == .high }.count == 5)
  }

  @Test func cleanFilesHaveNoFinding() throws {
    #expect(try audit("requirements-clean.txt", "numpy==2.4.6 --hash=sha256:aa\nsafetensors==0.8.0 --hash=sha256:bb\n").isEmpty)
    #expect(
      try audit(
        "pyproject.toml",
        "[project]\nname = \"x\"\ndependencies = [\"numpy==2.4.6\", \"scipy===1.16.3\"]\n[tool.poetry.dependencies]\npython = \"^3.11\"\nrequests = \"2.32.3\"\n"
      ).isEmpty)
    #expect(
      try audit(
        "Package.resolved",
        """
        {"pins": [{"identity": "swift-crypto", "kind": "remoteSourceControl", "location": "https://github.com/apple/swift-crypto",
        "state": {"revision": "a1b2", "version": "3.12.0"}}], "version": 3}
        """
      ).isEmpty)
  }

  @Test func projectAndLockFindings() throws {
    let project = try audit(
      "pyproject.toml",
      """
      [project]
      name = "x"
      dependencies = ["numpy>=2", "torch"]
      [project.optional-dependencies]
      docs = ["sphinx==8.0.0"]
      [tool.poetry.dependencies]
      python = "^3.11"
      pandas = "^2.2"
      [[tool.poetry.source]]
      name = "private"
      url = "https://pkgs.example.com/simple"
      priority = "supplemental"
      """)
    #expect(rules(project) == ["3 unpinned numpy", "3 unpinned torch", "8 unpinned pandas", "9 extra-index -"], "\(project)")
    let lock = try audit(
      "poetry.lock",
      """
      [[package]]
      name = "numpy"
      version = "2.4.6"
      files = [{file = "numpy-2.4.6.tar.gz", hash = "sha256:aa"}]

      [[package]]
      name = "pandsa"
      version = "2.2.0"
      files = []
      """)
    #expect(rules(lock) == ["6 typosquat pandsa", "6 no-hash pandsa"], "\(lock)")
    let pylock = try audit(
      "pylock.toml",
      """
      lock-version = "1.0"
      [[packages]]
      name = "numpy"
      version = "2.4.6"
      index = "https://pypi.org/simple"
      wheels = [{name = "numpy.whl", hashes = {sha256 = "aa"}}]
      [[packages]]
      name = "nunpy"
      version = "2.4.6"
      index = "https://pkgs.example.com/simple"
      """)
    #expect(rules(pylock) == ["7 typosquat nunpy", "7 index nunpy", "7 no-hash nunpy"], "\(pylock)")
    let swift = try audit(
      "Package.resolved",
      """
      {
        "object": {
          "pins": [
            {
              "package": "Hummingbird",
              "repositoryURL": "https://github.com/hummingbird-project/hummingbird",
              "state": { "branch": "main", "revision": "abc", "version": null }
            }
          ]
        },
        "version": 1
      }
      """)
    #expect(rules(swift) == ["5 branch-pin Hummingbird"], "\(swift)")
  }

  @Test func malformedFilesAreClearErrors() throws {
    #expect(throws: DependencyAuditError.self) { try audit("Package.resolved", "{\"pins\": 3") }
    #expect(throws: DependencyAuditError.self) { try audit("pyproject.toml", "[project\nname = 1") }
    #expect(throws: DependencyAuditError.self) { try audit("Package.resolved", "{\"version\": 2}") }
  }
}
