import Covert
import Data
import Foundation
import Learning
import Tensor
import Transport

// Covert channels in a run: what the compromised worker sends, what the eavesdropper on the
// wire reads, and the receivers' measurement against the ground truth.

extension RunDirectory {
  var covertDirectory: String { file("covert") }
  /// The mantissa sender's own record of what it hid: one JSON line per round.
  func covertSentLog(_ worker: Int) -> String { file("covert/worker-\(worker).sent.jsonl") }
  /// What the wire eavesdropper recovered (binary records) and its traffic statistics.
  var eavesdroppedFile: String { file("covert/eavesdropped.bin") }
  var eavesdropperStatsFile: String { file("covert/eavesdropper.json") }
  /// Where workers connect when a wiretap sits in front of the coordinator.
  var tapEndpointFile: String { file("covert/tap.endpoint") }
  var tapSocketEndpoint: String { "ipc://" + file("covert/tap.sock") }
  public var covertReportFile: String { file("covert.json") }
}

/// What a covert worker's channel needs: its secret (its own shard's image bytes, image after
/// image) and the channel built from the group's parameters.
enum CovertSetup {
  /// The parameter encoding of a sign / correlated-value worker (nil for other channels).
  static func encoding(_ spec: RuleSpec, secret: [UInt8], parameterCount: Int, imageSize: Int) throws -> (any ParameterEncoding)? {
    func value(_ name: String) -> Double { CovertRegistry.parameter(name, of: spec.name, in: spec.params) }
    switch CovertChannel(rawValue: spec.name) {
    case .signEncoding:
      let params = Int(value("params"))
      let length = min(params == 0 ? parameterCount : min(params, parameterCount), secret.count * 8)
      return SignEncoding(bits: Array(bitsOf(Array(secret.prefix((length + 7) / 8))).prefix(length)), lambda: value("lambda"))
    case .correlatedValue:
      let length = correlatedLength(spec, parameterCount: parameterCount, imageSize: imageSize, secretCount: secret.count)
      return try CorrelatedValueEncoding(secret: Array(secret.prefix(length)), lambda: value("lambda"))
    default:
      return nil
    }
  }

  /// Secret values (pixels) a correlated-value worker encodes: whole images that fit.
  static func correlatedLength(_ spec: RuleSpec, parameterCount: Int, imageSize: Int, secretCount: Int) -> Int {
    let fit = parameterCount / imageSize
    let wanted = Int(CovertRegistry.parameter("images", of: spec.name, in: spec.params))
    let images = min(wanted == 0 ? fit : min(wanted, fit), secretCount / imageSize)
    return images * imageSize
  }

  static func capacityAbuse(_ spec: RuleSpec, topology: Topology, worker: Int, shape: ImageShape, classes: Int) throws -> CapacityAbuse {
    try CapacityAbuse(
      inputs: Int(CovertRegistry.parameter("inputs", of: spec.name, in: spec.params)), classes: classes, pixelsPerInput: shape.size,
      seed: topology.seed, worker: worker)
  }

  /// The bits capacity abuse sends: the first bits of the shard's pixels, whitened.
  static func capacitySecretBits(_ c: CapacityAbuse, secret: [UInt8]) -> [UInt8] {
    Array(bitsOf(c.whiten(Array(secret.prefix((c.capacityBits + 7) / 8)))).prefix(c.capacityBits))
  }

  /// The capacity-abuse worker's training set: its shard plus the labelled synthetic inputs,
  /// repeated so that they make up about `mix` of it (the attacker controls its own training mix,
  /// as the paper's malicious training code does).
  static func capacityAbuseShard(_ shard: Dataset, _ c: CapacityAbuse, mix: Double) -> Dataset {
    let secret = CompactDataset(shard).pixels
    let synthetic = c.syntheticPixels().map { Float($0) / 255 }
    let labels = c.labels(encoding: capacitySecretBits(c, secret: secret))
    let copies = max(1, Int((mix / (1 - mix) * Double(shard.count) / Double(c.inputs)).rounded()))
    var features = shard.features, all = shard.labels
    for _ in 0..<copies { features += synthetic; all += labels }
    return Dataset(features: features, labels: all, shape: shard.shape, classes: shard.classes)
  }
}

/// The sending side of a mantissa channel inside a worker.
final class MantissaSender {
  let channel: MantissaChannel
  let secret: [UInt8]
  let log: String

