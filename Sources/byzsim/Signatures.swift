import Artifacts
import ArgumentParser
import Crypto
import Foundation

/// `byzsim keygen`: an Ed25519 key pair for signing model files.
struct Keygen: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Make an Ed25519 key pair for `byzsim sign` (PEM: NAME.key, mode 0600, and NAME.pub).",
    discussion: "Example:\n  byzsim keygen --out owner")
  @Option(help: "The key files' name: writes NAME.key and NAME.pub.")
  var out: String

  func run() throws {
    let key = Curve25519.Signing.PrivateKey()
    for (path, text, mode) in [
      (out + ".key", Signing.privatePEM(key), mode_t(0o600)), (out + ".pub", Signing.publicPEM(key.publicKey), 0o644),
    ] {
      let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode)
      guard fd >= 0 else { throw UserError("\(path): cannot create (\(String(cString: strerror(errno)))); it must not exist yet") }
      let bytes = Array(text.utf8)
      let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
      close(fd)
      guard n == bytes.count else { throw UserError("\(path): write failed") }
      print(path)
    }
  }
}

/// `byzsim sign`: DSSE envelopes (in-toto statements, Ed25519) beside model files.
struct Sign: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Sign files: writes FILE.sig, a DSSE envelope of an in-toto statement of the file's SHA-256, signed with Ed25519.",
    discussion: "Example:\n  byzsim sign runs/default-20261126-190524/model.safetensors --key owner.key")
  @Argument(help: "Files to sign.", completion: .file())
  var files: [String]
  @Option(help: "The Ed25519 private key (PEM, from `byzsim keygen`).", completion: .file(extensions: ["key"]))
  var key: String

  func run() throws {
    guard let pem = FileManager.default.contents(atPath: key) else { throw UserError("\(key): cannot read the key file") }
    let k = try Signing.privateKey(pem: String(decoding: pem, as: UTF8.self), path: key)
    for f in files {
      guard let d = FileManager.default.contents(atPath: f) else { throw UserError("\(f): cannot read the file") }
      let envelope = try Signing.envelope(for: [UInt8](d), name: (f as NSString).lastPathComponent, key: k)
      try Data(envelope).write(to: URL(fileURLWithPath: Signing.signaturePath(f)), options: .atomic)
      print(Signing.signaturePath(f))
    }
  }
}

/// `byzsim verify`: checks files against their FILE.sig and a public key.
struct Verify: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract:
      "Verify signed files (FILE.sig beside each) against a public key; exit 1 if any is unsigned, tampered or signed by another key.",
    discussion: "Example:\n  byzsim verify runs/default-20261126-190524/model.safetensors --pub owner.pub")
  @Argument(help: "Files to verify.", completion: .file())
  var files: [String]
  @Option(help: "The Ed25519 public key (PEM).", completion: .file(extensions: ["pub"]))
  var pub: String
  @Flag(help: "Print one JSON object: each file with verified (true/false) and error.")
  var json = false

  struct Result: Encodable { let file: String; let verified: Bool; let error: String? }

  func run() throws {
    guard let pem = FileManager.default.contents(atPath: pub) else { throw UserError("\(pub): cannot read the key file") }
    let key = try Signing.publicKey(pem: String(decoding: pem, as: UTF8.self), path: pub)
    var results: [Result] = []
    for f in files {
      do {
        guard let d = FileManager.default.contents(atPath: f) else { throw SigningError(path: f, message: "cannot read the file") }
        guard let env = FileManager.default.contents(atPath: Signing.signaturePath(f)) else {
          throw SigningError(path: f, message: "unsigned: no \(Signing.signaturePath(f))")
        }
        try Signing.verify([UInt8](d), path: f, envelope: [UInt8](env), key: key)
        results.append(Result(file: f, verified: true, error: nil))
        if !json { print("\(f): verified (key \(Signing.keyID(key)))") }
      } catch let e as SigningError {
        results.append(Result(file: f, verified: false, error: e.description))
        if !json { FileHandle.standardError.write(Data("\(e)\n".utf8)) }
      }
    }
    if json {
      let e = JSONEncoder()
      e.outputFormatting = [.sortedKeys]
      print(String(decoding: try e.encode(["files": results]), as: UTF8.self))
    }
    if results.contains(where: { !$0.verified }) { throw ExitCode(1) }
  }
}
