import Foundation
import TestSupport
import Testing
@testable import Data
import Federation
import Learning
import Tensor
@testable import Runtime
@testable import Transport

/// Issue 11's findings, one test each, without processes: secrets, bundles, the run nonce,
/// checkpoints, manifest checks, topology limits, data shapes and the refusal log.
@Suite(.serialized) struct TrustBoundaryTests {
  /// A 6×6 two-class IDX data set (plain, not gzip): class k lights up the left or right half.
  static func dataset(train: Int = 120, test: Int = 40, testSide: Int = 6) -> String {
    let dir = Scratch.directory("byzsim-tb-data")
    func be32(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 255), UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)] }
    for (name, count, side) in [("train", train, 6), ("t10k", test, testSide)] {
      var images: [UInt8] = [0, 0, 8, 3] + be32(count) + be32(side) + be32(side)
      var labels: [UInt8] = [0, 0, 8, 1] + be32(count)
      for i in 0..<count {
        let label = i % 2
        labels.append(UInt8(label))
        for p in 0..<(side * side) { images.append((p % side < side / 2) == (label == 0) ? 220 : UInt8((i * 13 + p * 7) % 40)) }
      }
      try! Data(images).write(to: dir.appendingPathComponent("\(name)-images-idx3-ubyte"))
      try! Data(labels).write(to: dir.appendingPathComponent("\(name)-labels-idx1-ubyte"))
    }
    return dir.path
  }

  static func topology(
    _ data: String, curve: Bool = true, workers: Int = 3, extra: String = "", model: String = "logreg"
  ) throws -> Topology {
    try Topology.decode(
      """
      name = "tb"
      rounds = 4
      [data]
      dir = "\(data)"
      [model]
      kind = "\(model)"
      [coordinator]
      endpoint = "tcp://127.0.0.1:0"
      \(extra)
      [[workers]]
      count = \(workers)
      [security]
      curve = \(curve)
      """, file: "tb.toml")
  }

  static func prepare(_ t: Topology) throws -> RunDirectory {
    try Launcher.prepare(t, runsRoot: Scratch.directory("byzsim-tb").path)
  }

  static func mode(_ path: String) -> mode_t {
    var st = stat()
    #expect(stat(path, &st) == 0, "stat \(path)")
    return st.st_mode & 0o777
  }

  // MARK: Secrets

  @Test func secretsAreOwnerOnlyFromCreation() throws {
    let run = try Self.prepare(try Self.topology(Self.dataset()))
    #expect(Self.mode(run.path + "/keys") == 0o700)
    let files = try FileManager.default.contentsOfDirectory(atPath: run.path + "/keys")
    let secrets = files.filter { $0.hasSuffix(".secret") }
    #expect(secrets.sorted() == ["coordinator.secret", "worker-0.secret", "worker-1.secret", "worker-2.secret"])
    for s in secrets { #expect(Self.mode(run.path + "/keys/" + s) == 0o600, "\(s)") }
    // The atomic writer creates the file with its final mode: never a 0644 moment.
    let probe = run.path + "/keys/probe.secret"
    let old = umask(0)
    defer { umask(old) }
    try Files.writeAtomically(Array("x".utf8), to: probe, mode: 0o600)
    #expect(Self.mode(probe) == 0o600)
  }

  @Test func eachRoleLoadsOnlyItsOwnSecret() throws {
    let t = try Self.topology(Self.dataset())
    let run = try Self.prepare(t)
    let bundleDir = run.path + "-hostB"
    let bundle = try Launcher.bundle(run, roles: [.worker(1), .worker(2)], to: bundleDir)
    let keys = try FileManager.default.contentsOfDirectory(atPath: bundle.path + "/keys").sorted()
    #expect(keys == ["public.json", "signing.pub", "worker-1.secret", "worker-2.secret"])  // public keys, and only these secrets
    #expect(Self.mode(bundle.path + "/keys") == 0o700)
    let shards = try FileManager.default.contentsOfDirectory(atPath: bundle.path + "/shards").sorted()
    #expect(shards == ["worker-1.bin", "worker-2.bin"])
    // A worker of the bundle loads its wiring and its shard with no other secret present.
    let w = try Wiring.load(run: bundle, topology: t, role: .worker(1), threads: false)
    #expect(w.ownKeys?.publicKey == w.workerPublicKeys[1])
    #expect(w.coordinatorPublicKey != nil)
    _ = try Worker(id: 1, run: bundle, topology: t, wiring: w, context: try Context())
    // The coordinator's role cannot load from the bundle: its secret is not there.
    #expect(throws: FileFormatError.self) { try Wiring.load(run: bundle, topology: t, role: .coordinator, threads: false) }
    #expect(throws: FileFormatError.self) { try Worker(id: 0, run: bundle, topology: t, wiring: w, context: try Context()) }
    // In the full run directory, a worker no longer needs the coordinator's secret either.
    try FileManager.default.removeItem(atPath: run.secretKeyFile("coordinator"))
    #expect(try Wiring.load(run: run, topology: t, role: .worker(0), threads: false).ownKeys != nil)
  }

  @Test func runIDIsAFreshNonceNotTheSeed() throws {
    let t = try Self.topology(Self.dataset())
    let a = try Wiring.load(run: try Self.prepare(t), topology: t, role: .launcher, threads: true)
    let b = try Wiring.load(run: try Self.prepare(t), topology: t, role: .launcher, threads: true)
    #expect(a.runID != b.runID)
    #expect(a.runID != t.seed && b.runID != t.seed)
    #expect(a.modelSize == 6 * 6 * 10 + 10)  // logreg on 6×6 images, 10 classes (Fashion-MNIST-style IDX)
  }

  // MARK: Checkpoints

  /// A version-4 checkpoint built by hand from its documented layout.
  static func checkpointBytes(
    run: UInt64, next: UInt64, parameters: [Float], velocity: [Float], state: [Float] = [],
    cusum: [Double] = [], auditors: [[Float]] = [], version: UInt32 = 4
  ) -> [UInt8] {
    var b = Array("BZCK".utf8)
    func le<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { b += $0 } }
    le(version); le(run); le(next)
    for v in [parameters, velocity, state] { le(UInt64(v.count)); for x in v { le(x.bitPattern) } }
    le(UInt64(cusum.count)); for x in cusum { le(x.bitPattern) }
    le(UInt64(auditors.count))
    for v in auditors { le(UInt64(v.count)); for x in v { le(x.bitPattern) } }
    return b + Provenance.sha256(b)
  }

  @Test func checkpointsAreValidatedFieldByField() throws {
    let e = Checkpoint.Expectation(runID: 0xABCD, rounds: 10, parameterCount: 3, velocityCount: 3, auditorCount: 1)
    let cusum: [Double] = [1, 2, 0.1 + 0.2, 1, 0, 0, 1, 2]  // worker 2 at 0.30000000000000004, exact
    let good = Self.checkpointBytes(run: 0xABCD, next: 4, parameters: [1, 2, 3], velocity: [0, 0.5, -1], cusum: cusum, auditors: [[]])
    let cp = try Checkpoint.decode(good, path: "cp", expecting: e)
    #expect(
      cp.nextRound == 4 && cp.parameters == [1, 2, 3] && cp.engine == EngineState(velocity: [0, 0.5, -1], cusum: cusum, auditors: [[]]))
    #expect(Checkpoint(nextRound: 4, parameters: [1, 2, 3], engine: cp.engine).encoded(runID: 0xABCD) == good)
    let noAudit = Checkpoint.Expectation(runID: 0xABCD, rounds: 10, parameterCount: 3, velocityCount: 3, auditorCount: 0)
    func refused(_ bytes: [UInt8], _ words: String) {
      do {
        _ = try Checkpoint.decode(bytes, path: "cp", expecting: noAudit)
        Issue.record("accepted: \(words)")
      } catch let error as FileFormatError {
        #expect(error.message.contains(words), "\(error.message)")
      } catch {
        Issue.record("unexpected error \(error)")
      }
    }
    // Every single bit flip anywhere is caught (by the digest, or by the magic).
    for bit in stride(from: 0, to: good.count * 8, by: 7) {
      var b = good
      b[bit / 8] ^= UInt8(1 << (bit % 8))
      #expect(throws: FileFormatError.self) { try Checkpoint.decode(b, path: "cp", expecting: e) }
    }
    refused(Self.checkpointBytes(run: 0xABCD, next: 0, parameters: [1, 2, 3], velocity: [0, 0, 0]), "next round 0")
    refused(Self.checkpointBytes(run: 0xABCD, next: 17_939, parameters: [1, 2, 3], velocity: [0, 0, 0]), "outside 1...10")
    refused(Self.checkpointBytes(run: 0x1234, next: 4, parameters: [1, 2, 3], velocity: [0, 0, 0]), "belongs to run")
    refused(Self.checkpointBytes(run: 0xABCD, next: 4, parameters: [1, 2, 3], velocity: [0]), "velocity has 1 values")
    refused(Self.checkpointBytes(run: 0xABCD, next: 4, parameters: [1, 2], velocity: [0, 0, 0]), "holds 2 parameters")
    refused(Self.checkpointBytes(run: 0xABCD, next: 4, parameters: [1, .nan, 3], velocity: [0, 0, 0]), "non-finite")
    refused(Self.checkpointBytes(run: 0xABCD, next: 4, parameters: [1, 2, 3], velocity: [0, .infinity, 0]), "non-finite")
    refused(Self.checkpointBytes(run: 0xABCD, next: 4, parameters: [1, 2, 3], velocity: [0, 0, 0], version: 3), "version 3")
    refused(
      Self.checkpointBytes(run: 0xABCD, next: 4, parameters: [1, 2, 3], velocity: [0, 0, 0], cusum: [0, 0, 0, 0], auditors: [[], []]),
      "state of 2 auditors")
    refused(
      Self.checkpointBytes(run: 0xABCD, next: 4, parameters: [1, 2, 3], velocity: [0, 0, 0], cusum: [.nan], auditors: []), "non-finite")
    refused(Array(good.dropLast(5)), "does not match")
    refused(Array("BZMD".utf8) + good.dropFirst(4), "no BZCK magic")
  }

  // MARK: Manifest

  @Test func inputsChangedAfterPrepareAreRefusedByName() throws {
    let data = Self.dataset()
    let t = try Self.topology(data, curve: false)
    let run = try Self.prepare(t)
    let wiring = try Wiring.load(run: run, topology: t, role: .launcher, threads: true)
    // A flipped pixel in one shard.
    var shard = try Files.read(run.shardFile(1))
    shard[40] ^= 1
    try Data(shard).write(to: URL(fileURLWithPath: run.shardFile(1)))
    do {
      _ = try Worker(id: 1, run: run, topology: t, wiring: wiring, context: try Context())
      Issue.record("a changed shard was accepted")
    } catch let e as FileFormatError {
      #expect(e.path == run.shardFile(1) && e.message.contains("does not match the run's manifest"))
    }
    #expect(throws: FileFormatError.self) { try Integrity.checkShards(run) }
    // Swapped shards.
    shard[40] ^= 1
    try Data(shard).write(to: URL(fileURLWithPath: run.shardFile(0)))
    #expect(throws: FileFormatError.self) { try Worker(id: 0, run: run, topology: t, wiring: wiring, context: try Context()) }
    // A shard from another run of the same topology (same seed, same data): identical bytes
    // are the same shard, so take one with other data.
    let other = try Self.prepare(try Self.topology(Self.dataset(train: 140), curve: false))
    try Data(try Files.read(other.shardFile(2))).write(to: URL(fileURLWithPath: run.shardFile(2)))
    #expect(throws: FileFormatError.self) { try Worker(id: 2, run: run, topology: t, wiring: wiring, context: try Context()) }
    // Test labels changed between a kill and a resume: the coordinator refuses to start.
    let labels = data + "/t10k-labels-idx1-ubyte"
    var l = try Files.read(labels)
    l[8] ^= 1
    try Data(l).write(to: URL(fileURLWithPath: labels))
    do {
      _ = try Coordinator(run: run, topology: t, wiring: wiring, context: try Context(), resume: true)
      Issue.record("changed test labels were accepted")
    } catch let e as FileFormatError {
      #expect(e.path == labels && e.message.contains("manifest"))
    }
  }

  // MARK: Data shapes and model sizes

  @Test func dataThatDoesNotFitTheModelIsRefusedAtPrepare() throws {
    #expect(throws: RuntimeError.self) { try Self.prepare(try Self.topology(Self.dataset(testSide: 5))) }
    // The CNN needs 10×10 images at least: a clear error, not a crash.
    do {
      _ = try Self.prepare(try Self.topology(Self.dataset(), model: "cnn"))
      Issue.record("a CNN on 6×6 images was prepared")
    } catch let e as RuntimeError {
      #expect(e.message.contains("at least 10×10"))
    }
    // The analytic parameter count matches the built networks (what manifests record).
    for (spec, shape) in [
      (ModelSpec(kind: .cnn), ImageShape(height: 28, width: 28, channels: 1)),
      (ModelSpec(kind: .cnn), ImageShape(height: 13, width: 11, channels: 3)),
      (ModelSpec(kind: .mlp, hidden: [7, 5]), ImageShape(height: 6, width: 6, channels: 1)),
      (ModelSpec(kind: .logreg), ImageShape(height: 28, width: 28, channels: 1)),
    ] {
      #expect(spec.parameterCount(input: shape, classes: 10) == spec.makeNetwork(input: shape, classes: 10, seed: 1).parameterCount)
    }
    #expect(ModelSpec(kind: .mlp, hidden: [1_000_000_000]).problem(input: ImageShape(height: 28, width: 28, channels: 1)) != nil)
    #expect(
      ModelSpec(kind: .mlp, hidden: [60_000, 60_000]).problem(input: ImageShape(height: 28, width: 28, channels: 1))?.contains("at most")
        == true)
  }

  // MARK: Refusals

  @Test func refusalsAreLoggedAtOnceAndRateLimitedPerPeer() throws {
    let run = try Self.prepare(try Self.topology(Self.dataset(), curve: false))
    let log = RefusalLog(run: run, interval: .milliseconds(200))
    for _ in 0..<5_000 { log.record(peer: "10.0.0.9", what: "impersonation: claimed id 1") }
    log.record(peer: "10.0.0.7", what: "refused connection from 10.0.0.7")
    var events = try String(contentsOfFile: run.eventsFile, encoding: .utf8)
    // The first of each peer is written at once, before any end of run.
    #expect(events.contains("impersonation: claimed id 1") && events.contains("refused connection from 10.0.0.7"))
    #expect(events.split(separator: "\n").filter { $0.contains("impersonation") }.count == 1)
    usleep(250_000)
    log.record(peer: "10.0.0.9", what: "impersonation: claimed id 1")
    log.flush()
    events = try String(contentsOfFile: run.eventsFile, encoding: .utf8)
    let lines = events.split(separator: "\n").filter { $0.contains("impersonation") }
    #expect(lines.count == 2, "\(lines)")
    #expect(lines.last?.contains("4999 more like it") == true && lines.last?.contains("5001 in all") == true, "\(lines)")
  }
}