  init(bits: Int, secret: [UInt8], log: String) throws {
    channel = try MantissaChannel(bits: bits)
    self.secret = secret
    self.log = log
  }

  /// Hides round `round`'s chunk in `update` and records it.
  func embed(_ update: inout [Float], round: Int) {
    let (offset, length) = channel.send(secret: secret, round: round, into: &update)
    let line = Array("{\"round\":\(round),\"offset\":\(offset),\"length\":\(length)}\n".utf8)
    let fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
    guard fd >= 0 else { return }
    _ = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    close(fd)
  }
}

/// The receiver of mantissa channels: a passive wiretap in front of the coordinator that parses
/// the ZMTP stream of every worker connection and decodes hidden chunks from update frames it
/// can read. It knows the channel's format and bit width (it is the sender's accomplice), not
/// which worker sends, nor anything the coordinator holds.
final class Eavesdropper: @unchecked Sendable {
  struct Stats: Codable {
    var connections = 0
    var bytesObserved = 0
    var mechanisms: [String] = []
    var plaintextMessages = 0
    var encryptedMessages = 0
    var updateFrames = 0
    var chunksRecovered = 0
  }

  let run: RunDirectory
  let channels: [MantissaChannel]
  let lock = NSLock()
  var parsers: [Int: ZMTPStreamParser] = [:]
  var stats = Stats()
  let output: FileHandle
  var tap: WireTap?

  /// - resume: keep what an earlier part of the run recovered (records are appended).
  init(run: RunDirectory, topology: Topology, resume: Bool) throws {
    self.run = run
    let widths = Set(
      topology.covertWorkers(.mantissa).compactMap {
        topology.group(of: $0).group.covert.map { CovertRegistry.parameter("bits", of: $0.name, in: $0.params) }
      }.map { Int($0) })
    channels = try widths.sorted().map { try MantissaChannel(bits: $0) }
    // Records stream to disk as they are recovered (a long CNN run hides hundreds of MB).
    if !(resume && FileManager.default.fileExists(atPath: run.eavesdroppedFile)) {
      try Files.writeAtomically(Array("BZEV".utf8), to: run.eavesdroppedFile)
    }
    guard let h = FileHandle(forWritingAtPath: run.eavesdroppedFile) else {
      throw RuntimeError("cannot open \(run.eavesdroppedFile) for writing")
    }
    h.seekToEndOfFile()
    output = h
  }

  /// Starts relaying `upstream` (the coordinator's endpoint) and tells workers where to connect.
  func start(upstream: String) throws {
    let listen = upstream.hasPrefix("tcp://") ? "tcp://127.0.0.1:0" : run.tapSocketEndpoint
    let t = try WireTap(listen: listen, upstream: upstream) { [self] id, bytes in observe(id, bytes) }
    try Files.writeAtomically(Array(t.endpoint.utf8), to: run.tapEndpointFile)
    t.start()
    tap = t
  }

  func observe(_ connection: Int, _ bytes: UnsafeRawBufferPointer) {
    lock.lock(); defer { lock.unlock() }
    var p = parsers[connection] ?? ZMTPStreamParser()
    if parsers[connection] == nil { stats.connections += 1 }
    stats.bytesObserved += bytes.count
    let messages = p.feed(bytes)
    parsers[connection] = p
    for m in messages {
      guard m.count == 2, m[0].count == FrameHeader.size,
        case let .success(h) = m[0].withUnsafeBytes({ FrameDecoder.parseHeader($0) }),
        h.type == .update, m[1].count == Int(h.count) * 4
      else { continue }
      stats.updateFrames += 1
      // Read the floats in place: only a well-formed chunk's header and data are extracted.
      let found = m[1].withUnsafeBytes { raw in
        channels.lazy.compactMap { $0.receive(raw.bindMemory(to: Float.self)) }.first
      }
      if let chunk = found {
        stats.chunksRecovered += 1
        var record = BinaryWriter()
        record.u32(h.sender); record.u32(h.round); record.u64(UInt64(chunk.offset)); record.u32(UInt32(chunk.data.count))
        record.raw(chunk.data)
        output.write(Data(record.bytes))
      }
    }
  }

