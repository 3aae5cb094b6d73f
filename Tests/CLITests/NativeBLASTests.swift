import Foundation
import Testing

/// OpenBLAS names CPUs by model: on a VM that hides it, it falls back to its generic Prescott
/// kernels. byzsim restarts itself with the Haswell kernels when the CPU runs AVX2 and FMA, and
/// leaves a user's OPENBLAS_CORETYPE alone.
@Suite struct NativeBLASTests {
  static let generic = ["Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Katmai", "Coppermine", "Northwood", "Banias", "Atom"]

  static var cpuHasAVX2AndFMA: Bool {
    guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
      let flags = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
    else { return false }
    let set = Set(flags.split(separator: " ").map(String.init))
    return set.contains("avx2") && set.contains("fma")
  }

  /// The OpenBLAS line of `byzsim info` (its configuration names the kernels).
  static func blasLine(_ environment: [String: String]) throws -> String {
    let r = try CLI.run(["info"], environment: environment)
    #expect(r.status == 0, "\(r.stderr)")
    return try #require(r.stdout.split(separator: "\n").first { $0.hasPrefix("OpenBLAS") }.map(String.init))
  }

  @Test func aCPUWithAVX2AndFMANeverRunsGenericKernels() throws {
    var env = ProcessInfo.processInfo.environment
    env["OPENBLAS_CORETYPE"] = nil
    let line = try Self.blasLine(env)
    if Self.cpuHasAVX2AndFMA {
      #expect(!Self.generic.contains { line.contains(" \($0) ") || line.hasSuffix(" \($0)") }, "\(line)")
    }
    // A user's choice is kept.
    env["OPENBLAS_CORETYPE"] = "Prescott"
    #expect(try Self.blasLine(env).contains("Prescott"))
  }
}
