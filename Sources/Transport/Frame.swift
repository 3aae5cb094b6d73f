/// The ByzSim wire format. A message is a fixed 32-byte header frame, plus — for models and
/// updates — one raw little-endian Float32 payload frame.
///
/// Header layout (little-endian):
///
///     offset  size  field
///      0      4     magic "BZS1"
///      4      2     protocol version (1)
///      6      1     type (FrameType)
///      7      1     dtype (0 none, 1 float32, 2 bytes: secure aggregation)
///      8      8     run id (the run's random nonce, drawn by `prepare`)
///     16      4     round
///     20      4     sender id (worker id; 0xFFFF_FFFF for the coordinator)
///     24      4     element count of the payload
///     28      4     aux: samples behind an update, shard size in a hello; 0 otherwise
public struct FrameHeader: Sendable, Equatable {
  public static let size = 32
  public static let magic: [UInt8] = Array("BZS1".utf8)
  public static let version: UInt16 = 1
  public static let coordinatorID: UInt32 = 0xFFFF_FFFF

  public var type: FrameType
  public var dtype: DType
  public var runID: UInt64
  public var round: UInt32
  public var sender: UInt32
  public var count: UInt32
  public var aux: UInt32

  public init(type: FrameType, dtype: DType = .none, runID: UInt64, round: UInt32, sender: UInt32, count: UInt32 = 0, aux: UInt32 = 0) {
    self.type = type; self.dtype = dtype; self.runID = runID; self.round = round
    self.sender = sender; self.count = count; self.aux = aux
  }

  public func encoded() -> [UInt8] {
    var b = Self.magic
    b.reserveCapacity(Self.size)
    func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { b.append(contentsOf: $0) } }
    put(Self.version); b.append(type.rawValue); b.append(dtype.rawValue)
    put(runID); put(round); put(sender); put(count); put(aux)
    return b
  }
}

public enum FrameType: UInt8, Sendable, CaseIterable {
  /// worker → coordinator: join (or rejoin) the run.
  case hello = 1
  /// coordinator → worker: accepted; round = the next round.
  case welcome = 2
  /// coordinator → worker: the global model for `round` (payload: d floats).
  case model = 3
  /// worker → coordinator: the update for `round` (payload: d floats, aux: samples).
  case update = 4
  /// either way: liveness.
  case heartbeat = 5
  /// coordinator → worker: the run is over.
  case shutdown = 6
  /// adversary hub → malicious worker: submit nothing this round.
  case drop = 7
  /// coordinator → adversary hub (omniscient runs): the round's participant ids (payload: count floats).
  case roster = 8
  // Secure aggregation (one instance per round, after the model; payloads are the
  // `SecureAggregation` module's messages, bytes):
  /// worker → coordinator: the round's two public keys (aux: samples behind the update to come).
  case secAggAdvertise = 9
  /// coordinator → worker: the roster U1 with everyone's public keys and the threshold.
  case secAggRoster = 10
  /// worker → coordinator: its encrypted key shares, one per other participant.
  case secAggShares = 11
  /// coordinator → worker: the shares addressed to it from U2.
  case secAggForward = 12
  /// worker → coordinator: its masked input (d little-endian UInt64s).
  case secAggMasked = 13
  /// coordinator → worker: the survivors U3.
  case secAggSurvivors = 14
  /// worker → coordinator: its shares of the survivors' self-mask seeds and the dropped' keys.
  case secAggReveal = 15
  /// worker → coordinator, before its hello: its start-up measurement (JSON; `security.attestation`).
  case attest = 16
  // Logical clients (a pool process simulates the round's clients assigned to it):
  /// coordinator → pool process, after the round's model: the clients it runs (little-endian
  /// UInt32 ids, ascending).
  case assign = 17
  /// pool process → coordinator (or → adversary hub, an attacking client's honest update; and
  /// back, the crafted one): one client's update for `round` (payload: d floats, aux: client id).
  case clientUpdate = 18

  /// Whether this type carries a Float32 payload frame.
  public var hasPayload: Bool { self == .model || self == .update || self == .roster || self == .clientUpdate }
  /// Whether this type carries a byte payload frame (secure aggregation, attestation, assignments).
  public var hasBytes: Bool {
    (rawValue >= FrameType.secAggAdvertise.rawValue && rawValue <= FrameType.attest.rawValue) || self == .assign
  }
}

