import CZeroMQ

/// A CURVE (Curve25519) key pair as Z85 text: 40 characters each.
public struct CurveKeyPair: Sendable, Equatable, Codable {
  public let publicKey: String
  public let secretKey: String

  /// A fresh random key pair from libzmq (libsodium).
  public static func generate() throws -> CurveKeyPair {
    var pub = [CChar](repeating: 0, count: 41), sec = [CChar](repeating: 0, count: 41)
    try zmqCall("zmq_curve_keypair") { zmq_curve_keypair(&pub, &sec) }
    return CurveKeyPair(publicKey: cText(pub), secretKey: cText(sec))
  }

  /// A key pair from a Z85 secret key (its public key is derived); nil if `secret` is not a key.
  public init?(secretKey secret: String) {
    guard Self.decode(secret) != nil else { return nil }
    var pub = [CChar](repeating: 0, count: 41)
    guard zmq_curve_public(&pub, secret) == 0 else { return nil }
    publicKey = cText(pub)
    secretKey = secret
  }

  init(publicKey: String, secretKey: String) {
    self.publicKey = publicKey
    self.secretKey = secretKey
  }

  /// The 32 raw bytes of a Z85 key, or nil if `z85` is not 40 valid Z85 characters.
  public static func decode(_ z85: String) -> [UInt8]? {
    guard z85.utf8.count == 40 else { return nil }
    var out = [UInt8](repeating: 0, count: 32)
    guard zmq_z85_decode(&out, z85) != nil else { return nil }
    return out
  }

  /// Z85 text of 32 raw key bytes.
  public static func encode(_ raw: [UInt8]) -> String {
    precondition(raw.count == 32, "a CURVE key is 32 bytes")
    var out = [CChar](repeating: 0, count: 41)
    _ = zmq_z85_encode(&out, raw, 32)
    return cText(out)
  }
}

/// The text of a NUL-terminated C buffer that libzmq filled (Z85 keys, endpoints: ASCII).
func cText(_ chars: [CChar]) -> String {
  String(decoding: chars.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
