/// Runs `body` repeatedly for at least `seconds` (after one warm-up call) and returns
/// (calls per second, the sum of what `body` returned) — the sum is printed so the
/// optimizer cannot delete the measured work.
func measure(seconds: Double, _ body: () -> Double) -> (rate: Double, checksum: Double) {
  var checksum = body()
  var calls = 0
  let start = ContinuousClock.now
  var elapsed = 0.0
  repeat {
    checksum += body()
    calls += 1
    let d = (ContinuousClock.now - start).components
    elapsed = Double(d.seconds) + Double(d.attoseconds) * 1e-18
  } while elapsed < seconds
  return (Double(calls) / elapsed, checksum)
}

import Foundation
import Runtime

/// Runs of the `byzsim` binary beside this one, prepared by this process: workers attest as
/// `byzsim`, not as `byzsim-bench`, so the run's expected measurement is byzsim's own (written
/// by `byzsim attest`, as for workers on another host).
enum BenchRuns {
  static var byzsim: String { (Launcher.executablePath as NSString).deletingLastPathComponent + "/byzsim" }

  static func prepare(_ topology: Topology, root: String) throws -> RunDirectory {
    var t = topology
    if t.security.attestationMode != .off {
      try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
      let allowlist = (root as NSString).appendingPathComponent("byzsim-measurement.json")
      if !FileManager.default.fileExists(atPath: allowlist) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: byzsim)
        p.arguments = ["attest", "--out", allowlist]
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw RuntimeError("\(byzsim) attest exited with status \(p.terminationStatus)") }
      }
      t.security.attestationAllowlist = allowlist
    }
    return try Launcher.prepare(t, runsRoot: root)
  }
}
