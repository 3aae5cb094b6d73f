/// The coordinator's resumable state: the next round to run, the global model and the
/// server optimizer's velocity. Written atomically every k rounds.
public struct Checkpoint: Equatable, Sendable {
  public var nextRound: Int
  public var parameters: [Float]
  public var velocity: [Float]
  /// The aggregator's history (centered clipping's centre, FoolsGold's per-worker sums).
  public var aggregatorState: [Float] = []

  func encoded() -> [UInt8] {
    var w = BinaryWriter()
    w.magic("BZCK"); w.u32(2); w.u64(UInt64(nextRound))
    w.floats(parameters); w.floats(velocity); w.floats(aggregatorState)
    return w.bytes
  }

  static func decode(_ bytes: [UInt8], path: String) throws -> Checkpoint {
    var r = BinaryReader(bytes, path: path)
    try r.magic("BZCK")
    guard try r.u32("the version") == 2 else { throw r.fail("unsupported checkpoint version (this byzsim reads version 2)") }
    let round = Int(try r.u64("the round"))
    let p = try r.floats("the parameters"), v = try r.floats("the velocity"), a = try r.floats("the aggregator state")
    try r.finish()
    return Checkpoint(nextRound: round, parameters: p, velocity: v, aggregatorState: a)
  }

  func write(to path: String) throws { try Files.writeAtomically(encoded(), to: path) }
  static func read(_ path: String) throws -> Checkpoint { try decode(try Files.read(path), path: path) }
}

/// The final model file: "BZMD", version, then the parameter vector.
public enum ModelFile {
  public static func write(_ parameters: [Float], to path: String) throws {
    var w = BinaryWriter()
    w.magic("BZMD"); w.u32(1); w.floats(parameters)
    try Files.writeAtomically(w.bytes, to: path)
  }

  public static func read(_ path: String) throws -> [Float] {
    var r = BinaryReader(try Files.read(path), path: path)
    try r.magic("BZMD")
    guard try r.u32("the version") == 1 else { throw r.fail("unsupported model version") }
    let p = try r.floats("the parameters")
    try r.finish()
    return p
  }
}
