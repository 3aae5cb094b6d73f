import Foundation
import Testing
import Transport

/// Real multi-process runs on loopback: determinism, faults, security.
@Suite(.serialized) struct RunCommandTests {
  static func topology(rounds: Int, workers: Int, model: String = "mlp", curve: Bool = true, extra: String = "") -> String {
    """
    name = "it"
    seed = 5
    rounds = \(rounds)
    [data]
    train_limit = 3000
    test_limit = 500
    [model]
    kind = "\(model)"
    [training]
    batch_size = 32
    learning_rate = 0.05
    [coordinator]
    eval_every = 5
    checkpoint_every = 5
    heartbeat_ms = 100
    liveness_ms = 2000
    round_deadline_ms = 3000
    \(extra)
    [[workers]]
    count = \(workers)
    [security]
    curve = \(curve)
    """
  }

  static func write(_ text: String) -> (file: String, runs: String) {
    let dir = CLI.temporaryDirectory()
    let file = dir.appendingPathComponent("t.toml")
    try! text.write(to: file, atomically: true, encoding: .utf8)
    return (file.path, dir.appendingPathComponent("runs").path)
  }

  static func metrics(_ runDir: String) throws -> [[String: Any]] {
    let text = try String(contentsOfFile: runDir + "/metrics.jsonl", encoding: .utf8)
    return text.split(separator: "\n").map {
      var m = try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
      m["timing"] = nil
      return m
    }
  }

  static func sameMetrics(_ a: String, _ b: String) throws -> Bool {
    let x = try metrics(a), y = try metrics(b)
    return x.count == y.count && zip(x, y).allSatisfy { NSDictionary(dictionary: $0) == NSDictionary(dictionary: $1) }
  }

  static func sameModel(_ a: String, _ b: String) -> Bool {
    FileManager.default.contents(atPath: a + "/model.bin") == FileManager.default.contents(atPath: b + "/model.bin")
  }

  @Test func validateReportsFileKeyAndLine() throws {
    let (good, _) = Self.write(Self.topology(rounds: 2, workers: 2))
    let ok = try CLI.run(["validate", good])
    #expect(ok.status == 0 && ok.stdout.contains("ok"))
    let (bad, _) = Self.write("rounds = 3\n[[workers]]\ncount = 2\nbehaviour = \"honest\"\n")
    let r = try CLI.run(["validate", bad])
    #expect(r.status != 0)
    #expect(r.stderr.contains("\(bad):4: workers[0].behaviour: unknown key"))
  }

  @Test func processesAndThreadsAreBitIdentical() throws {
    let (file, runs) = Self.write(Self.topology(rounds: 12, workers: 3))
    let p = try CLI.run(["run", file, "--runs-dir", runs, "--json"])
    #expect(p.status == 0, "\(p.stderr)")
    let t = try CLI.run(["run", file, "--runs-dir", runs, "--json", "--threads"])
    #expect(t.status == 0, "\(t.stderr)")
    let pj = try #require(p.json), tj = try #require(t.json)
    for key in ["run_dir", "rounds", "test_accuracy", "test_loss", "ms_per_round", "workers_alive", "rejected_frames"] {
      #expect(pj[key] != nil, "missing \(key)")
    }
    #expect(pj["mode"] as? String == "processes" && tj["mode"] as? String == "threads")
    let a = pj["run_dir"] as! String, b = tj["run_dir"] as! String
    #expect(try Self.sameMetrics(a, b))
    #expect(Self.sameModel(a, b))
    #expect(try Self.metrics(a).count == 12)
    // The run directory holds what DESIGN.md promises.
    for f in [
      "topology.json", "manifest.json", "metrics.jsonl", "model.bin", "checkpoint.bin", "summary.json", "logs/coordinator.log",
      "shards/worker-0.bin", "keys/public.json",
    ] {
      #expect(FileManager.default.fileExists(atPath: a + "/" + f), "missing \(f)")
    }
  }

  /// Starts `byzsim run` in the background and returns its process and run directory.
  static func startRun(_ args: [String]) throws -> (Process, Pipe) {
    let p = Process()
    p.executableURL = CLI.binary
    p.arguments = args
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    try p.run()
    return (p, out)
  }

  static func waitFor(_ what: String, timeout: Double = 60, _ condition: () -> Bool) throws {
    let until = Date().addingTimeInterval(timeout)
    while !condition() {
      guard Date() < until else { throw CLIError("timed out waiting for \(what)") }
      usleep(20_000)
    }
  }