  /// Stops the tap and closes the records; writes the statistics. Idempotent.
  func finish() throws {
    guard let t = tap else { return }
    t.stop()
    tap = nil
    lock.lock(); defer { lock.unlock() }
    stats.mechanisms = Array(Set(parsers.values.compactMap(\.mechanism))).sorted()
    stats.plaintextMessages = parsers.values.reduce(0) { $0 + $1.messages }
    stats.encryptedMessages = parsers.values.reduce(0) { $0 + $1.encrypted }
    try output.synchronize()
    try output.close()
    try run.writeJSON(stats, to: run.eavesdropperStatsFile)
  }

  struct Record { var sender: Int, round: Int, offset: Int, data: [UInt8] }

  static func readRecords(_ path: String) throws -> [Record] {
    var r = BinaryReader(try Files.read(path), path: path)
    try r.magic("BZEV")
    var out: [Record] = []
    while r.remaining > 0 {
      let sender = Int(try r.u32("a sender")), round = Int(try r.u32("a round")), offset = Int(try r.u64("an offset"))
      let n = Int(try r.u32("a length"))
      out.append(Record(sender: sender, round: round, offset: offset, data: Array(try r.take(n, "chunk data"))))
    }
    return out
  }
}

/// One covert worker's channel, measured by its receiver against the ground truth.
public struct CovertResult: Codable, Sendable, Equatable {
  public var worker: Int
  public var channel: String
  public var parameters: [String: Double]
  /// Who reads it: "wire eavesdropper" or "final model (white-box)" / "final model (queries)".
  public var receiver: String
  /// Channel-specific figures (see README, Covert channels).
  public var measures: [String: Double]
}

public enum CovertReport {
  /// Nil when the run has no covert channel; otherwise every covert worker's result, also
  /// written to covert.json.
  public static func evaluate(_ run: RunDirectory) throws -> [CovertResult]? {
    let topology = try run.loadTopology()
    let workers = topology.covertWorkers()
    guard !workers.isEmpty else { return nil }
    let model = FileManager.default.fileExists(atPath: run.modelFile) ? try ModelFile.read(run.modelFile) : nil
    var results: [CovertResult] = []
    for w in workers {
      let spec = topology.group(of: w).group.covert!
      let shard = try ShardFile.decodeCompact(try Files.read(run.shardFile(w)), path: run.shardFile(w))
      let secret = shard.pixels
      var r = CovertResult(worker: w, channel: spec.name, parameters: spec.params, receiver: "", measures: [:])
      switch CovertChannel(rawValue: spec.name) {
      case .mantissa:
        r.receiver = "wire eavesdropper"
        r.measures = try mantissa(
          run, worker: w, spec: spec, secret: secret,
          parameterCount: topology.model.makeNetwork(input: shard.shape, classes: shard.classes, seed: 0).parameterCount)
      case .signEncoding, .correlatedValue:
        r.receiver = "final model (white-box)"
        guard let model else {
          throw RuntimeError("\(run.modelFile) is missing: the run did not finish, so the covert receiver has no model to read")
        }
        r.measures = try parameterEncoding(spec, model: model, shard: shard, topology: topology)
      case .capacityAbuse:
        r.receiver = "final model (queries)"
        guard let model else {
          throw RuntimeError("\(run.modelFile) is missing: the run did not finish, so the covert receiver has no model to query")
        }
        r.measures = try capacityAbuse(spec, model: model, shard: shard, worker: w, topology: topology)
      case nil:
        throw RuntimeError("covert channel \(spec.name) has no receiver")
      }
      results.append(r)
    }
    try run.writeJSON(results, to: run.covertReportFile)
    return results
  }

