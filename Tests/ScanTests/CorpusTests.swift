import Foundation
import Scan
import TestSupport
import Testing

/// The scanner against a corpus that Python's own pickle, zipfile, tarfile, NumPy and joblib
/// write in the test (Corpus/make_corpus.py), each file with the verdict its author gave it.
@Suite struct CorpusTests {
  /// Written once for the suite's tests.
  static let shared = Result { try makeCorpus() }
  static func corpus() throws -> (dir: String, expected: [String: [String]]) { try shared.get() }

  static func makeCorpus() throws -> (dir: String, expected: [String: [String]]) {
    let dir = Scratch.directory("byzsim-scan-corpus").path
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Corpus/make_corpus.py").path
    try ReferencePython.run([script, dir])
    let json = try Data(contentsOf: URL(fileURLWithPath: dir + "/expected.json"))
    return (dir, try JSONDecoder().decode([String: [String]].self, from: json))
  }

  @Test func everyFileGetsItsExpectedVerdictByDefaultAndWhenStrict() throws {
    let (dir, expected) = try Self.corpus()
    #expect(expected.count >= 60)
    for (mode, strict) in [(0, false), (1, true)] {
      let scanner = PickleScanner(policy: GlobalPolicy(strict: strict))
      for (name, verdicts) in expected.sorted(by: { $0.key < $1.key }) {
        let report = scanner.scan(path: dir + "/" + name)
        #expect(
          report.verdict.rawValue == verdicts[mode],
          "\(name)\(strict ? " --strict" : ""): \(report.error ?? "") \(report.pickles.flatMap(\.findings))")
      }
    }
  }

  @Test func evidenceNamesTheGlobalTheOpcodeAndTheArgument() throws {
    let (dir, _) = try Self.corpus()
    let scanner = PickleScanner()
    let system = scanner.scan(path: dir + "/os_system_p2.pkl").pickles[0].findings
    // pickle writes os.system as posix.system on Linux.
    #expect(system.contains { $0.global == "posix.system" && $0.opcode == "GLOBAL" && $0.severity == .malicious })
    #expect(system.contains { $0.opcode == "REDUCE" && $0.reason.contains("\"echo pwned\"") })
    let memo = scanner.scan(path: dir + "/memo_stack_global.pkl").pickles[0].findings
    #expect(memo.contains { $0.global == "os.system" && $0.opcode == "STACK_GLOBAL" })
    let escaped = scanner.scan(path: dir + "/escaped_string_global.pkl").pickles[0].findings
    #expect(escaped.contains { $0.global == "os.system" })
    let torch = scanner.scan(path: dir + "/torch_malicious.pt")
    #expect(torch.format == .pytorchZip && torch.pickles.map(\.name) == ["torch_malicious.pt:archive/data.pkl"])
    let joblib = scanner.scan(path: dir + "/malicious.joblib")
    #expect(joblib.format == .joblib && joblib.pickles.count == 2 && joblib.pickles[1].verdict == .malicious)
    let legacy = scanner.scan(path: dir + "/torch_legacy.pt")
    #expect(legacy.format == .pytorchLegacy && legacy.pickles.count == 5)
    #expect(scanner.scan(path: dir + "/torch_legacy_tar.pt").format == .pytorchTar)
    #expect(scanner.scan(path: dir + "/floats.npy").pickles.isEmpty)
    let truncated = scanner.scan(path: dir + "/truncated_after_reduce.pkl")
    #expect(truncated.verdict == .malicious && truncated.pickles[0].error != nil)
    let bomb = scanner.scan(path: dir + "/zip_bomb.pt")
    #expect(bomb.error?.contains("zip bomb") == true)
  }

  @Test func theSklearnModelIsSafeOnlyWhenItsGlobalIsAllowed() throws {
    let (dir, _) = try Self.corpus()
    let path = dir + "/sklearn_model.pkl"
    #expect(PickleScanner(policy: GlobalPolicy(strict: true)).scan(path: path).verdict == .suspicious)
    let allowed = GlobalPolicy(strict: true, extraAllowed: ["sklearn.linear_model._logistic.LogisticRegression"])
    #expect(PickleScanner(policy: allowed).scan(path: path).verdict == .safe)
  }
}

/// Mutated corpus files (bit flips, truncations, splices, repeated bytes) never crash the scanner
/// or run away: each mutation gets a verdict or a clear error.
@Suite struct ScanFuzzTests {
  @Test func mutatedPicklesAndArchivesGetAVerdictOrAnError() throws {
    let (dir, _) = try CorpusTests.corpus()
    let names = [
      "plain_p0.pkl", "plain_p4.pkl", "os_system_p2.pkl", "torch_state_dict.pt", "torch_legacy.pt", "arrays.joblib",
      "objects.npy", "mixed.npz", "torch_legacy_tar.pt", "memo_stack_global.pkl",
    ]
    let seeds = try names.map { Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/" + $0))) }
    var mutator = Mutator(seed: 1414, seeds: seeds)
    let scanner = PickleScanner(policy: GlobalPolicy(strict: true), inflateLimit: 1 << 24)
    var verdicts: [FileVerdict: Int] = [:]
    for _ in 0..<100_000 {
      let bytes = mutator.next()
      let report = bytes.withUnsafeBytes { scanner.scan(bytes: $0, path: "fuzz") }
      verdicts[report.verdict, default: 0] += 1
      if report.verdict == .unreadable {
        let messages = [report.error].compactMap { $0 } + report.pickles.compactMap(\.error)
        #expect(!messages.isEmpty && messages.allSatisfy { !$0.isEmpty })
      }
    }
    // The mutations reach every outcome, not only parse errors.
    #expect(verdicts[.safe, default: 0] > 100 && verdicts[.unreadable, default: 0] > 100 && verdicts[.malicious, default: 0] > 100)
  }
}
