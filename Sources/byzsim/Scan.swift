import ArgumentParser
import Foundation
import Runtime
import Scan

/// `byzsim scan`: static analysis of pickle-based model files.
struct ScanCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "scan",
    abstract: "Tell, without running them, whether pickle-based model files would run code when loaded.",
    discussion: """
      Reads pickles (protocols 0-5) and the files that hold them: PyTorch .pt/.pth zip archives
      (*/data.pkl), legacy PyTorch files (tar or five pickles), NumPy .npy/.npz with object
      arrays, joblib files (plain, zlib or gzip). A stack machine over the opcodes finds every
      global imported (GLOBAL, STACK_GLOBAL, INST) and every call (REDUCE, OBJ, NEWOBJ(_EX), BUILD),
      with names built on the stack or kept in the memo. Nothing is imported or run.

      Verdicts: safe (only allowlisted globals, or those of known data libraries), suspicious
      (a global outside the allowlist; a name or callee computed while loading), malicious (a
      denylisted global: os.system, subprocess, builtins.eval/exec/getattr, runpy, pydoc.locate,
      importlib.import_module, timeit.timeit, numpy.f2py.crackfortran.getlincoef, …),
      unreadable (not a file byzsim scan knows, truncated, over a limit).
      safetensors and ByzSim's own model files hold no code and are reported safe.

      Exit status (the worst file's): 0 safe, 1 suspicious, 2 malicious, 3 unreadable; malicious
      outranks unreadable, which outranks suspicious.

      Examples:
        byzsim scan downloaded/model.pt
        byzsim scan --strict --json models/ > scan.json
      """)

  @Argument(help: "Files to scan; a directory is scanned file by file.", completion: .file())
  var paths: [String]
  @Flag(help: "Any global outside the allowlist is at least suspicious.")
  var strict = false
  @Option(name: .customLong("allow"), help: "Also allow this global (module.name); repeatable.")
  var allowed: [String] = []
  @Option(help: "The most bytes inflated from one file's compressed members (a zip bomb stops here).")
  var inflateLimit = 1 << 30
  @Flag(help: "Print one JSON object: verdict, exit_code, files (each with its pickles, globals and findings).")
  var json = false
  @Flag(name: .shortAndLong, help: "Also list every global each pickle imports.")
  var verbose = false

  func validate() throws {
    for name in allowed where !name.contains(".") {
      throw ValidationError("--allow \(name): give a global as module.name (e.g. sklearn.linear_model._logistic.LogisticRegression)")
    }
    guard inflateLimit > 0 else { throw ValidationError("--inflate-limit must be positive") }
  }

  func run() throws {
    let scanner = PickleScanner(policy: GlobalPolicy(strict: strict, extraAllowed: Set(allowed)), inflateLimit: inflateLimit)
    let files = try Self.expand(paths)
    var reports: [FileReport] = []
    for path in files {
      let report = scanner.scan(path: path)
      reports.append(report)
      if !json { print(Self.describe(report, verbose: verbose)) }
    }
    let verdict = reports.map(\.verdict).max() ?? .safe
    if json {
      struct Output: Encodable {
        let verdict: FileVerdict
        let exitCode: Int32
        let files: [FileReport]
      }
      let encoder = JSONEncoder.snake()
      encoder.outputFormatting.insert(.prettyPrinted)
      print(String(decoding: try encoder.encode(Output(verdict: verdict, exitCode: verdict.exitCode, files: reports)), as: UTF8.self))
    } else if files.count > 1 {
      print("\(files.count) files: \(verdict)")
    }
    if verdict.exitCode != 0 { throw ExitCode(verdict.exitCode) }
  }

  /// Files as given; directories replaced by the regular files under them, sorted.
  static func expand(_ paths: [String]) throws -> [String] {
    var files: [String] = []
    for path in paths {
      var isDirectory: ObjCBool = false
      guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
        throw UserError("\(path): no such file or directory")
      }
      guard isDirectory.boolValue else {
        files.append(path)
        continue
      }
      guard let walker = FileManager.default.enumerator(atPath: path) else { throw UserError("\(path): cannot list the directory") }
      var found: [String] = []
      for case let relative as String in walker {
        let full = (path as NSString).appendingPathComponent(relative)
        var dir: ObjCBool = false
        if FileManager.default.fileExists(atPath: full, isDirectory: &dir), !dir.boolValue { found.append(full) }
      }
      files += found.sorted()
    }
    return files
  }

  static func describe(_ report: FileReport, verbose: Bool) -> String {
    var lines = ["\(report.path): \(report.verdict) (\(report.format.rawValue), \(report.size) bytes)"]
    if let error = report.error { lines.append("  error: \(error)") }
    for pickle in report.pickles {
      let status = pickle.error.map { "unreadable: \($0)" } ?? "\(pickle.verdict)"
      lines.append("  \(pickle.name) (protocol \(pickle.protocolVersion), \(pickle.length) bytes at \(pickle.start)): \(status)")
      for finding in pickle.findings { lines.append("    \(finding)") }
      if verbose, !pickle.globals.isEmpty { lines.append("    imports: " + pickle.globals.map(\.description).joined(separator: ", ")) }
    }
    for note in report.notes { lines.append("  note: \(note)") }
    return lines.joined(separator: "\n")
  }
}