public enum DType: UInt8, Sendable {
  case none = 0
  case float32 = 1
  /// Opaque bytes; `count` is the byte count.
  case bytes = 2
}

/// Why a received message was dropped. Raw values are the stable names used in
/// `rejected_frames` (metrics and `--json`).
public enum RejectReason: String, Error, Sendable, CaseIterable, Codable, CodingKeyRepresentable {
  case frameCount = "frame_count"
  case headerLength = "header_length"
  case badMagic = "bad_magic"
  case unsupportedVersion = "unsupported_version"
  case unknownType = "unknown_type"
  case badDType = "bad_dtype"
  case wrongRunID = "wrong_run_id"
  case unknownSender = "unknown_sender"
  case impersonation = "impersonation"
  case wrongLength = "wrong_length"
  case payloadLength = "payload_length"
  case reservedField = "reserved_field"
  case nonFinite = "non_finite"
  case normTooLarge = "norm_too_large"
  case staleRound = "stale_round"
  case futureRound = "future_round"
  case late = "late"
  case duplicate = "duplicate"
  case unexpectedType = "unexpected_type"
  /// An update or hello whose sample count differs from what the coordinator assigned.
  case sampleCountMismatch = "sample_count_mismatch"
  /// A secure-aggregation message the protocol refuses (wrong phase, shape, sender or round).
  case secureAggregation = "secure_aggregation"
  /// A worker whose start-up measurement departs from the expected one, or that sent none
  /// (`security.attestation = "enforce"`).
  case attestationMismatch = "attestation_mismatch"
  /// A pool process's update for a logical client the coordinator did not give it this round.
  case unassignedClient = "unassigned_client"
}

/// A decoded, validated message.
public struct Frame: Sendable {
  public let header: FrameHeader
  /// The payload for models and updates (count floats), empty otherwise.
  public let payload: [Float]
  /// The payload of secure-aggregation messages, empty otherwise.
  public var bytes: [UInt8] = []
}

/// Validates and decodes messages. Every check the header allows is made before a byte of
/// payload is trusted; a failure is a `RejectReason`, never a crash.
public struct FrameDecoder: Sendable {
  public let runID: UInt64
  /// Number of floats a model or update must carry (the model size).
  public let modelSize: Int
  /// Valid sender ids are 0..<workerCount, or the coordinator's id.
  public let workerCount: Int
  /// Logical clients of the run (0 without): an assignment lists at most this many ids.
  public let clientCount: Int

  /// The largest start-up measurement accepted (a few hundred mapped files).
  public static let maxAttestation = 262_144

  public init(runID: UInt64, modelSize: Int, workerCount: Int, clientCount: Int = 0) {
    self.runID = runID; self.modelSize = modelSize; self.workerCount = workerCount; self.clientCount = clientCount
  }

  /// Parses just the header bytes.
  public static func parseHeader(_ h: UnsafeRawBufferPointer) -> Result<FrameHeader, RejectReason> {
    guard h.count == FrameHeader.size else { return .failure(.headerLength) }
    guard h[0] == 0x42, h[1] == 0x5A, h[2] == 0x53, h[3] == 0x31 else { return .failure(.badMagic) }
    func get<T: FixedWidthInteger>(_ offset: Int, _: T.Type) -> T { T(littleEndian: h.loadUnaligned(fromByteOffset: offset, as: T.self)) }
    guard get(4, UInt16.self) == FrameHeader.version else { return .failure(.unsupportedVersion) }
    guard let type = FrameType(rawValue: h[6]) else { return .failure(.unknownType) }
    guard let dtype = DType(rawValue: h[7]) else { return .failure(.badDType) }
    return .success(
      FrameHeader(
        type: type, dtype: dtype, runID: get(8, UInt64.self), round: get(16, UInt32.self),
        sender: get(20, UInt32.self), count: get(24, UInt32.self), aux: get(28, UInt32.self)))
  }

