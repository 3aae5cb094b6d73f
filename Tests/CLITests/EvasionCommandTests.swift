import Foundation
import Testing
import TestSupport

/// `byzsim attack evasion` against an independent NumPy implementation of FGSM and PGD on a
/// model Python trained and wrote (an MLP: a fixed random ReLU layer, a softmax layer fitted
/// by gradient descent on 5,000 training images).
@Suite(.serialized) struct EvasionCommandTests {
  static let script = """
    import gzip, json, sys
    import numpy as np
    from safetensors.numpy import save_file
    d = "/usr/share/datasets/fashion-mnist/"
    def images(name, n):
        return np.frombuffer(gzip.open(d + name).read(), np.uint8, offset=16)[: n * 784].reshape(n, 784).astype(np.float32) / 255
    def labels(name, n):
        return np.frombuffer(gzip.open(d + name).read(), np.uint8, offset=8)[:n].astype(np.int64)
    rng = np.random.default_rng(3)
    W1 = rng.normal(0, 0.05, (64, 784)).astype(np.float32); b1 = np.zeros(64, np.float32)
    x, y = images("train-images-idx3-ubyte.gz", 5000), labels("train-labels-idx1-ubyte.gz", 5000)
    h = np.maximum(x @ W1.T + b1, 0)
    W2 = np.zeros((10, 64)); b2 = np.zeros(10)
    for _ in range(300):
        z = h @ W2.T + b2; p = np.exp(z - z.max(1, keepdims=True)); p /= p.sum(1, keepdims=True)
        p[np.arange(len(y)), y] -= 1
        W2 -= 0.5 * p.T @ h / len(y); b2 -= 0.5 * p.mean(0)
    W2, b2 = W2.astype(np.float32), b2.astype(np.float32)
    save_file({"fc1.weight": W1, "fc1.bias": b1, "fc2.weight": W2, "fc2.bias": b2}, sys.argv[1],
              metadata={"byzsim.model": "mlp(64)", "byzsim.input": "28x28x1", "byzsim.classes": "10"})
    n = int(sys.argv[2])
    tx, ty = images("t10k-images-idx3-ubyte.gz", n).astype(np.float64), labels("t10k-labels-idx1-ubyte.gz", n)
    W1d, b1d, W2d, b2d = (a.astype(np.float64) for a in (W1, b1, W2, b2))
    def logits(v):
        return np.maximum(v @ W1d.T + b1d, 0) @ W2d.T + b2d
    def grad(v):
        pre = v @ W1d.T + b1d; z = np.maximum(pre, 0) @ W2d.T + b2d
        p = np.exp(z - z.max(1, keepdims=True)); p /= p.sum(1, keepdims=True); p[np.arange(len(ty)), ty] -= 1
        return ((p @ W2d) * (pre > 0)) @ W1d
    def acc(v):
        return float((logits(v).argmax(1) == ty).mean())
    out = {"clean": acc(tx)}
    for eps in (0.02, 0.05):
        out["fgsm %g" % eps] = acc(np.clip(tx + eps * np.sign(grad(tx)), 0, 1))
        a, alpha = tx.copy(), 2.5 * eps / 10
        for _ in range(10):
            a = np.clip(np.clip(a + alpha * np.sign(grad(a)), tx - eps, tx + eps), 0, 1)
        out["pgd %g" % eps] = acc(a)
    print(json.dumps(out))
    """

