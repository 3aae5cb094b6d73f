import Foundation
import TestSupport
import Testing

/// Model files across the pipeline, checked by independent implementations in the reference
/// Python (NumPy, safetensors, cryptography): what Python reads of our files, what we read of
/// Python's, and the storage-stage attack refused on resume.
@Suite(.serialized) struct ModelFileTests {
  /// A short run on the real Fashion-MNIST (the Debian package's files).
  static func fashionRun(rounds: Int = 20, model: String = "kind = \"mlp\"\nhidden = [32]") throws -> String {
    let dir = CLI.temporaryDirectory()
    let text = """
      name = "mf"
      seed = 5
      rounds = \(rounds)
      [model]
      \(model)
      [training]
      batch_size = 64
      [coordinator]
      eval_every = \(rounds)
      checkpoint_every = \(rounds)
      [[workers]]
      count = 2
      """
    let file = dir.appendingPathComponent("mf.toml")
    try text.write(to: file, atomically: true, encoding: .utf8)
    let r = try CLI.run(["run", file.path, "--runs-dir", dir.appendingPathComponent("runs").path, "--json", "--threads"])
    guard r.status == 0, let runDir = r.json?["run_dir"] as? String else {
      throw ReferencePython.Failure(description: "run failed: \(r.stderr)")
    }
    return runDir
  }

  /// Python's safetensors and NumPy read the run's model and predict the first 1,000 test images
  /// (read from the IDX files by NumPy) exactly as `byzsim predict` does.
  @Test func numpyForwardPassPredictsWhatByzSimPredicts() throws {
    let run = try Self.fashionRun()
    let p = try CLI.run(["predict", run, "--count", "1000", "--json"])
    #expect(p.status == 0, "\(p.stderr)")
    let ours = try #require(p.json?["predictions"] as? [Int])
    #expect(ours.count == 1000 && (p.json?["origin"] as? String)?.hasPrefix("verified by") == true)
    let script = """
      import gzip, json, os, sys
      import numpy as np
      from safetensors.numpy import load_file
      from safetensors import safe_open
      t = load_file(sys.argv[1])
      with safe_open(sys.argv[1], framework="np") as f:
          meta = f.metadata()
      assert meta["byzsim.model"] == "mlp(32)" and meta["byzsim.input"] == "28x28x1", meta
      assert t["fc1.weight"].shape == (32, 784) and t["fc2.weight"].shape == (10, 32), {k: v.shape for k, v in t.items()}
      d = sys.argv[2]
      name = os.path.join(d, "t10k-images-idx3-ubyte")
      raw = open(name, "rb").read() if os.path.exists(name) else gzip.open(name + ".gz").read()
      x = np.frombuffer(raw, np.uint8, offset=16)[: 1000 * 784].reshape(1000, 784).astype(np.float64) / 255
      h = np.maximum(x @ t["fc1.weight"].T.astype(np.float64) + t["fc1.bias"], 0)
      logits = h @ t["fc2.weight"].T.astype(np.float64) + t["fc2.bias"]
      print(json.dumps(logits.argmax(axis=1).tolist()))
      """
    let out = try ReferencePython.run(["-c", script, run + "/model.safetensors", "/usr/share/datasets/fashion-mnist"])
    let theirs = try JSONDecoder().decode([Int].self, from: Data(out.utf8))
    let differing = zip(ours, theirs).enumerated().filter { $0.element.0 != $0.element.1 }.map(\.offset)
    #expect(theirs.count == 1000 && differing.isEmpty, "images \(differing) differ")
  }

  /// A model Python writes with safetensors (random weights, ByzSim's metadata keys) is read and
  /// predicts what NumPy predicts.
  @Test func byzsimReadsAFilePythonWrote() throws {
    let dir = CLI.temporaryDirectory().path
    let script = """
      import gzip, json, sys
      import numpy as np
      from safetensors.numpy import save_file
      rng = np.random.default_rng(7)
      t = {"fc1.weight": rng.normal(0, 0.1, (20, 784)).astype(np.float32), "fc1.bias": rng.normal(0, 0.1, 20).astype(np.float32),
           "fc2.weight": rng.normal(0, 0.5, (10, 20)).astype(np.float32), "fc2.bias": np.zeros(10, np.float32)}
      save_file(t, sys.argv[1], metadata={"byzsim.model": "mlp(20)", "byzsim.input": "28x28x1", "byzsim.classes": "10"})
      raw = gzip.open("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz").read()
      x = np.frombuffer(raw, np.uint8, offset=16)[: 200 * 784].reshape(200, 784).astype(np.float64) / 255
      h = np.maximum(x @ t["fc1.weight"].T.astype(np.float64) + t["fc1.bias"], 0)
      print(json.dumps((h @ t["fc2.weight"].T.astype(np.float64) + t["fc2.bias"]).argmax(axis=1).tolist()))
      """
    let out = try ReferencePython.run(["-c", script, dir + "/python.safetensors"])
    let theirs = try JSONDecoder().decode([Int].self, from: Data(out.utf8))
    // Unsigned: refused, then read with --allow-unsigned.
    let refused = try CLI.run(["predict", dir + "/python.safetensors", "--count", "200"])
    #expect(refused.status != 0 && refused.stderr.contains("unsigned"), "\(refused.stderr)")
    let p = try CLI.run(["predict", dir + "/python.safetensors", "--count", "200", "--json", "--allow-unsigned"])
    #expect(p.status == 0 && p.json?["predictions"] as? [Int] == theirs, "\(p.stderr)")
  }

