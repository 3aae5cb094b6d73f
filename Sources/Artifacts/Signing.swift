import Crypto
import Foundation

/// Signatures for model files in the shape of the OpenSSF model-signing format: an in-toto
/// Statement (v1) whose subjects are the signed files with their SHA-256, wrapped in a DSSE
/// envelope signed with Ed25519 (RFC 8032) over DSSE's pre-authentication encoding
///
///     PAE = "DSSEv1" SP len(type) SP type SP len(payload) SP payload
///
/// Variant: one envelope per file, written beside it as `FILE.sig` (a loader checks the file it
/// loads, nothing else); the predicate type is ByzSim's own (`https://byzsim.dev/model-signing/v1`)
/// and carries the signer's key id. Keys are PEM (PKCS#8 / SubjectPublicKeyInfo), so OpenSSL
/// and Python's `cryptography` read them.
public enum Signing {
  public static let payloadType = "application/vnd.in-toto+json"
  public static let statementType = "https://in-toto.io/Statement/v1"
  public static let predicateType = "https://byzsim.dev/model-signing/v1"

  // MARK: Keys

  /// DER prefixes of an Ed25519 PKCS#8 private key and SubjectPublicKeyInfo (RFC 8410).
  static let privatePrefix: [UInt8] = [0x30, 0x2E, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]
  static let publicPrefix: [UInt8] = [0x30, 0x2A, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x03, 0x21, 0x00]

  public static func privatePEM(_ key: Curve25519.Signing.PrivateKey) -> String {
    pem("PRIVATE KEY", privatePrefix + Array(key.rawRepresentation))
  }

  public static func publicPEM(_ key: Curve25519.Signing.PublicKey) -> String {
    pem("PUBLIC KEY", publicPrefix + Array(key.rawRepresentation))
  }

  static func pem(_ label: String, _ der: [UInt8]) -> String {
    let b64 = Data(der).base64EncodedString()
    let lines = stride(from: 0, to: b64.count, by: 64).map { i in
      String(b64[b64.index(b64.startIndex, offsetBy: i)..<b64.index(b64.startIndex, offsetBy: min(i + 64, b64.count))])
    }
    return "-----BEGIN \(label)-----\n" + lines.joined(separator: "\n") + "\n-----END \(label)-----\n"
  }

  static func der(_ pem: String, label: String, prefix: [UInt8], path: String) throws -> [UInt8] {
    let body = pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
    guard pem.contains("-----BEGIN \(label)-----"), let d = Data(base64Encoded: body), d.count == prefix.count + 32,
      Array(d.prefix(prefix.count)) == prefix
    else { throw SigningError(path: path, message: "not an Ed25519 \(label.lowercased()) in PEM (PKCS#8 / SubjectPublicKeyInfo)") }
    return Array(d.suffix(32))
  }

  public static func privateKey(pem: String, path: String) throws -> Curve25519.Signing.PrivateKey {
    try Curve25519.Signing.PrivateKey(rawRepresentation: der(pem, label: "PRIVATE KEY", prefix: privatePrefix, path: path))
  }

  public static func publicKey(pem: String, path: String) throws -> Curve25519.Signing.PublicKey {
    try Curve25519.Signing.PublicKey(rawRepresentation: der(pem, label: "PUBLIC KEY", prefix: publicPrefix, path: path))
  }

  /// The key id: the first 16 hex digits of the SHA-256 of the raw public key.
  public static func keyID(_ key: Curve25519.Signing.PublicKey) -> String {
    SHA256.hash(data: key.rawRepresentation).map { String(format: "%02x", $0) }.joined().prefix(16).description
  }

  // MARK: Envelopes

  public static func pae(type: String, payload: [UInt8]) -> [UInt8] {
    Array("DSSEv1 \(type.utf8.count) \(type) \(payload.count) ".utf8) + payload
  }

  public static func sha256Hex(_ bytes: [UInt8]) -> String { SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined() }

  /// The in-toto statement naming `name` with the digest of `bytes`.
  static func statement(name: String, digest: String, keyID: String) -> [UInt8] {
    let json =
      "{\"_type\":\"\(statementType)\",\"predicate\":{\"signer\":{\"ed25519\":\"\(keyID)\"}},\"predicateType\":\"\(predicateType)\","
      + "\"subject\":[{\"digest\":{\"sha256\":\"\(digest)\"},\"name\":\(JSONString.quoted(name))}]}"
    return Array(json.utf8)
  }

  /// The DSSE envelope (JSON) signing the file `name` whose content is `bytes`.
  public static func envelope(for bytes: [UInt8], name: String, key: Curve25519.Signing.PrivateKey) throws -> [UInt8] {
    let id = keyID(key.publicKey)
    let payload = statement(name: name, digest: sha256Hex(bytes), keyID: id)
    let signature = try key.signature(for: pae(type: payloadType, payload: payload))
    let json =
      "{\"payload\":\"\(Data(payload).base64EncodedString())\",\"payloadType\":\"\(payloadType)\","
      + "\"signatures\":[{\"keyid\":\"\(id)\",\"sig\":\"\(Data(signature).base64EncodedString())\"}]}\n"
    return Array(json.utf8)
  }

  /// Checks `envelope` against `bytes` (the file at `path`) and `key`: a valid signature by that
  /// key over an in-toto statement whose subject's SHA-256 is the file's. Every failure names
  /// the file and, for a changed file, both digests.
  public static func verify(_ bytes: [UInt8], path: String, envelope: [UInt8], key: Curve25519.Signing.PublicKey) throws {
    func fail(_ m: String) -> SigningError { SigningError(path: path, message: m) }
    guard let env = try? JSONSerialization.jsonObject(with: Data(envelope)) as? [String: Any],
      let payloadB64 = env["payload"] as? String, let payload = Data(base64Encoded: payloadB64),
      env["payloadType"] as? String == payloadType, let sigs = env["signatures"] as? [[String: Any]], !sigs.isEmpty
    else { throw fail("its signature file is not a DSSE envelope of an in-toto statement") }
    let message = pae(type: payloadType, payload: Array(payload))
    let valid = sigs.contains { s in
      guard let b64 = s["sig"] as? String, let sig = Data(base64Encoded: b64) else { return false }
      return key.isValidSignature(sig, for: message)
    }
    guard valid else { throw fail("no valid signature by key \(keyID(key)) (signed by another key, or the envelope was altered)") }
    guard let statement = try? JSONSerialization.jsonObject(with: payload) as? [String: Any],
      statement["_type"] as? String == statementType, let subjects = statement["subject"] as? [[String: Any]],
      let digest = (subjects.first?["digest"] as? [String: Any])?["sha256"] as? String
    else { throw fail("the signed statement names no subject digest") }
    let actual = sha256Hex(bytes)
    guard actual == digest else { throw fail("it was changed after signing (SHA-256 \(actual), signed \(digest))") }
  }

  /// The signature file of `path`.
  public static func signaturePath(_ path: String) -> String { path + ".sig" }
}

public struct SigningError: Error, Equatable, CustomStringConvertible {
  public let path: String
  public let message: String
  public init(path: String, message: String) { self.path = path; self.message = message }
  public var description: String { "\(path): \(message)" }
}