  static func newestRun(in runs: String) -> String? {
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: runs).sorted(), let last = names.last else { return nil }
    return runs + "/" + last
  }

  static func lines(_ path: String) -> Int {
    (try? String(contentsOfFile: path, encoding: .utf8))?.split(separator: "\n").count ?? 0
  }

  static func pid(_ runDir: String, _ role: String) -> Int32? {
    guard let d = FileManager.default.contents(atPath: runDir + "/processes.json"),
      let o = try? JSONSerialization.jsonObject(with: d) as? [String: Int], let p = o[role]
    else { return nil }
    return Int32(p)
  }

  @Test func killedWorkerIsLoggedAndRejoins() throws {
    let (file, runs) = Self.write(Self.topology(rounds: 400, workers: 3, model: "cnn"))
    let (run, _) = try Self.startRun(["run", file, "--runs-dir", runs, "--json"])
    defer { if run.isRunning { run.terminate() } }
    var dir = ""
    try Self.waitFor("the run to start") {
      if let d = Self.newestRun(in: runs) { dir = d }; return !dir.isEmpty && Self.lines(dir + "/metrics.jsonl") >= 5
    }
    let victim = try #require(Self.pid(dir, "worker-1"))
    kill(victim, SIGKILL)
    try Self.waitFor("worker 1 to be marked dead") {
      ((try? String(contentsOfFile: dir + "/events.log", encoding: .utf8)) ?? "").contains("worker 1 marked dead")
    }
    let restarted = Process()
    restarted.executableURL = CLI.binary
    restarted.arguments = ["worker", "--run-dir", dir, "--id", "1"]
    restarted.standardOutput = FileHandle.nullDevice
    restarted.standardError = FileHandle.nullDevice
    try restarted.run()
    run.waitUntilExit()
    restarted.waitUntilExit()
    #expect(run.terminationStatus == 0)
    let events = try String(contentsOfFile: dir + "/events.log", encoding: .utf8)
    #expect(events.contains("worker 1 rejoined"))
    let m = try Self.metrics(dir)
    #expect(m.count == 400)
    let aggregated = m.map { $0["aggregated"] as! [Int] }
    // Rounds without worker 1 are logged as such, and it contributes again after rejoining.
    let firstMissing = try #require(aggregated.firstIndex { !$0.contains(1) })
    #expect(aggregated[firstMissing...].contains { $0.contains(1) }, "worker 1 never came back")
    #expect(aggregated.last == [0, 1, 2])
  }

  @Test func killedCoordinatorResumesBitIdentically() throws {
    // Centered clipping keeps state across rounds: the checkpoint must carry it.
    let text = Self.topology(rounds: 300, workers: 2, model: "cnn", extra: "aggregator = { name = \"centered_clipping\", tau = 0.5 }")
    let (file, runs) = Self.write(text)
    // Reference: uninterrupted (threads; processes vs threads equality is tested above).
    let reference = try CLI.run(["run", file, "--runs-dir", runs + "-ref", "--json", "--threads"])
    #expect(reference.status == 0, "\(reference.stderr)")
    let (run, _) = try Self.startRun(["run", file, "--runs-dir", runs])
    var dir = ""
    try Self.waitFor("a checkpoint") {
      if let d = Self.newestRun(in: runs) { dir = d }
      return !dir.isEmpty && Self.lines(dir + "/metrics.jsonl") >= 23
    }
    kill(try #require(Self.pid(dir, "coordinator")), SIGKILL)
    run.waitUntilExit()
    #expect(run.terminationStatus != 0)
    #expect(Self.lines(dir + "/metrics.jsonl") < 300)
    let resumed = try CLI.run(["run", "--resume", dir, "--json"])
    #expect(resumed.status == 0, "\(resumed.stderr)")
    #expect((resumed.json?["resumed_from_round"] as? Int ?? 0) >= 20)
    let ref = try #require(reference.json?["run_dir"] as? String)
    #expect(try Self.sameMetrics(dir, ref))
    #expect(Self.sameModel(dir, ref))
  }

  @Test func unknownKeysAndImpostorsAreRefused() throws {
    let (file, runs) = Self.write(Self.topology(rounds: 250, workers: 2, model: "cnn"))
    let (run, out) = try Self.startRun(["run", file, "--runs-dir", runs, "--json"])
    var dir = ""
    try Self.waitFor("the run to start") {
      if let d = Self.newestRun(in: runs) { dir = d }; return !dir.isEmpty && Self.lines(dir + "/metrics.jsonl") >= 2
    }
    // A key that is not in the run's list.
    let rogueKey = try CurveKeyPair.generate()
    let keyFile = dir + "/rogue.secret"
    try rogueKey.secretKey.write(toFile: keyFile, atomically: true, encoding: .utf8)
    var impostors: [Process] = []
    for args in [["--id", "1", "--key-file", keyFile], ["--id", "0", "--claim-id", "1"]] {
      let p = Process()
      p.executableURL = CLI.binary
      p.arguments = ["worker", "--run-dir", dir] + args
      p.standardOutput = FileHandle.nullDevice
      p.standardError = FileHandle.nullDevice
      try p.run()
      impostors.append(p)
    }
    run.waitUntilExit()
    // The impostors leave by themselves once the coordinator is gone; make sure anyway.
    for p in impostors where p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() }
    let summary =
      try JSONSerialization.jsonObject(
        with: out.fileHandleForReading.readDataToEndOfFile().split(separator: 0x0A).last.map { Data($0) } ?? Data()) as? [String: Any]
    let rejected = summary?["rejected_frames"] as? [String: Int] ?? [:]
    #expect((rejected["impersonation"] ?? 0) >= 1, "\(rejected)")
    let events = try String(contentsOfFile: dir + "/events.log", encoding: .utf8)
    #expect(events.contains("refused connection") && events.contains(rogueKey.publicKey))
    #expect(events.contains("impersonation"))
    // The real workers were never displaced.
    #expect((try Self.metrics(dir).last?["aggregated"] as? [Int]) == [0, 1])
  }

  @Test func robustAggregationRunsFromTopologies() throws {
    let extra = "aggregator = \"fltrust\"\nroot_dataset_size = 100\npreaggregators = [{ name = \"clipping\", c = 50 }]"
    let (file, runs) = Self.write(Self.topology(rounds: 6, workers: 4, extra: extra))
    let r = try CLI.run(["run", file, "--runs-dir", runs, "--json", "--threads"])
    #expect(r.status == 0, "\(r.stderr)")
    let dir = try #require(r.json?["run_dir"] as? String)
    #expect(FileManager.default.fileExists(atPath: dir + "/shards/root.bin"))
    let m = try Self.metrics(dir)
    #expect(m.count == 6 && m.allSatisfy { $0["skipped"] is NSNull })
    let w = try #require(m.last?["weights"] as? [String: Double])
    #expect(w.count == 4 && w.values.allSatisfy { $0 >= 0 })
    let bad = try CLI.run([
      "validate", Self.write(Self.topology(rounds: 2, workers: 4, extra: "aggregator = { name = \"krum\", f = 1 }")).file,
    ])
    #expect(bad.status != 0 && bad.stderr.contains("Krum needs n > 2f + 2: got n=4, f=1"))
  }

  @Test func aggregateCommandOnUserCSV() throws {
    let dir = CLI.temporaryDirectory()
    let input = dir.appendingPathComponent("u.csv").path
    try "1,2,3\n4,5,60\n7,8,9\n".write(toFile: input, atomically: true, encoding: .utf8)
    let r = try CLI.run(["aggregate", "--rule", "trimmed_mean", "--f", "1", "--input", input])
    #expect(r.status == 0 && r.stdout == "4.0,5.0,9.0\n", "\(r.stdout) \(r.stderr)")
    let k = try CLI.run(["aggregate", "--rule", "krum", "--f", "1", "--input", input])
    #expect(k.status != 0 && k.stderr.contains("Krum needs n > 2f + 2: got n=3, f=1"))
    try "1,2\n3\n".write(toFile: input, atomically: true, encoding: .utf8)
    let bad = try CLI.run(["aggregate", "--rule", "mean", "--input", input])
    #expect(bad.status != 0 && bad.stderr.contains("u.csv:2:"))
    try "1,2\nnan,3\n5,6\n".write(toFile: input, atomically: true, encoding: .utf8)
    let nan = try CLI.run(["aggregate", "--rule", "median", "--input", input])
    #expect(nan.status == 0 && nan.stdout == "3.0,4.0\n" && nan.stderr.contains("line 2 rejected (non_finite)"))
    let list = try CLI.run(["aggregate", "--list"])
    for name in ["krum", "bulyan", "flame", "signguard", "nnm", "arc"] { #expect(list.stdout.contains(name)) }
  }

  @Test func curveOffWorksAndWarns() throws {
    let (file, runs) = Self.write(Self.topology(rounds: 3, workers: 2, curve: false))
    let r = try CLI.run(["run", file, "--runs-dir", runs, "--json"])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stderr.contains("WARNING") && r.stderr.contains("curve = false"))
  }
}

struct CLIError: Error, CustomStringConvertible {
  let description: String
  init(_ d: String) { description = d }
}