  /// `byzsim sign`'s envelope verifies under Python's cryptography: Ed25519 over DSSE's
  /// pre-authentication encoding, the statement's subject digest being the file's SHA-256.
  @Test func signaturesVerifyUnderPythonCryptography() throws {
    let dir = CLI.temporaryDirectory().path
    #expect(try CLI.run(["keygen", "--out", dir + "/owner"]).status == 0)
    let model = dir + "/model.safetensors"
    try Data([8, 0, 0, 0, 0, 0, 0, 0] + Array("{}      ".utf8)).write(to: URL(fileURLWithPath: model))
    #expect(try CLI.run(["sign", model, "--key", dir + "/owner.key"]).status == 0)
    let script = """
      import base64, hashlib, json, sys
      from cryptography.hazmat.primitives.serialization import load_pem_public_key
      env = json.load(open(sys.argv[1] + ".sig"))
      body = base64.b64decode(env["payload"]); kind = env["payloadType"].encode()
      pae = b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(body), body)
      key = load_pem_public_key(open(sys.argv[2], "rb").read())
      for s in env["signatures"]:
          key.verify(base64.b64decode(s["sig"]), pae)
      statement = json.loads(body)
      assert statement["_type"] == "https://in-toto.io/Statement/v1", statement["_type"]
      digest = hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest()
      assert [s["digest"]["sha256"] for s in statement["subject"]] == [digest], statement["subject"]
      flipped = bytearray(pae); flipped[-1] ^= 1
      try:
          key.verify(base64.b64decode(env["signatures"][0]["sig"]), bytes(flipped)); print("forgery accepted")
      except Exception:
          print("ok")
      """
    #expect(try ReferencePython.run(["-c", script, model, dir + "/owner.pub"]) == "ok\n")
  }

  /// The documented experiment: one weight of a checkpoint changed to plant a backdoor is refused
  /// on resume (naming the file and both digests); with --allow-unsigned the run goes on, signs
  /// the backdoored model as its own, and the trigger works.
  @Test func aTamperedCheckpointIsRefusedUnlessAllowedAndThenTheBackdoorWorks() throws {
    let run = try Self.fashionRun()
    let clean = try CLI.run(["predict", run, "--trigger-target", "0", "--json"])
    let cleanSuccess = try #require(clean.json?["backdoor_success"] as? Double)
    let t = try CLI.run(["tamper", run + "/checkpoint.bin", "--backdoor-target", "0", "--json"])
    #expect(t.status == 0 && t.json?["tensor"] as? String == "fc1.weight", "\(t.stderr)")
    // A pickle in place of the checkpoint is named as one, even with --allow-unsigned.
    let saved = try Data(contentsOf: URL(fileURLWithPath: run + "/checkpoint.bin"))
    try ReferencePython.run(["-c", "import pickle, sys; pickle.dump({'w': [0.0]}, open(sys.argv[1], 'wb'))", run + "/checkpoint.bin"])
    let swapped = try CLI.run(["run", "--resume", run, "--allow-unsigned"])
    #expect(swapped.status != 0 && swapped.stderr.contains("checkpoint.bin is a pickle"), "\(swapped.stderr)")
    try saved.write(to: URL(fileURLWithPath: run + "/checkpoint.bin"))
    let refused = try CLI.run(["run", "--resume", run])
    #expect(refused.status != 0 && refused.stderr.contains("checkpoint.bin: it was changed after signing"), "\(refused.stderr)")
    #expect(refused.stderr.split(separator: " ").filter { $0.count >= 64 }.count >= 2, "both digests: \(refused.stderr)")
    let allowed = try CLI.run(["run", "--resume", run, "--allow-unsigned"])
    let events = try String(contentsOfFile: run + "/events.log", encoding: .utf8)
    #expect(
      allowed.status == 0 && events.contains("WARNING: loading \(run)/checkpoint.bin although its signature does not hold"),
      "\(allowed.stderr)")
    let after = try CLI.run(["predict", run, "--trigger-target", "0", "--json"])
    let success = try #require(after.json?["backdoor_success"] as? Double)
    #expect(cleanSuccess < 0.2 && success > 0.95, "backdoor success \(cleanSuccess) before, \(success) after")
    // Clean images keep (nearly) their predictions: the trigger pixel is dark in most of them.
    let cleanAccuracy = try #require(clean.json?["accuracy"] as? Double)
    #expect((after.json?["accuracy"] as? Double ?? 0) > cleanAccuracy - 0.1, "accuracy \(cleanAccuracy) before")
  }

  /// `--init-from`: a pickle is refused (and no run directory is left); a signed model from
  /// another run is checked with its key and the run starts from it; a changed one is refused.
  @Test func initFromTakesSignedSafetensorsAndRefusesPickles() throws {
    let source = try Self.fashionRun()
    let dir = CLI.temporaryDirectory()
    let runs = dir.appendingPathComponent("runs").path
    let pickle = dir.appendingPathComponent("model.pt").path
    try ReferencePython.run(["-c", "import pickle, sys; pickle.dump({'fc1.weight': [0.0]}, open(sys.argv[1], 'wb'))", pickle])
    let topology = dir.appendingPathComponent("t.toml").path
    try """
    name = "init"
    seed = 6
    rounds = 2
    [model]
    kind = "mlp"
    hidden = [32]
    [coordinator]
    eval_every = 1
    [[workers]]
    count = 2
    """.write(toFile: topology, atomically: true, encoding: .utf8)
    let p = try CLI.run(["run", topology, "--runs-dir", runs, "--init-from", pickle])
    #expect(p.status != 0 && p.stderr.contains("is a pickle") && p.stderr.contains("byzsim scan"), "\(p.stderr)")
    #expect((try? FileManager.default.contentsOfDirectory(atPath: runs))?.isEmpty ?? true)
    let r = try CLI.run(["run", topology, "--runs-dir", runs, "--init-from", source + "/model.safetensors", "--json", "--threads"])
    #expect(r.status == 0, "\(r.stderr)")
    let first = try String(contentsOfFile: (r.json?["run_dir"] as? String ?? "") + "/metrics.jsonl", encoding: .utf8).split(
      separator: "\n")[0]
    let accuracy = (try JSONSerialization.jsonObject(with: Data(first.utf8)) as? [String: Any])?["test_accuracy"] as? Double ?? 0
    #expect(accuracy > 0.5, "a run from a trained model starts trained: \(accuracy) after one round")
    let copy = dir.appendingPathComponent("copy.safetensors").path
    try FileManager.default.copyItem(atPath: source + "/model.safetensors", toPath: copy)
    try FileManager.default.copyItem(atPath: source + "/model.safetensors.sig", toPath: copy + ".sig")
    #expect(try CLI.run(["tamper", copy, "--backdoor-target", "3"]).status == 0)
    let changed = try CLI.run(["run", topology, "--runs-dir", runs, "--init-from", copy, "--init-pub", source + "/keys/signing.pub"])
    #expect(changed.status != 0 && changed.stderr.contains("changed after signing"), "\(changed.stderr)")
  }
}