  /// Decodes the frames of one message (without any routing-id frame).
  public func decode(_ frames: [UnsafeRawBufferPointer]) -> Result<Frame, RejectReason> {
    guard frames.count == 1 || frames.count == 2 else { return .failure(.frameCount) }
    let header: FrameHeader
    switch Self.parseHeader(frames[0]) {
    case let .success(h): header = h
    case let .failure(r): return .failure(r)
    }
    guard header.runID == runID else { return .failure(.wrongRunID) }
    guard header.sender == FrameHeader.coordinatorID || Int(header.sender) < workerCount else { return .failure(.unknownSender) }
    if header.type.hasBytes {
      guard header.dtype == .bytes else { return .failure(.badDType) }
      guard frames.count == 2 else { return .failure(.frameCount) }
      // A masked input is exactly d UInt64s; every other message is small (keys, shares, ids).
      let bound =
        switch header.type {
        case .secAggMasked: modelSize * 8
        case .attest: FrameDecoder.maxAttestation
        case .assign: 4 * clientCount
        default: 4096 + workerCount * 256
        }
      guard header.type != .assign || header.count % 4 == 0 else { return .failure(.wrongLength) }
      guard header.type != .secAggMasked || Int(header.count) == bound else { return .failure(.wrongLength) }
      guard Int(header.count) <= bound else { return .failure(.wrongLength) }
      guard frames[1].count == Int(header.count) else { return .failure(.payloadLength) }
      return .success(Frame(header: header, payload: [], bytes: Array(frames[1])))
    }
    if header.type.hasPayload {
      guard header.dtype == .float32 else { return .failure(.badDType) }
      guard frames.count == 2 else { return .failure(.frameCount) }
      let expected = header.type == .roster ? Int(header.count) : modelSize
      guard header.type != .roster || Int(header.count) <= workerCount else { return .failure(.wrongLength) }
      guard Int(header.count) == expected else { return .failure(.wrongLength) }
      guard frames[1].count == expected * 4 else { return .failure(.payloadLength) }
      let payload = [Float](unsafeUninitializedCapacity: expected) { buf, n in
        UnsafeMutableRawBufferPointer(buf).copyMemory(from: frames[1])
        n = expected
      }
      #if _endian(big)
      let fixed = payload.map { Float(bitPattern: UInt32(littleEndian: $0.bitPattern)) }
      return .success(Frame(header: header, payload: fixed))
      #else
      return .success(Frame(header: header, payload: payload))
      #endif
    }
    guard header.dtype == .none else { return .failure(.badDType) }
    guard frames.count == 1 else { return .failure(.frameCount) }
    // A hello states its samples; a hub's drop of a logical client names the client.
    guard header.count == 0, header.aux == 0 || header.type == .hello || header.type == .drop else { return .failure(.reservedField) }
    return .success(Frame(header: header, payload: []))
  }

  /// Decodes received messages (copying only the payload, once).
  public func decode(_ messages: [Message]) -> Result<Frame, RejectReason> {
    decode(parts: messages) { m, body in m.withUnsafeBytes(body) }
  }

  /// Decodes byte arrays (tests, fuzzing).
  public func decode(_ frames: [[UInt8]]) -> Result<Frame, RejectReason> {
    decode(parts: frames) { f, body in f.withUnsafeBytes(body) }
  }

  /// Borrows every part's bytes at once (nested closures), then decodes.
  private func decode<P>(
    parts: [P], _ borrow: @escaping (P, (UnsafeRawBufferPointer) -> Result<Frame, RejectReason>) -> Result<Frame, RejectReason>
  )
    -> Result<Frame, RejectReason>
  {
    guard parts.count <= 2 else { return .failure(.frameCount) }
    func go(_ i: Int, _ acc: [UnsafeRawBufferPointer]) -> Result<Frame, RejectReason> {
      i == parts.count ? decode(acc) : borrow(parts[i]) { go(i + 1, acc + [$0]) }
    }
    return go(0, [])
  }
}

/// Counts of dropped messages by reason.
public struct RejectionCounts: Sendable, Equatable, Codable {
  public private(set) var byReason: [RejectReason: Int] = [:]
  public init() {}
  public mutating func record(_ r: RejectReason) { byReason[r, default: 0] += 1 }
  public var total: Int { byReason.values.reduce(0, +) }
  public subscript(_ r: RejectReason) -> Int { byReason[r] ?? 0 }
  /// `{"reason": count}` with stable names, for JSON.
  public var named: [String: Int] { Dictionary(uniqueKeysWithValues: byReason.map { ($0.key.rawValue, $0.value) }) }
}