  @Test func robustAccuracyMatchesNumPy() throws {
    let dir = CLI.temporaryDirectory().path
    let model = dir + "/python.safetensors"
    let n = 400
    let out = try ReferencePython.run(["-c", Self.script, model, "\(n)"])
    let numpy = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Double])
    #expect(numpy["clean"]! > 0.6, "the reference model did not learn: \(numpy)")
    for eps in ["0.02", "0.05"] {
      for method in ["fgsm", "pgd"] {
        var args = ["attack", "evasion", model, "--allow-unsigned", "--method", method, "--eps", eps, "--count", "\(n)", "--json"]
        if method == "pgd" { args += ["--steps", "10", "--no-random-start"] }
        let r = try CLI.run(args)
        #expect(r.status == 0, "\(r.stderr)")
        let json = try #require(r.json)
        #expect(json["clean_accuracy"] as? Double == numpy["clean"], "\(json)")
        let ours = try #require(json["robust_accuracy"] as? Double)
        let theirs = numpy["\(method) \(Double(eps)!)"]!
        // Float32 here, float64 there: a pixel whose gradient is ~0 may take the other sign.
        #expect(abs(ours - theirs) <= 0.01, "\(method) ε \(eps): ByzSim \(ours), NumPy \(theirs)")
        #expect(ours < numpy["clean"]!, "\(method) ε \(eps) did not lower the accuracy")
        #expect(json["method"] as? String == method && json["eps"] as? Double == Double(eps))
      }
    }
    // Restarts with random starts never do worse than one PGD run without them.
    let one = try CLI.run(["attack", "evasion", model, "--allow-unsigned", "--method", "pgd", "--eps", "0.05", "--count", "200", "--json"])
    let three = try CLI.run([
      "attack", "evasion", model, "--allow-unsigned", "--method", "pgd", "--eps", "0.05", "--count", "200", "--restarts", "3", "--json",
    ])
    #expect((three.json?["robust_accuracy"] as? Double ?? 1) <= (one.json?["robust_accuracy"] as? Double ?? 0))
    // ε = 0 (the first point of a robust-accuracy curve): nothing moves; robust = clean.
    let zero = try CLI.run(["attack", "evasion", model, "--allow-unsigned", "--method", "pgd", "--eps", "0", "--count", "200", "--json"])
    #expect(zero.status == 0, "\(zero.stderr)")
    #expect(zero.json?["robust_accuracy"] as? Double == zero.json?["clean_accuracy"] as? Double && zero.json?["alpha"] as? Double == 0)
  }

  @Test func badArgumentsAreClearErrors() throws {
    for (args, message) in [
      (["--method", "fgsm", "--eps", "0.1", "--norm", "l2"], "FGSM"),
      (["--method", "pgd", "--eps", "-1"], "ε"),
      (["--method", "pgd", "--eps", "0.1", "--steps", "0"], "steps"),
      (["--method", "pgd", "--eps", "0.1", "--alpha", "0"], "step size α"),
      (["--method", "bim", "--eps", "0.1"], "method"),
    ] {
      let r = try CLI.run(["attack", "evasion", "/nonexistent.safetensors"] + args)
      #expect(r.status != 0 && r.stderr.contains(message), "\(args): \(r.stderr)")
    }
    let pickle = CLI.temporaryDirectory().appendingPathComponent("model.pt").path
    try Data([0x80, 0x02, 0x7D, 0x71, 0x00, 0x2E]).write(to: URL(fileURLWithPath: pickle))
    let r = try CLI.run(["attack", "evasion", pickle, "--method", "fgsm", "--eps", "0.1"])
    #expect(r.status != 0 && r.stderr.lowercased().contains("pickle"), "\(r.stderr)")
  }

  /// Transfer: examples crafted on a surrogate and measured on the target. With the target as
  /// its own surrogate the figures are the white-box ones exactly — from the file and through a
  /// real server (whose label answers are the model's argmax) alike; a different model as the
  /// surrogate (an MLP NumPy trained) still costs the target accuracy; a server without a
  /// surrogate is a clear error.
  @Test func transferFromASurrogateToAFileAndAServer() throws {
    let (config, model, dir) = try ServeTests.deployment()
    let server = try ServerProcess([model, "--config", config])
    defer { server.stop() }
    let url = "http://127.0.0.1:\(server.port)"
    let args = ["--method", "pgd", "--eps", "0.1", "--steps", "5", "--count", "200", "--json"]
    let white = try CLI.run(["attack", "evasion", model] + args)
    #expect(white.status == 0, "\(white.stderr)")
    let clean = try #require(white.json?["clean_accuracy"] as? Double), robust = try #require(white.json?["robust_accuracy"] as? Double)
    let itself = try CLI.run(["attack", "evasion", model, "--surrogate", model] + args)
    #expect(itself.json?["robust_accuracy"] as? Double == robust && itself.json?["surrogate_robust_accuracy"] as? Double == robust)
    let served = try CLI.run(["attack", "evasion", url, "--token", ServeTests.tokens["bob"]!, "--surrogate", model] + args)
    #expect(served.status == 0, "\(served.stderr)")
    #expect(served.json?["clean_accuracy"] as? Double == clean && served.json?["robust_accuracy"] as? Double == robust, "\(served.stdout)")
    #expect(served.json?["answered"] as? Int == 400)
    let other = dir + "/other.safetensors"
    _ = try ReferencePython.run(["-c", Self.script, other, "10"])
    let transfer = try CLI.run(["attack", "evasion", model, "--surrogate", other, "--allow-unsigned"] + args)
    #expect(transfer.status == 0, "\(transfer.stderr)")
    let moved = try #require(transfer.json?["robust_accuracy"] as? Double)
    #expect(moved < clean - 0.05 && transfer.json?["clean_accuracy"] as? Double == clean, "\(transfer.stdout)")
    let blind = try CLI.run(["attack", "evasion", url, "--token", ServeTests.tokens["bob"]!, "--method", "fgsm", "--eps", "0.1"])
    #expect(blind.status != 0 && blind.stderr.contains("--surrogate"), "\(blind.stderr)")
  }
}