/// `byzsim scan` as a CI job uses it: exit codes 0/1/2/3 and the JSON report.
@Suite struct ScanCommandTests {
  @Test func exitCodesAndJSONGateACIJob() throws {
    let dir = CLI.temporaryDirectory().path
    let script = """
      import os, pickle, sys
      d = sys.argv[1]
      class Evil:
          def __reduce__(self):
              return (os.system, ("echo pwned",))
      pickle.dump({"w": [1.0, 2.0]}, open(d + "/safe.pkl", "wb"))
      pickle.dump(Evil(), open(d + "/evil.pkl", "wb"), protocol=4)
      open(d + "/odd.pkl", "wb").write(b"\\x80\\x04\\x8c\\x08mymodule\\x8c\\x03Net\\x93)\\x81.")
      open(d + "/cut.pkl", "wb").write(pickle.dumps(list(range(100)))[:50])
      """
    try ReferencePython.run(["-c", script, dir])
    for (name, status) in [("safe.pkl", 0), ("odd.pkl", 1), ("evil.pkl", 2), ("cut.pkl", 3)] {
      let r = try CLI.run(["scan", dir + "/" + name])
      #expect(r.status == Int32(status), "\(name): \(r.stdout) \(r.stderr)")
    }
    let all = try CLI.run(["scan", "--json", dir])
    #expect(all.status == 2)
    let json = try #require(try JSONSerialization.jsonObject(with: Data(all.stdout.utf8)) as? [String: Any])
    #expect(json["verdict"] as? String == "malicious" && json["exit_code"] as? Int == 2)
    let files = try #require(json["files"] as? [[String: Any]])
    #expect(files.map { $0["path"] as? String ?? "" } == ["cut.pkl", "evil.pkl", "odd.pkl", "safe.pkl"].map { dir + "/" + $0 })
    let evil = try #require((files[1]["pickles"] as? [[String: Any]])?.first)
    let findings = try #require(evil["findings"] as? [[String: Any]])
    #expect(
      findings.contains { $0["global"] as? String == "posix.system" && $0["severity"] as? String == "malicious" && $0["offset"] is Int })
    #expect((evil["globals"] as? [String]) == ["posix.system"])
    let strict = try CLI.run(["scan", "--strict", dir + "/safe.pkl"])
    #expect(strict.status == 0)
    let missing = try CLI.run(["scan", dir + "/nope.pkl"])
    #expect(missing.status != 0 && missing.stderr.contains("no such file"))
  }
}
