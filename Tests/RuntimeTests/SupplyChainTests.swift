import Foundation
import TestSupport
import Testing

@testable import Runtime

/// Measured start-up and the trojaned BLAS, below the run: departures by hand, this process's
/// measurement against Python's hashlib, and the interposer against a product computed by hand.
@Suite struct SupplyChainTests {
  @Test func departuresNameWhatDiffers() {
    let expected = Measurement(
      executable: "aa", objects: ["/usr/lib/libc.so.6": "11", "/usr/lib/libopenblas.so.0": "22", "/bin/byzsim": "aa"], ldPreload: nil,
      ldLibraryPath: nil)
    // The same process, or one that mapped less: no departure.
    #expect(expected.departures(from: expected).isEmpty)
    var fewer = expected
    fewer.objects["/usr/lib/libc.so.6"] = nil
    #expect(fewer.departures(from: expected).isEmpty)
    var trojaned = expected
    trojaned.objects["/tmp/run/supply-chain/trojan-blas-group-1.so"] = "33"
    trojaned.objects["/usr/lib/libopenblas.so.0"] = "99"
    trojaned.ldPreload = "/tmp/run/supply-chain/trojan-blas-group-1.so"
    #expect(
      trojaned.departures(from: expected) == [
        "/tmp/run/supply-chain/trojan-blas-group-1.so is mapped but not in the expected measurement",
        "/usr/lib/libopenblas.so.0 has SHA-256 99, expected 22",
        "LD_PRELOAD is \"/tmp/run/supply-chain/trojan-blas-group-1.so\", expected unset",
      ])
    var rebuilt = expected
    rebuilt.executable = "bb"
    #expect(rebuilt.departures(from: expected) == ["the executable's SHA-256 is bb, expected aa"])
  }

  /// Every digest of this process's measurement, recomputed by Python's hashlib from the files.
  @Test func measurementMatchesHashlib() throws {
    let m = try Measurement.current()
    #expect(m.objects.count >= 5, "\(m.objects.keys.sorted())")
    #expect(m.objects.keys.contains { $0.contains("libopenblas") }, "the test binary links OpenBLAS: \(m.objects.keys.sorted())")
    // /proc/self/exe is Python's own in Python: pass the test binary's real path instead.
    let exe = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
    let digests = try Self.hashlib([exe] + m.objects.keys.sorted())
    #expect(digests == [m.executable] + m.objects.keys.sorted().map { m.objects[$0]! })
  }

  /// Python's hashlib SHA-256 of each file, hex, in order.
  static func hashlib(_ paths: [String]) throws -> [String] {
    let script = """
      import hashlib, sys
      for p in sys.stdin.read().split("\\n"):
          print(hashlib.sha256(open(p, "rb").read()).hexdigest())
      """
    return try ReferencePython.run(["-c", script], input: Array(paths.joined(separator: "\n").utf8)).split(separator: "\n").map(String.init)
  }

  /// A process hashes a file once while it stays the same file: the second digest of a file
  /// that last changed long ago is remembered; a file written just now is hashed every time, so
  /// rewriting it with other bytes of the same size (within one tick of the file clock: the same
  /// times) gives the new digest. Digests checked against hashlib.
  @Test func digestsAreRememberedOnlyForFilesThatStayTheSame() throws {
    let url = Scratch.directory("digest-memo")
    defer { Scratch.remove(url) }
    let file = url.path + "/lib.so"
    let old = try #require(
      ["/bin/sh", "/usr/bin/env"].first { MeasuredFiles.FileIdentity($0)?.isOld == true }, "no file here last changed over 2 s ago")
    let first = try MeasuredFiles.lookUpOrHash(old)
    let second = try MeasuredFiles.lookUpOrHash(old)
    #expect(second.remembered && second.hex == first.hex)
    var digests: [String] = []
    for content in ["first bytes", "other bytes"] {
      try content.write(toFile: file, atomically: false, encoding: .utf8)
      let fresh = try MeasuredFiles.lookUpOrHash(file)
      #expect(!fresh.remembered, "a file written just now is hashed again")
      digests.append(fresh.hex)
    }
    #expect(try Self.hashlib([old, file]) == [first.hex, digests[1]])
    #expect(digests[0] != digests[1])
  }

  /// Digests handed down by a launcher are used only for a file of exactly that identity: a
  /// test file given a made-up digest reads back that digest (so the entry is what was used);
  /// one nanosecond off in its change time, or the file written again, and it is hashed. A
  /// malformed text is refused whole, naming the entry.
  @Test func handedDownDigestsNeedTheSameFile() throws {
    let url = Scratch.directory("digest-handed-down")
    defer { Scratch.remove(url) }
    let file = url.path + "/lib.so", other = url.path + "/other.so"
    try "library bytes".write(toFile: file, atomically: false, encoding: .utf8)
    try "other bytes".write(toFile: other, atomically: false, encoding: .utf8)
    func entry(_ path: String, _ hex: String, changedNanoseconds shift: Int = 0) throws -> String {
      let id = try #require(MeasuredFiles.FileIdentity(path))
      return [
        "\(id.device)", "\(id.inode)", "\(id.size)", "\(id.modified.tv_sec)", "\(id.modified.tv_nsec)", "\(id.changed.tv_sec)",
        "\((id.changed.tv_nsec + shift) % 1_000_000_000)", hex,
      ].joined(separator: ":")
    }
    // hashlib's digests of the two contents the files end with.
    let reference = try ReferencePython.run(
      ["-c", "import hashlib\nfor b in (b'other bytes', b'library bytez'): print(hashlib.sha256(b).hexdigest())"]
    ).split(separator: "\n").map(String.init)
    let madeUp = String(repeating: "ab", count: 32), real = reference[0]
    try MeasuredFiles.adopt(try entry(file, madeUp) + ";" + entry(other, madeUp, changedNanoseconds: 1))
    let used = try MeasuredFiles.lookUpOrHash(file)
    #expect(used.remembered && used.hex == madeUp)
    let offByOne = try MeasuredFiles.lookUpOrHash(other)
    #expect(!offByOne.remembered && offByOne.hex == real)
    try "library bytez".write(toFile: file, atomically: false, encoding: .utf8)
    let rewritten = try MeasuredFiles.lookUpOrHash(file)
    #expect(!rewritten.remembered && rewritten.hex == reference[1])

    for (text, phrase) in [
      ("1:2:3:4:5:6:7", "entry 1 (1:2:3:4:5:6:7) has 7 fields, expected 8"),
      ("1:2:3:4:5:6:7:\(madeUp);1:2:-3:4:5:6:7:\(madeUp)", "entry 2 (1:2:-3:4:5:6:7:\(madeUp)) has a field that is not a non-negative"),
      ("1:2:3:4:5:6:7:\(madeUp.uppercased())", "has no SHA-256"),
      ("1:2:3:4:1000000000:6:7:\(madeUp)", "nanoseconds over 999,999,999"),
    ] {
      #expect(throws: RuntimeError.self, "\(text)") { try MeasuredFiles.adopt(text) }
      do { try MeasuredFiles.adopt(text) } catch { #expect("\(error)".contains(phrase), "\(error)") }
    }
  }

  /// The generated interposer, preloaded into a C program that multiplies [[1, 2], [3, 4]] by
  /// [[5, 6], [7, 8]] with OpenBLAS (= [[19, 22], [43, 50]] by hand): scaled by 1.5, sign-flipped,
  /// or with 0.25 added to row 1.
  @Test func theTrojanPerturbsEveryProduct() throws {
    let url = Scratch.directory("trojan")
    defer { Scratch.remove(url) }
    let dir = url.path
    let driver = """
      #include <stdio.h>
      void cblas_sgemm(int, int, int, int, int, int, float, const float *, int, const float *, int, float, float *, int);
      int main(void) {
        float a[] = {1, 2, 3, 4}, b[] = {5, 6, 7, 8}, c[] = {0, 0, 0, 0};
        cblas_sgemm(101, 111, 111, 2, 2, 2, 1.0f, a, 2, b, 2, 0.0f, c, 2);
        printf("%g %g %g %g\\n", c[0], c[1], c[2], c[3]);
        return 0;
      }
      """
    try driver.write(toFile: dir + "/driver.c", atomically: true, encoding: .utf8)
    let compiler = try #require(["cc", "gcc", "clang"].lazy.compactMap(TrojanBLAS.onPath).first, "no C compiler on PATH")
    try shell([compiler, "-o", dir + "/driver", dir + "/driver.c", "-lopenblas"], environment: [:])
    #expect(try shell([dir + "/driver"], environment: [:]) == "19 22 43 50")
    var cases: [(SupplyChainSpec, String)] = []
    var scale = SupplyChainSpec()
    scale.factor = 1.5
    cases.append((scale, "28.5 33 64.5 75"))
    var flip = SupplyChainSpec()
    flip.mode = .signFlip
    cases.append((flip, "-19 -22 -43 -50"))
    var drift = SupplyChainSpec()
    drift.mode = .drift
    drift.factor = 0.25
    drift.rows = [1, 7]
    cases.append((drift, "19 22 43.25 50.25"))
    for (k, (spec, want)) in cases.enumerated() {
      let lib = try TrojanBLAS.build(spec, group: k, directory: dir)
      #expect(try shell([dir + "/driver"], environment: ["LD_PRELOAD": lib.path]) == want, "\(spec.mode)")
    }
  }

  @discardableResult
  func shell(_ args: [String], environment: [String: String]) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = args
    p.environment = ProcessInfo.processInfo.environment.merging(environment) { _, b in b }
    let out = Pipe()
    p.standardOutput = out
    p.standardError = out
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    guard p.terminationStatus == 0 else { throw CLIErrorText("\(args.joined(separator: " ")) failed: \(text)") }
    return text
  }

  struct CLIErrorText: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
  }
}
