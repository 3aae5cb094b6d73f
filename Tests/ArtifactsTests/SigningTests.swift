import Crypto
import Foundation
import TestSupport
import Testing
@testable import Artifacts

@Suite struct SigningTests {
  static func hex(_ s: String) -> [UInt8] { SafeTensorsTests.hex(s) }

  /// RFC 8032 §7.1, TEST 1: the secret key signs the empty message with the published signature.
  @Test func rfc8032TestOne() throws {
    let key = try Curve25519.Signing.PrivateKey(
      rawRepresentation: Self.hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"))
    #expect(Array(key.publicKey.rawRepresentation) == Self.hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"))
    let published = Self.hex(
      "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b")
    #expect(key.publicKey.isValidSignature(Data(published), for: Data()))
    #expect(Array(try key.signature(for: Data())) == published)  // Ed25519 is deterministic
  }

  @Test func envelopesVerifyAndRefuseTamperingNamingBothDigests() throws {
    let key = Curve25519.Signing.PrivateKey(), other = Curve25519.Signing.PrivateKey()
    let file: [UInt8] = Array("model bytes".utf8)
    let env = try Signing.envelope(for: file, name: "model.safetensors", key: key)
    try Signing.verify(file, path: "m", envelope: env, key: key.publicKey)
    var flipped = file
    flipped[3] ^= 1
    do {
      try Signing.verify(flipped, path: "m", envelope: env, key: key.publicKey)
      Issue.record("a flipped bit was accepted")
    } catch let e as SigningError {
      #expect(e.message.contains(Signing.sha256Hex(flipped)) && e.message.contains(Signing.sha256Hex(file)))
    }
    #expect(throws: SigningError.self) { try Signing.verify(file, path: "m", envelope: env, key: other.publicKey) }
    var forged = env
    forged[forged.count / 2] ^= 1
    #expect(throws: SigningError.self) { try Signing.verify(file, path: "m", envelope: forged, key: key.publicKey) }
    // The PEM forms read back.
    #expect(try Signing.privateKey(pem: Signing.privatePEM(key), path: "k").rawRepresentation == key.rawRepresentation)
    #expect(try Signing.publicKey(pem: Signing.publicPEM(key.publicKey), path: "p").rawRepresentation == key.publicKey.rawRepresentation)
  }

  /// An independent implementation — OpenSSL — reads the keys and verifies the DSSE signature
  /// over the pre-authentication encoding, and the payload is the in-toto statement.
  @Test func openSSLVerifiesTheEnvelope() throws {
    let dir = Scratch.directory("byzsim-sign")
    let key = Curve25519.Signing.PrivateKey()
    let file: [UInt8] = Array(repeating: 7, count: 1000)
    let env =
      try JSONSerialization.jsonObject(with: Data(try Signing.envelope(for: file, name: "m.safetensors", key: key))) as! [String: Any]
    let payload = Data(base64Encoded: env["payload"] as! String)!
    let sig = Data(base64Encoded: ((env["signatures"] as! [[String: Any]])[0]["sig"] as! String))!
    let statement = try JSONSerialization.jsonObject(with: payload) as! [String: Any]
    #expect(statement["_type"] as? String == "https://in-toto.io/Statement/v1")
    let digest = ((statement["subject"] as! [[String: Any]])[0]["digest"] as! [String: String])["sha256"]
    #expect(digest == Signing.sha256Hex(file))
    // PAE per the DSSE spec, written out here: "DSSEv1 <len type> <type> <len body> <body>".
    let type = "application/vnd.in-toto+json"
    let pae = Data("DSSEv1 \(type.utf8.count) \(type) \(payload.count) ".utf8) + payload
    try pae.write(to: dir.appendingPathComponent("pae.bin"))
    try sig.write(to: dir.appendingPathComponent("sig.bin"))
    try Signing.publicPEM(key.publicKey).write(to: dir.appendingPathComponent("pub.pem"), atomically: true, encoding: .utf8)
    try Signing.privatePEM(key).write(to: dir.appendingPathComponent("key.pem"), atomically: true, encoding: .utf8)
    func openssl(_ args: [String]) throws -> (Int32, String) {
      let p = Process()
      p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
      p.arguments = args
      p.currentDirectoryURL = dir
      let out = Pipe()
      p.standardOutput = out
      p.standardError = out
      try p.run()
      p.waitUntilExit()
      return (p.terminationStatus, String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
    }
    let v = try openssl(["pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin", "-in", "pae.bin", "-sigfile", "sig.bin"])
    #expect(v.0 == 0 && v.1.contains("Signature Verified Successfully"), "\(v.1)")
    let derived = try openssl(["pkey", "-in", "key.pem", "-pubout"])
    #expect(derived.0 == 0 && derived.1 == Signing.publicPEM(key.publicKey), "\(derived.1)")
  }
}
