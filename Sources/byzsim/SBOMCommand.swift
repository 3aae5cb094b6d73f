import ArgumentParser
import Foundation
import Runtime

/// `byzsim sbom`: a CycloneDX 1.5 JSON bill of materials of this build (see `SBOM`).
struct SBOMCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "sbom",
    abstract: "Write a CycloneDX 1.5 SBOM of this build: the binary, its Swift packages, the system libraries it links.",
    discussion: """
      Swift packages come from Package.resolved (--resolved, or the one beside the build
      directory); system libraries from the binary's ELF DT_NEEDED entries, hashed and named
      with their Debian package and version. Every run directory holds one (sbom.cdx.json), and
      its manifest the SBOM's SHA-256.

      Example:
        byzsim sbom --out sbom.cdx.json
      """)

  @Option(help: "Write the SBOM here instead of standard output.")
  var out: String?
  @Option(help: "The Package.resolved the build used.")
  var resolved: String?

  func run() throws {
    let json = try SBOM.json(resolved: resolved)
    guard let out else { return FileHandle.standardOutput.write(Data(json)) }
    do { try Data(json).write(to: URL(fileURLWithPath: out)) } catch {
      throw UserError("cannot write \(out): \((error as NSError).localizedDescription)")
    }
  }
}