  /// Song et al.'s white-box receivers on the final model, next to the same receiver on the
  /// initial model (seeded, never trained): what it reads when nothing was encoded.
  static func parameterEncoding(_ spec: RuleSpec, model: [Float], shard: CompactDataset, topology: Topology) throws -> [String: Double] {
    let secret = shard.pixels
    let enc = try CovertSetup.encoding(spec, secret: secret, parameterCount: model.count, imageSize: shard.shape.size)!
    // The same receiver applied to the initial model (seeded, never trained): what it reads
    // when nothing was encoded — the baseline each figure is compared with.
    let initial = topology.model.makeNetwork(input: shard.shape, classes: shard.classes, seed: topology.seed).parameters
    if let sign = enc as? SignEncoding {
      let truth = sign.signs.map { UInt8($0 > 0 ? 1 : 0) }
      func accuracy(_ theta: [Float]) -> Double {
        Double(zip(truth, SignEncoding.decode(theta, count: sign.length)).filter { $0 == $1 }.count) / Double(sign.length)
      }
      let bytes = sign.length / 8
      let got = SignEncoding.decode(model, count: sign.length)
      return [
        "bits": Double(sign.length), "bit_accuracy": accuracy(model), "initial_bit_accuracy": accuracy(initial),
        "pixel_error": bytes > 0 ? meanAbsolutePixelError(Array(bytesOf(got).prefix(bytes)), Array(secret.prefix(bytes))) : 0,
      ]
    } else if let cv = enc as? CorrelatedValueEncoding {
      let truth = Array(secret.prefix(cv.length))
      return [
        "images": Double(cv.length / shard.shape.size),
        "pixel_error": meanAbsolutePixelError(CorrelatedValueEncoding.decode(model, count: cv.length), truth),
        "initial_pixel_error": meanAbsolutePixelError(CorrelatedValueEncoding.decode(initial, count: cv.length), truth),
        "correlation": abs(model.withUnsafeBufferPointer { cv.correlation($0).rho }),
      ]
    }
    return [:]
  }

  /// The capacity-abuse receiver on the final model file, every synthetic input answered.
  static func capacityAbuse(
    _ spec: RuleSpec, model: [Float], shard: CompactDataset, worker w: Int, topology: Topology
  ) throws -> [String: Double] {
    let receiver = try CapacityAbuseReceiver(spec, shard: shard, worker: w, topology: topology)
    let net = topology.model.makeNetwork(input: shard.shape, classes: shard.classes, seed: topology.seed)
    net.parameters = model
    let predicted = receiver.inputs.withUnsafeBufferPointer { net.predict($0.baseAddress!, count: receiver.count) }
    return receiver.measure(predicted)
  }

  static func mantissa(_ run: RunDirectory, worker: Int, spec: RuleSpec, secret: [UInt8], parameterCount: Int) throws -> [String: Double] {
    struct Sent: Codable { var round: Int, offset: Int, length: Int }
    let sent: [Sent] =
      (try? String(contentsOfFile: run.covertSentLog(worker), encoding: .utf8))?
      .split(separator: "\n").compactMap { try? JSONDecoder().decode(Sent.self, from: Data($0.utf8)) } ?? []
    let records = FileManager.default.fileExists(atPath: run.eavesdroppedFile) ? try Eavesdropper.readRecords(run.eavesdroppedFile) : []
    var byRound: [Int: Eavesdropper.Record] = [:]
    for rec in records where rec.sender == worker { byRound[rec.round] = rec }
    var sentBytes = 0, correct = 0
    var covered = Set<Int>()
    for s in sent {
      sentBytes += s.length
      guard let rec = byRound[s.round], rec.offset == s.offset else { continue }
      for i in 0..<min(s.length, rec.data.count) where rec.data[i] == secret[(s.offset + i) % secret.count] {
        correct += 1
        covered.insert((s.offset + i) % secret.count)
      }
    }
    let channel = try MantissaChannel(bits: Int(CovertRegistry.parameter("bits", of: spec.name, in: spec.params)))
    return [
      "bytes_per_round": Double(min(channel.payloadCapacity(floats: parameterCount), secret.count)), "rounds": Double(sent.count),
      "bytes_sent": Double(sentBytes), "bytes_recovered": Double(correct),
      "fraction_recovered": sentBytes > 0 ? Double(correct) / Double(sentBytes) : 0,
      "secret_bytes": Double(secret.count), "secret_fraction_recovered": Double(covered.count) / Double(max(1, secret.count)),
    ]
  }
}

/// The receiver of one run's capacity-abuse channel (Song et al. 2017, §5): it regenerates the
/// synthetic inputs from the seed it shares with the sending worker, has them answered — by the
/// final model file, or by `byzsim serve` through its output policy, budget, rate limit and query
/// auditor (`byzsim attack leak`) — and reads the bits back from the predicted labels. It is
/// measured against the ground truth the run holds: the worker's shard.
public struct CapacityAbuseReceiver: Sendable {
  public let worker: Int
  let channel: CapacityAbuse
  /// The whitened secret bits the worker's labels carry.
  let bits: [UInt8]
  /// What the same inputs get from the seeded, never-trained model: the no-channel baseline.
  let initialPredictions: [Int32]

