/// Incremental parser of one direction of a ZMTP 3.x byte stream (ZeroMQ RFC 23 and RFC 37):
/// the 64-byte greeting, then frames of `flags | size | body` where flags bit 0 is MORE, bit 1
/// LONG (8-byte big-endian size instead of 1 byte) and bit 2 COMMAND.
///
/// This is what a passive eavesdropper on a ZeroMQ connection can do: with the NULL mechanism
/// every message frame is plaintext; with CURVE every message travels inside an encrypted
/// MESSAGE box (libzmq 4.3 sends it as a data frame whose body starts with "\u{7}MESSAGE"), which
/// the parser counts in `encrypted` and never yields.
public struct ZMTPStreamParser: Sendable {
  public static let greetingSize = 64
  /// The most frames one message may have (ByzSim's have at most three).
  public static let maxParts = 64
  static let curveMessage: [UInt8] = [7] + Array("MESSAGE".utf8)

  /// The security mechanism the greeting names ("NULL", "PLAIN", "CURVE"), once seen.
  public private(set) var mechanism: String?
  /// Commands seen (handshake, heartbeats, and every CURVE MESSAGE).
  public private(set) var commands = 0
  /// CURVE MESSAGE boxes seen (ciphertext: unreadable without the session keys).
  public private(set) var encrypted = 0
  /// Complete plaintext messages seen.
  public private(set) var messages = 0
  /// Set when the stream is not ZMTP 3 (bad signature): parsing stops.
  public private(set) var malformed: String?
  /// Largest frame body the parser will buffer (bigger frames mark the stream malformed).
  public let maxFrame: Int

  var buffer: [UInt8] = []
  var start = 0
  var parts: [[UInt8]] = []

  public init(maxFrame: Int = 1 << 28) { self.maxFrame = maxFrame }

  /// Feeds the next bytes of the stream; returns the messages (lists of frames) they complete.
  public mutating func feed(_ bytes: UnsafeRawBufferPointer) -> [[[UInt8]]] {
    guard malformed == nil else { return [] }
    buffer.append(contentsOf: bytes)
    var out: [[[UInt8]]] = []
    if mechanism == nil {
      guard buffer.count - start >= Self.greetingSize else { return [] }
      guard buffer[start] == 0xFF, buffer[start + 9] & 0x01 == 0x01, buffer[start + 10] >= 3 else {
        malformed = "no ZMTP 3 greeting"
        return []
      }
      let name = buffer[(start + 12)..<(start + 32)].prefix { $0 != 0 }
      mechanism = String(decoding: name, as: UTF8.self)
      start += Self.greetingSize
    }
    while true {
      let available = buffer.count - start
      guard available >= 2 else { break }
      let flags = buffer[start]
      guard flags & 0xF8 == 0 else { malformed = "frame flags \(flags) set reserved bits"; return out }
      let long = flags & 0x02 != 0
      let headerSize = long ? 9 : 2
      guard available >= headerSize else { break }
      var size = 0
      if long {
        var s: UInt64 = 0
        for k in 1...8 { s = (s << 8) | UInt64(buffer[start + k]) }
        guard s <= UInt64(maxFrame) else { malformed = "frame of \(s) bytes exceeds \(maxFrame)"; return out }
        size = Int(s)
      } else {
        size = Int(buffer[start + 1])
      }
      guard available >= headerSize + size else { break }
      let body = Array(buffer[(start + headerSize)..<(start + headerSize + size)])
      start += headerSize + size
      if flags & 0x04 != 0 {
        commands += 1
      } else if mechanism == "CURVE", body.starts(with: Self.curveMessage) {
        encrypted += 1
      } else {
        parts.append(body)
        guard parts.count <= Self.maxParts else { malformed = "a message of more than \(Self.maxParts) parts"; return out }
        if flags & 0x01 == 0 {
          out.append(parts)
          parts = []
          messages += 1
        }
      }
    }
    if start > 1 << 20 || start == buffer.count {
      buffer.removeFirst(start)
      start = 0
    }
    return out
  }
}
