import Data
import Federation

/// The coordinator's resumable state: the next round to run, the global model and the round
/// engine's state (the server optimizer's velocity, the aggregator's history, the CUSUM and the
/// auditors' histories). Written atomically every k rounds, after that round's metrics line (so
/// a kill between the two loses nothing: resume recomputes the line).
///
/// Layout (little-endian, version 4): "BZCK", u32 version, u64 run nonce, u64 next round,
/// then the parameters, the velocity and the aggregator state (each u64 count + Float32s), the
/// CUSUM (u64 count + Float64s), the number of auditors (u64) and each auditor's state
/// (u64 count + Float32s), then the SHA-256 of every byte before it. Reading checks the digest
/// first, then every field against the run it is resumed in (`Expectation`).
public struct Checkpoint: Equatable, Sendable {
  public var nextRound: Int
  public var parameters: [Float]
  public var engine: EngineState

  static let version: UInt32 = 4

  /// What a checkpoint of this run must hold.
  struct Expectation {
    var runID: UInt64
    var rounds: Int
    var parameterCount: Int
    /// The velocity's length: the parameter count with server momentum, 0 without.
    var velocityCount: Int
    var auditorCount: Int
  }

  func encoded(runID: UInt64) -> [UInt8] {
    var w = BinaryWriter()
    w.magic("BZCK"); w.u32(Self.version); w.u64(runID); w.u64(UInt64(nextRound))
    w.floats(parameters); w.floats(engine.velocity); w.floats(engine.aggregator)
    w.doubles(engine.cusum)
    w.u64(UInt64(engine.auditors.count))
    for a in engine.auditors { w.floats(a) }
    w.raw(Provenance.sha256(w.bytes))
    return w.bytes
  }

  static func decode(_ bytes: [UInt8], path: String, expecting e: Expectation) throws -> Checkpoint {
    let fail = { (m: String) in
      FileFormatError(path: path, message: m + "; the checkpoint cannot be trusted (restart the run, or restore the file)")
    }
    guard bytes.count >= 4 + 32, Array(bytes[0..<4]) == Array("BZCK".utf8) else { throw fail("not a ByzSim checkpoint (no BZCK magic)") }
    let body = Array(bytes[..<(bytes.count - 32)])
    let stored = Array(bytes[(bytes.count - 32)...])
    var r = BinaryReader(body, path: path)
    try r.magic("BZCK")
    let version = try r.u32("the version")
    guard version == Self.version else { throw fail("checkpoint version \(version); this byzsim reads version \(Self.version)") }
    let computed = Provenance.sha256(body)
    guard computed == stored else {
      throw fail(
        "its SHA-256 \(Provenance.hex(computed)) does not match the digest it stores (\(Provenance.hex(stored))): the file was altered or damaged"
      )
    }
    let runID = try r.u64("the run nonce")
    guard runID == e.runID else {
      throw fail(String(format: "it belongs to run %016llx, not to this run (%016llx)", runID, e.runID))
    }
    let next = try r.u64("the round")
    guard next >= 1, next <= UInt64(e.rounds) else { throw fail("next round \(next) is outside 1...\(e.rounds) (the run's rounds)") }
    let p = try r.floats("the parameters", limit: e.parameterCount)
    guard p.count == e.parameterCount else { throw fail("it holds \(p.count) parameters, the model has \(e.parameterCount)") }
    let v = try r.floats("the velocity", limit: e.velocityCount)
    guard v.count == e.velocityCount else { throw fail("its velocity has \(v.count) values, expected \(e.velocityCount)") }
    let a = try r.floats("the aggregator state", limit: 1 << 28)
    let cusum = try r.doubles("the CUSUM", limit: 1 << 26)
    let auditors = try r.u64("the number of auditors")
    guard auditors == UInt64(e.auditorCount) || (auditors == 0 && cusum.isEmpty) else {
      throw fail("it holds the state of \(auditors) auditors, the run has \(e.auditorCount)")
    }
    let states = try (0..<Int(auditors)).map { try r.floats("auditor \($0)'s state", limit: 1 << 28) }
    try r.finish()
    for (name, values) in [("parameters", p), ("velocity", v), ("aggregator state", a)] + states.map({ ("auditor state", $0) }) {
      if let i = values.firstIndex(where: { !$0.isFinite }) {
        throw fail("its \(name) hold a non-finite value (\(values[i]) at index \(i))")
      }
    }
    if let i = cusum.firstIndex(where: { !$0.isFinite }) { throw fail("its CUSUM holds a non-finite value at index \(i)") }
    return Checkpoint(nextRound: Int(next), parameters: p, engine: EngineState(velocity: v, aggregator: a, cusum: cusum, auditors: states))
  }

  func write(to path: String, runID: UInt64) throws { try Files.writeAtomically(encoded(runID: runID), to: path) }
  static func read(_ path: String, expecting e: Expectation) throws -> Checkpoint {
    try decode(try Files.read(path), path: path, expecting: e)
  }
}

/// The final model file: "BZMD", version, then the parameter vector.
public enum ModelFile {
  public static func encoded(_ parameters: [Float]) -> [UInt8] {
    var w = BinaryWriter()
    w.magic("BZMD"); w.u32(1); w.floats(parameters)
    return w.bytes
  }

  public static func read(_ path: String) throws -> [Float] { try decode(try Files.read(path), path: path) }

  static func decode(_ bytes: [UInt8], path: String) throws -> [Float] {
    var r = BinaryReader(bytes, path: path)
    try r.magic("BZMD")
    guard try r.u32("the version") == 1 else { throw r.fail("unsupported model version") }
    let p = try r.floats("the parameters")
    try r.finish()
    return p
  }
}
