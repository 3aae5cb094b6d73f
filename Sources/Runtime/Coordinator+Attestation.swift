import Data
import Foundation
import Transport

// Measured start-up at the coordinator (`security.attestation`): each worker process sends its
// `Measurement` before its hello; it is checked against the expected one recorded in the signed
// manifest. Under "enforce" a departure — or a hello without an attestation — is refused
// (`attestation_mismatch`); under "observe" it is logged and the worker let in. Every attestation
// is appended to attestations.jsonl (one writer: the coordinator).

extension RunDirectory {
  /// The workers' attestations as the coordinator received them, one JSON line each.
  public var attestationsFile: String { file("attestations.jsonl") }
  /// Where `prepare` builds a worker group's compromised dependency (`supply_chain`).
  public var supplyChainDirectory: String { file("supply-chain") }
}

/// One line of attestations.jsonl.
struct AttestationRecord: Codable {
  var worker: Int
  var mode: String
  /// SHA-256 of the measurement as sent.
  var measurementSHA256: String
  var executable: String
  var ldPreload: String?
  var departures: [String]
  var admitted: Bool
}

extension Coordinator {
  /// Whether attestation applies to this run: not off, and workers are processes (threads share
  /// the coordinator's own process, which has nothing to attest to itself).
  var attesting: Bool { topology.security.attestationMode != .off && !wiring.endpoint.hasPrefix("inproc://") }

  /// Checks worker `w`'s measurement; returns false when it must be refused.
  func attest(_ w: Int, _ bytes: [UInt8]) -> Bool {
    let mode = topology.security.attestationMode
    var departures: [String]
    let measured: Measurement?
    do {
      let m = try JSONDecoder.snake.decode(Measurement.self, from: Data(bytes))
      measured = m
      if let expected = manifest.attestation {
        departures = m.departures(from: expected)
      } else {
        departures = ["the manifest records no expected measurement (prepared with attestation off): prepare the run again"]
      }
    } catch {
      measured = nil
      departures = ["not a measurement (\(error))"]
    }
    let admitted = departures.isEmpty || mode == .observe
    workers[w].attested = admitted
    workers[w].refused = !admitted
    let record = AttestationRecord(
      worker: w, mode: mode.rawValue, measurementSHA256: Provenance.sha256Hex(bytes), executable: measured?.executable ?? "",
      ldPreload: measured?.ldPreload, departures: departures, admitted: admitted)
    do {
      var line = try JSONEncoder.snake().encode(record)
      line.append(0x0A)
      try Files.append(line, to: run.attestationsFile)
    } catch {
      run.logEvent("attestations.jsonl could not be written: \(error)")
    }
    if !departures.isEmpty {
      let what =
        "attestation mismatch: worker \(w): \(departures.prefix(3).joined(separator: "; "))\(departures.count > 3 ? " (and \(departures.count - 3) more)" : "")"
      // The refusal log writes it to events.log (rate-limited per peer).
      refusals.record(peer: "worker \(w)", what: what + (admitted ? " (observe: admitted)" : ": refused"))
    }
    return admitted
  }
}
