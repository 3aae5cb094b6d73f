import Foundation
import TestSupport

/// Runs the built `byzsim` binary (the one next to the test bundle, or $BYZSIM_BIN).
enum CLI {
  struct Result {
    let status: Int32
    let stdout: String
    let stderr: String
    /// The last stdout line parsed as a JSON object.
    var json: [String: Any]? {
      guard let line = stdout.split(separator: "\n").last else { return nil }
      return (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
    }
  }

  static var binary: URL {
    if let path = ProcessInfo.processInfo.environment["BYZSIM_BIN"] { return URL(fileURLWithPath: path) }
    // Tests run from .build/<config>/…xctest; the executable is built beside it.
    var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for _ in 0..<4 {
      let candidate = dir.appendingPathComponent("byzsim")
      if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
      dir = dir.deletingLastPathComponent()
    }
    // Fall back to the debug build of this package.
    return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent(".build/debug/byzsim")
  }

  /// Runs `binary` (default: the built byzsim) with `args`, from `directory` (default: ours).
  static func run(_ args: [String], environment: [String: String]? = nil, binary: URL? = nil, directory: URL? = nil) throws -> Result {
    let p = Process()
    p.executableURL = binary ?? Self.binary
    p.arguments = args
    if let directory { p.currentDirectoryURL = directory }
    var env = environment ?? ProcessInfo.processInfo.environment
    env["OPENBLAS_NUM_THREADS"] = "1"
    p.environment = env
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    // Read both pipes concurrently so neither fills up and blocks the child.
    nonisolated(unsafe) var errData = Data()
    let reader = Thread { errData = err.fileHandleForReading.readDataToEndOfFile() }
    reader.start()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    while !reader.isFinished { usleep(1000) }
    return Result(
      status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
      stderr: String(decoding: errData, as: UTF8.self))
  }

  static func temporaryDirectory() -> URL {
    Scratch.directory("byzsim-cli")
  }

  /// A small separable IDX dataset written by hand: class k brightens column block k of a 10×10 image.
  static func writeToyDataset(in dir: URL, train: Int = 400, test: Int = 100) {
    for (prefix, count) in [("train", train), ("t10k", test)] {
      var images: [UInt8] = [0, 0, 8, 3, 0, 0, UInt8(count >> 8), UInt8(count & 0xff), 0, 0, 0, 10, 0, 0, 0, 10]
      var labels: [UInt8] = [0, 0, 8, 1, 0, 0, UInt8(count >> 8), UInt8(count & 0xff)]
      for i in 0..<count {
        let k = (i * 7 + (prefix == "t10k" ? 3 : 0)) % 10
        labels.append(UInt8(k))
        for r in 0..<10 { for c in 0..<10 { images.append(c == k ? 200 : UInt8((i * 31 + r * 7 + c * 13) % 60)) } }
      }
      try! Data(images).write(to: dir.appendingPathComponent("\(prefix)-images-idx3-ubyte"))
      try! Data(labels).write(to: dir.appendingPathComponent("\(prefix)-labels-idx1-ubyte"))
    }
  }
}
