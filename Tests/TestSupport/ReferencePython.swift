import Foundation

/// The project's Python (a venv with pinned NumPy, safetensors, cryptography and joblib that
/// `make test` installs from scripts/requirements-test.txt): independent reference
/// implementations for the tests, never part of the product.
public enum ReferencePython {
  public struct Failure: Error, CustomStringConvertible {
    public let description: String
    public init(description: String) { self.description = description }
  }

  /// `$BYZSIM_PYTHON`, else `.venv/bin/python` at the repository root.
  public static func interpreter(file: String = #filePath) throws -> String {
    if let path = ProcessInfo.processInfo.environment["BYZSIM_PYTHON"], !path.isEmpty { return path }
    var root = URL(fileURLWithPath: file)
    while root.path != "/" {
      root.deleteLastPathComponent()
      if FileManager.default.fileExists(atPath: root.appendingPathComponent("Package.swift").path) { break }
    }
    let venv = root.appendingPathComponent(".venv/bin/python").path
    guard FileManager.default.isExecutableFile(atPath: venv) else {
      throw Failure(
        description: "no reference Python at \(venv): run `make venv` (make test does) to install scripts/requirements-test.txt")
    }
    return venv
  }

  /// Runs `python arguments…` with `input` on stdin; returns stdout, throwing with stderr on failure.
  @discardableResult
  public static func run(_ arguments: [String], input: [UInt8] = []) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try interpreter())
    process.arguments = arguments
    let stdin = Pipe(), stdout = Pipe()
    // stderr goes to a file, so neither pipe can fill while the other is read.
    let errorPath = FileManager.default.temporaryDirectory.appendingPathComponent("python-stderr-\(UUID().uuidString)").path
    try Data().write(to: URL(fileURLWithPath: errorPath))
    defer { try? FileManager.default.removeItem(atPath: errorPath) }
    process.standardInput = stdin
    process.standardOutput = stdout
    process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errorPath))
    try process.run()
    stdin.fileHandleForWriting.write(Data(input))
    try stdin.fileHandleForWriting.close()
    let output = stdout.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let errorData = (try? Data(contentsOf: URL(fileURLWithPath: errorPath))) ?? Data()
    guard process.terminationStatus == 0 else {
      throw Failure(
        description: "python \(arguments.first ?? "") exited \(process.terminationStatus): \(String(decoding: errorData, as: UTF8.self))")
    }
    return String(decoding: output, as: UTF8.self)
  }
}
