import Artifacts
import Crypto
import Foundation

/// Every run signs what later loaders trust — the manifest (at `prepare`), each checkpoint and
/// the final model files (the coordinator) — with a per-run Ed25519 key (keys/signing.key, the
/// coordinator's; keys/signing.pub for everyone), as DSSE envelopes beside the files
/// (`FILE.sig`, `Signing`). `--resume` and `byzsim export` refuse an unsigned or changed file,
/// naming it and both digests, unless `--allow-unsigned`, which warns.
///
/// A signature is written before its file is replaced (`FILE.sig.next`, renamed over
/// `FILE.sig` after the file), so a crash between the two leaves a file that one of the two
/// signatures covers.
struct RunSigner {
  let key: Curve25519.Signing.PrivateKey

  /// Makes the run's key pair (prepare).
  static func create(_ run: RunDirectory) throws -> RunSigner {
    let key = Curve25519.Signing.PrivateKey()
    try Files.writeAtomically(Array(Signing.privatePEM(key).utf8), to: run.signingKeyFile, mode: 0o600)
    try Files.writeAtomically(Array(Signing.publicPEM(key.publicKey).utf8), to: run.signingPublicFile)
    return RunSigner(key: key)
  }

  /// The run's signing key, if this host holds it (the coordinator's).
  static func load(_ run: RunDirectory) throws -> RunSigner? {
    guard FileManager.default.fileExists(atPath: run.signingKeyFile) else { return nil }
    return RunSigner(
      key: try Signing.privateKey(pem: String(decoding: try Files.read(run.signingKeyFile), as: UTF8.self), path: run.signingKeyFile))
  }

  /// Writes `bytes` to `path` (through `write`) with its signature.
  func write(
    _ bytes: [UInt8], to path: String, _ write: ([UInt8], String) throws -> Void = { try Files.writeAtomically($0, to: $1) }
  ) throws {
    let next = Signing.signaturePath(path) + ".next"
    try Files.writeAtomically(try Signing.envelope(for: bytes, name: (path as NSString).lastPathComponent, key: key), to: next)
    try write(bytes, path)
    guard rename(next, Signing.signaturePath(path)) == 0 else {
      throw FileFormatError(path: Signing.signaturePath(path), message: "cannot put the signature in place (\(Files.errnoText()))")
    }
  }
}

enum RunVerifier {
  /// Checks `bytes`, read from `path`, against its signature and the run's public key. With
  /// `allowUnsigned`, a failure is a warning (on standard error and in events.log) instead.
  static func check(_ bytes: [UInt8], path: String, run: RunDirectory, allowUnsigned: Bool) throws {
    do {
      let pem = try Files.read(run.signingPublicFile)
      let key = try Signing.publicKey(pem: String(decoding: pem, as: UTF8.self), path: run.signingPublicFile)
      var firstError: (any Error)?
      for sig in [Signing.signaturePath(path), Signing.signaturePath(path) + ".next"] where FileManager.default.fileExists(atPath: sig) {
        do { return try Signing.verify(bytes, path: path, envelope: try Files.read(sig), key: key) } catch {
          firstError = firstError ?? error
        }
      }
      throw firstError ?? SigningError(path: path, message: "unsigned: no \(Signing.signaturePath(path))")
    } catch {
      guard allowUnsigned else {
        throw RuntimeError("\(error); refusing to load it (pass --allow-unsigned to load it anyway, at your own risk)")
      }
      let warning = "WARNING: loading \(path) although its signature does not hold (--allow-unsigned): \(error)"
      FileHandle.standardError.write(Data("byzsim: \(warning)\n".utf8))
      run.logEvent(warning)
    }
  }
}
