import Foundation
import Testing
import Data

/// Runs leave their model as safetensors, and `byzsim export` writes any checkpoint the same way;
/// the files are read here by Python's standard library (struct and json), not by ByzSim.
@Suite(.serialized) struct ExportCommandTests {
  @Test func runsWriteSafetensorsThatAnotherReaderReads() throws {
    let (file, runs) = TrustBoundaryRunTests.topology(rounds: 12, workers: 2)
    let r = try CLI.run(["run", file, "--runs-dir", runs, "--json", "--threads"])
    #expect(r.status == 0, "\(r.stderr)")
    let dir = try #require(r.json?["run_dir"] as? String)
    // The last checkpoint is the final model: its export is the same file, byte for byte.
    let exported = CLI.temporaryDirectory().appendingPathComponent("cp.safetensors").path
    let e = try CLI.run(["export", dir + "/checkpoint.bin", "--out", exported, "--json"])
    #expect(e.status == 0 && e.json?["round"] as? Int == 12, "\(e.stdout) \(e.stderr)")
    #expect(FileManager.default.contents(atPath: exported) == FileManager.default.contents(atPath: dir + "/model.safetensors"))
    // Python: the header is JSON; the tensors are PyTorch's names and shapes; fc2.bias is the
    // last 10 floats of model.bin (ByzSim's own format: BZMD, u32 version, u64 count, floats).
    let script = """
      import json, struct, sys
      b = open(sys.argv[1], 'rb').read(); n = struct.unpack('<Q', b[:8])[0]; h = json.loads(b[8:8 + n]); data = b[8 + n:]
      shapes = {k: v['shape'] for k, v in h.items() if k != '__metadata__'}
      assert shapes == {'fc1.weight': [16, 100], 'fc1.bias': [16], 'fc2.weight': [10, 16], 'fc2.bias': [10]}, shapes
      assert h['__metadata__']['byzsim.round'] == '12' and h['__metadata__']['byzsim.model'] == 'mlp(16)'
      s, e = h['fc2.bias']['data_offsets']
      m = open(sys.argv[2], 'rb').read(); count = struct.unpack('<Q', m[8:16])[0]
      assert data[s:e] == m[16 + 4 * (count - 10):], 'fc2.bias differs from model.bin'
      print('ok')
      """
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", "-c", script, dir + "/model.safetensors", dir + "/model.bin"]
    let out = Pipe()
    p.standardOutput = out
    try p.run()
    p.waitUntilExit()
    #expect(String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self) == "ok\n")
    let missing = try CLI.run(["export", dir + "/nope.bin", "--out", exported])
    #expect(missing.status != 0 && missing.stderr.contains("no such file"))
  }
}

/// keygen, sign and verify from the command line, and a flipped bit refused.
@Suite(.serialized) struct SignCommandTests {
  @Test func keygenSignVerifyAndTamper() throws {
    let dir = CLI.temporaryDirectory().path
    let k = try CLI.run(["keygen", "--out", dir + "/owner"])
    #expect(k.status == 0, "\(k.stderr)")
    var st = stat()
    #expect(stat(dir + "/owner.key", &st) == 0 && st.st_mode & 0o777 == 0o600)
    let model = dir + "/model.safetensors"
    try Data([8, 0, 0, 0, 0, 0, 0, 0] + Array("{}      ".utf8)).write(to: URL(fileURLWithPath: model))
    let s = try CLI.run(["sign", model, "--key", dir + "/owner.key"])
    #expect(s.status == 0 && FileManager.default.fileExists(atPath: model + ".sig"), "\(s.stderr)")
    let v = try CLI.run(["verify", model, "--pub", dir + "/owner.pub", "--json"])
    #expect(v.status == 0 && ((v.json?["files"] as? [[String: Any]])?.first?["verified"] as? Bool) == true, "\(v.stdout) \(v.stderr)")
    var bytes = try Data(contentsOf: URL(fileURLWithPath: model))
    bytes[10] ^= 1
    try bytes.write(to: URL(fileURLWithPath: model))
    let bad = try CLI.run(["verify", model, "--pub", dir + "/owner.pub"])
    #expect(bad.status == 1 && bad.stderr.contains("changed after signing (SHA-256"), "\(bad.stderr)")
    let unsigned = dir + "/other.bin"
    try Data([1, 2, 3]).write(to: URL(fileURLWithPath: unsigned))
    let u = try CLI.run(["verify", unsigned, "--pub", dir + "/owner.pub"])
    #expect(u.status == 1 && u.stderr.contains("unsigned"))
  }
}

/// A run signs its manifest, checkpoints and final model with its own key; a checkpoint changed
/// after signing — even one whose internal digest was recomputed — is refused on resume, naming
/// the file and both digests, unless --allow-unsigned, which warns.
@Suite(.serialized) struct RunSigningTests {
  @Test func resumeRefusesAChangedCheckpointUnlessAllowed() throws {
    let (file, runs) = TrustBoundaryRunTests.topology(rounds: 10, workers: 2)
    let r = try CLI.run(["run", file, "--runs-dir", runs, "--json", "--threads"])
    #expect(r.status == 0, "\(r.stderr)")
    let dir = try #require(r.json?["run_dir"] as? String)
    for f in ["manifest.json", "checkpoint.bin", "model.bin", "model.safetensors"] {
      #expect(FileManager.default.fileExists(atPath: "\(dir)/\(f).sig"), "\(f) is unsigned")
    }
    let v = try CLI.run(["verify", dir + "/model.safetensors", dir + "/checkpoint.bin", "--pub", dir + "/keys/signing.pub"])
    #expect(v.status == 0, "\(v.stderr)")
    // Plant a change: one weight, with the checkpoint's own SHA-256 trailer recomputed (layout:
    // magic, u32 version, u64 nonce, u64 round, u64 count, then the parameters).
    let path = dir + "/checkpoint.bin"
    var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    let original = bytes
    let at = 4 + 4 + 8 + 8 + 8 + 4 * 5
    var w = Float(bitPattern: UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24)
    w += 3
    withUnsafeBytes(of: w.bitPattern.littleEndian) { for k in 0..<4 { bytes[at + k] = $0[k] } }
    let body = Array(bytes.dropLast(32))
    bytes = body + Provenance.sha256(body)
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    let refused = try CLI.run(["run", "--resume", dir, "--threads"])
    #expect(refused.status != 0, "\(refused.stdout)")
    #expect(
      refused.stderr.contains(
        "checkpoint.bin: it was changed after signing (SHA-256 \(Provenance.sha256Hex(bytes)), signed \(Provenance.sha256Hex(original)))"),
      "\(refused.stderr)")
    #expect(refused.stderr.contains("--allow-unsigned"))
    let allowed = try CLI.run(["run", "--resume", dir, "--threads", "--allow-unsigned", "--json"])
    #expect(allowed.status == 0, "\(allowed.stderr)")
    let events = try String(contentsOfFile: dir + "/events.log", encoding: .utf8)
    #expect(allowed.stderr.contains("WARNING: loading") && events.contains("--allow-unsigned"))
    // An export refuses the same way.
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    let e = try CLI.run(["export", path, "--out", dir + "/x.safetensors"])
    #expect(e.status != 0 && e.stderr.contains("changed after signing"))
  }
}