  /// The receiver of `worker` (default: the run's only capacity-abuse worker) in `run`.
  public init(run: RunDirectory, worker: Int? = nil) throws {
    let topology = try run.loadTopology()
    let candidates = topology.covertWorkers(.capacityAbuse)
    guard !candidates.isEmpty else { throw RuntimeError("\(run.path): no worker of this run sends a capacity_abuse channel") }
    let w: Int
    if let worker {
      guard candidates.contains(worker) else {
        throw RuntimeError("\(run.path): worker \(worker) sends no capacity_abuse channel (workers that do: \(candidates))")
      }
      w = worker
    } else {
      guard candidates.count == 1 else { throw RuntimeError("\(run.path): workers \(candidates) send capacity_abuse channels; choose one") }
      w = candidates[0]
    }
    let shard = try ShardFile.decodeCompact(try Files.read(run.shardFile(w)), path: run.shardFile(w))
    try self.init(topology.group(of: w).group.covert!, shard: shard, worker: w, topology: topology)
  }

  init(_ spec: RuleSpec, shard: CompactDataset, worker w: Int, topology: Topology) throws {
    worker = w
    channel = try CovertSetup.capacityAbuse(spec, topology: topology, worker: w, shape: shard.shape, classes: shard.classes)
    bits = CovertSetup.capacitySecretBits(channel, secret: shard.pixels)
    let net = topology.model.makeNetwork(input: shard.shape, classes: shard.classes, seed: topology.seed)
    let x = channel.syntheticPixels().map { Float($0) / 255 }
    let n = channel.inputs
    initialPredictions = x.withUnsafeBufferPointer { net.predict($0.baseAddress!, count: n) }
  }

  /// How many synthetic inputs there are, and the values of each (pixels in [0, 1]).
  public var count: Int { channel.inputs }
  public var inputSize: Int { channel.pixelsPerInput }
  public var classes: Int { channel.classes }
  /// The synthetic inputs, one after another.
  public var inputs: [Float] { channel.syntheticPixels().map { Float($0) / 255 } }

  /// The receiver's figures for the labels of the first `predicted.count` inputs (the rest went
  /// unanswered): "inputs", "answered", "bits" (capacity), "bit_accuracy" (of the answered
  /// inputs' bits), "label_accuracy" and "bits_recovered" (labels read right, over all inputs,
  /// and the bits they carry), "leaked_bits" (Shannon information the answered labels carry,
  /// estimated as a 2^k-ary symmetric channel with the measured label accuracy),
  /// "initial_label_accuracy" and "chance_label_accuracy" (the baselines).
  public func measure(_ predicted: [Int32]) -> [String: Double] {
    let answered = min(predicted.count, count), k = channel.bitsPerLabel
    let labels = channel.labels(encoding: bits)
    let decoded = channel.bits(decoding: Array(predicted.prefix(answered)))
    let correctBits = zip(bits, decoded).filter { $0 == $1 }.count
    let correctLabels = zip(labels, predicted.prefix(answered)).filter { $0 == $1 }.count
    let a = answered > 0 ? Double(correctLabels) / Double(answered) : 0
    let symbols = Double(1 << k)
    return [
      "inputs": Double(count), "answered": Double(answered), "bits": Double(bits.count),
      "bit_accuracy": answered > 0 ? Double(correctBits) / Double(min(bits.count, answered * k)) : 0,
      "label_accuracy": Double(correctLabels) / Double(count), "bits_recovered": Double(correctLabels * k),
      "leaked_bits": Double(answered) * Self.information(accuracy: a, bitsPerLabel: k),
      "initial_label_accuracy": Double(zip(labels, initialPredictions).filter { $0 == $1 }.count) / Double(count),
      "chance_label_accuracy": 1 / symbols,
    ]
  }

  /// Bits one label carries through a 2^k-ary symmetric channel that is right with probability
  /// `a`: k + a·log₂a + (1 − a)·log₂((1 − a)/(2^k − 1)); 0 at or below chance (a = 2^−k), where
  /// a receiver that reads labels as they come learns nothing.
  public static func information(accuracy a: Double, bitsPerLabel k: Int) -> Double {
    let symbols = Double(1 << k)
    guard a > 1 / symbols else { return 0 }
    var bits = Double(k)
    if a > 0 { bits += a * log2(a) }
    if a < 1 { bits += (1 - a) * log2((1 - a) / (symbols - 1)) }
    return max(0, bits)
  }
}
