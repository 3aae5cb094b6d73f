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
    let paths = ["/proc/self/exe"] + m.objects.keys.sorted()
    let script = """
      import hashlib, sys, os
      for p in sys.stdin.read().split("\\n"):
          print(hashlib.sha256(open(p, "rb").read()).hexdigest())
      """
    // /proc/self/exe is Python's own in Python: pass the test binary's real path instead.
    let exe = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
    let input = ([exe] + paths.dropFirst()).joined(separator: "\n")
    let digests = try ReferencePython.run(["-c", script], input: Array(input.utf8)).split(separator: "\n").map(String.init)
    #expect(digests == [m.executable] + m.objects.keys.sorted().map { m.objects[$0]! })
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
