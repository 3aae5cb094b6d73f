import ArgumentParser
import Foundation
import Runtime

/// `byzsim attest`: this process's start-up measurement (see `Measurement`), as JSON — the
/// allowlist file (`security.attestation_allowlist`) for workers on another host: run it there,
/// with the binary and libraries the workers will run.
struct Attest: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Print this host's start-up measurement (the attestation allowlist for workers run here).",
    discussion: """
      The SHA-256 of this executable and of every shared object it maps, and LD_PRELOAD /
      LD_LIBRARY_PATH, as JSON (keys executable, objects, ld_preload, ld_library_path). Use it as
      security.attestation_allowlist when the workers run on another host than the launcher.

      Example (on the workers' host, with the same build):
        byzsim attest --out expected.json
      """)

  @Option(help: "Write the measurement here instead of standard output.")
  var out: String?

  func run() throws {
    let json = try JSONEncoder.snake(pretty: true).encode(try Measurement.current()) + Data([0x0A])
    guard let out else { return FileHandle.standardOutput.write(json) }
    do { try json.write(to: URL(fileURLWithPath: out)) } catch {
      throw UserError("cannot write \(out): \((error as NSError).localizedDescription)")
    }
  }
}
