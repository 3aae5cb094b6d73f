import Foundation
import TestSupport

/// Temporary directories and independent tools (gzip, sha256sum) for data tests.
enum Fixtures {
  static func temporaryDirectory() -> URL {
    Scratch.directory("byzsim-test")
  }

  /// IDX bytes written by hand: magic 00 00 08 rank, big-endian dims, payload.
  static func idx(dims: [Int], payload: [UInt8]) -> [UInt8] {
    var b: [UInt8] = [0, 0, 0x08, UInt8(dims.count)]
    for d in dims { b += [UInt8(d >> 24 & 0xff), UInt8(d >> 16 & 0xff), UInt8(d >> 8 & 0xff), UInt8(d & 0xff)] }
    return b + payload
  }

  static func write(_ bytes: [UInt8], to url: URL) {
    try! Data(bytes).write(to: url)
  }

  /// Runs a system tool and returns its stdout.
  @discardableResult
  static func run(_ tool: String, _ args: [String]) -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: tool)
    p.arguments = args
    let out = Pipe()
    p.standardOutput = out
    try! p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
  }

  /// gzip -k the file with the system gzip (an implementation independent of ours).
  static func gzip(_ url: URL) -> URL {
    run("/bin/gzip", ["-k", "-f", url.path])
    return URL(fileURLWithPath: url.path + ".gz")
  }

  /// A 4-image, 3×2-pixel dataset with labels [3, 0, 9, 1] and pixel values 0, 5, 10, ...
  static func tinySplit(in dir: URL, prefix: String, labels: [UInt8] = [3, 0, 9, 1], images: Int = 4) {
    let pixels = (0..<(images * 6)).map { UInt8($0 * 5 % 256) }
    write(idx(dims: [images, 3, 2], payload: pixels), to: dir.appendingPathComponent("\(prefix)-images-idx3-ubyte"))
    write(idx(dims: [labels.count], payload: labels), to: dir.appendingPathComponent("\(prefix)-labels-idx1-ubyte"))
  }
}
