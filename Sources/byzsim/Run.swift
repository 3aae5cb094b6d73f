import ArgumentParser
import Foundation
import Runtime
import Tensor

/// `byzsim run`: launch a topology as real processes (or threads) and follow it.
struct Run: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Run a topology: one coordinator and N workers as processes (or threads).",
    discussion:
      """
      Writes runs/<name>-<time>/ (topology.json, manifest.json, metrics.jsonl, events.log, logs/, checkpoint.bin, model.bin, summary.json).

      Examples:
        byzsim run                                   # topologies/default.toml
        byzsim run topologies/attacks/tm-alie.toml --set rounds=50 --set coordinator.aggregator=median
        byzsim run --resume runs/default-20261201T101500Z
      """
  )

  @Argument(help: "Topology file.", completion: .file(extensions: ["toml"]))
  var file: String = "topologies/default.toml"
  @Flag(help: "Run the coordinator and workers as threads of this process over inproc://.")
  var threads = false
  @Option(help: "Continue a killed run from its last checkpoint (a run directory).", completion: .directory)
  var resume: String?
  @OptionGroup var setOptions: OverrideOptions
  @Option(help: "Where run directories are created.")
  var runsDir: String = "runs"
  @Flag(help: "End stdout with one JSON object summarising the run.")
  var json = false
  @Flag(
    help:
      "With --resume: continue from an unsigned or changed checkpoint or manifest anyway; with --init-from: start from a model whose signature does not hold (warns)."
  )
  var allowUnsigned = false
  @Option(
    help: "Start from this model (safetensors only; a pickle is refused) instead of the seeded initialisation.",
    completion: .file(extensions: ["safetensors"]))
  var initFrom: String?
  @Option(
    help: "With --init-from: the signer's public key (PEM); a signed model outside its run directory needs it.",
    completion: .file(extensions: ["pub"]))
  var initPub: String?

  func validate() throws {
    if resume != nil && initFrom != nil {
      throw ValidationError("--init-from starts a new run; a resumed run continues from its checkpoint")
    }
    if initPub != nil && initFrom == nil { throw ValidationError("--init-pub goes with --init-from") }
    if resume != nil && !setOptions.isEmpty { throw ValidationError("--set changes a new run's topology; a resumed run keeps its own") }
  }

  func run() throws {
    let runDir: RunDirectory
    if let resume {
      runDir = RunDirectory(path: resume)
      _ = try runDir.loadTopology()
    } else {
      let topology = try Topology.load(
        path: ShippedFiles.locate(file, what: "topology file"), overrides: setOptions.parsed())
      let initial = initFrom.map { ModelReference(path: $0, publicKey: initPub, allowUnsigned: allowUnsigned) }
      runDir = try Launcher.prepare(topology, runsRoot: runsDir, initFrom: initial)
    }
    let topology = try runDir.loadTopology()
    // Ctrl-C / SIGTERM / SIGHUP: stop every process of the run, say where, exit 130.
    Interrupts.install()
    let path = runDir.path
    Interrupts.setStatus {
      "run interrupted after \(RunDirectory(path: path).roundsLogged()) of \(topology.rounds) rounds (the last checkpoint is kept); resume with: byzsim run --resume \(path)"
    }
    if !topology.security.curve {
      FileHandle.standardError.write(
        Data("byzsim: WARNING: security.curve = false: updates travel unencrypted and worker ids are not authenticated.\n".utf8))
    }
    let progress = ProgressLine()
    progress.note(
      "byzsim run: \(topology.name), \(topology.participantsText), \(topology.rounds) rounds, \(topology.model) — \(runDir.path)\(threads ? " (threads)" : "")"
    )
    var lastAccuracy: Double?
    var pace = RunPace(rounds: topology.rounds)
    let onRound: (RoundMetrics) -> Void = { m in
      if let a = m.testAccuracy { lastAccuracy = a }
      pace.record(round: m.round, ms: m.timing.roundMs)
      let acc = lastAccuracy.map { String(format: "%.4f", $0) } ?? "-"
      let loss = m.testLoss.map { String(format: "  loss %.4f", $0) } ?? ""
      let line = String(
        format: "round %d/%d  accuracy %@%@  %@  workers %d/%d",
        m.round, topology.rounds, acc, loss, pace.text, m.workersAlive, topology.processCount)
      if m.testAccuracy != nil && m.round % max(1, topology.rounds / 10) == 0 { progress.finish(line) } else { progress.update(line) }
    }
    var summary =
      threads
      ? try Launcher.runThreads(runDir, resume: resume != nil, allowUnsigned: allowUnsigned, onRound: onRound)
      : try Launcher.runProcesses(runDir, resume: resume != nil, allowUnsigned: allowUnsigned, onRound: onRound)
    summary.mode = threads ? "threads" : "processes"
    progress.finish(
      String(
        format: "done: test accuracy %.4f, %.2f ms/round, %d workers alive, %d frames rejected — %@",
        summary.testAccuracy ?? 0, summary.msPerRound, summary.workersAlive,
        summary.rejectedFrames.values.reduce(0, +), summary.runDir))
    for c in summary.covert ?? [] {
      let figures = c.measures.keys.sorted().map { k in "\(k) \(String(format: "%.4g", c.measures[k]!))" }.joined(separator: ", ")
      progress.note("covert \(c.channel) from worker \(c.worker), read by the \(c.receiver): \(figures)")
    }
    if json {
      print(String(decoding: try JSONEncoder.snake().encode(summary), as: UTF8.self))
    }
  }
}

/// `byzsim validate`: check a topology file.
struct Validate: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Check a topology file; every error names the file, the key and the line.",
    discussion: """
      Exits 1 when any file is invalid. With --json, stdout is one JSON object: {"files": [{"file", "ok",
      "error", "workers", "rounds", "model", "aggregator", "partition", "curve"}]} (null where not known).

      Examples:
        byzsim validate topologies/*.toml
        byzsim validate topologies/default.toml --set coordinator.aggregator=krum --json
      """)
  @Argument(help: "Topology files.", completion: .file(extensions: ["toml"]))
  var files: [String]
  @OptionGroup var setOptions: OverrideOptions
  @Flag(help: "Print one JSON object on stdout: each file's verdict (and the error's text).")
  var json = false

  struct Checked: Encodable {
    var file: String
    var ok: Bool
    @Nullable var error: String? = nil
    @Nullable var workers: Int? = nil
    @Nullable var rounds: Int? = nil
    @Nullable var model: String? = nil
    @Nullable var aggregator: String? = nil
    @Nullable var partition: String? = nil
    @Nullable var curve: Bool? = nil
  }

  func run() throws {
    var checked: [Checked] = []
    for f in files {
      do {
        let t = try Topology.load(path: f, overrides: setOptions.parsed())
        // The data, when it is here, must fit the model (image shapes, classes, sizes).
        if FileManager.default.fileExists(atPath: t.data.source.location) {
          do { try Launcher.checkData(t) } catch { throw TopologyError(file: f, line: 0, key: "data", message: "\(error)") }
        }
        let c = Checked(
          file: f, ok: true, error: nil, workers: t.workerCount, rounds: t.rounds, model: "\(t.model)",
          aggregator: "\(t.coordinator.aggregator)", partition: "\(t.data.partition)", curve: t.security.curve)
        checked.append(c)
        if !json {
          print(
            "\(f): ok — \(t.participantsText), \(t.rounds) rounds, \(t.model), aggregator \(t.coordinator.aggregator), partition \(t.data.partition), curve \(t.security.curve ? "on" : "off")"
          )
        }
      } catch {
        checked.append(Checked(file: f, ok: false, error: "\(error)"))
        FileHandle.standardError.write(Data("\(error)\n".utf8))
      }
    }
    if json {
      struct Output: Encodable { var files: [Checked] }
      try printJSON(Output(files: checked))
    }
    if checked.contains(where: { !$0.ok }) { throw ExitCode(1) }
  }
}

/// `byzsim prepare`: create a run directory without running it (multi-host launches).
struct Prepare: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Create a run directory (shards, keys, manifest) for `byzsim coordinator` / `byzsim worker`.",
    discussion: """
      --bundle NAME=ROLES writes RUN_DIR/bundles/NAME: a run directory for one host holding the
      topology, manifest and public keys, and for the listed roles only their shards and their own
      secret keys. Roles: coordinator, hub, worker-I, or a range worker-I..J. Copy the bundle, not
      the run directory, to the host.

      Example:
        byzsim prepare topologies/two-host.toml --bundle hostB=worker-0..3
      """)
  @Argument(help: "Topology file.", completion: .file(extensions: ["toml"]))
  var file: String
  @Option(help: "Where run directories are created.")
  var runsDir: String = "runs"
  @Option(help: "A per-host bundle NAME=ROLE[,ROLE...] (repeatable).")
  var bundle: [String] = []

  /// Parses `hostB=worker-0..3,hub` into a name and its roles.
  static func parseBundle(_ text: String) throws -> (name: String, roles: [Role]) {
    let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
    guard parts.count == 2, !parts[0].isEmpty, parts[0].range(of: "^[A-Za-z0-9_.-]+$", options: .regularExpression) != nil else {
      throw ValidationError("--bundle '\(text)': expected NAME=ROLES, e.g. hostB=worker-0..3")
    }
    var roles: [Role] = []
    for item in parts[1].split(separator: ",").map(String.init) {
      if item.hasPrefix("worker-"), item.contains("..") {
        let bounds = item.dropFirst("worker-".count).components(separatedBy: "..")
        guard bounds.count == 2, let lo = Int(bounds[0]), let hi = Int(bounds[1]), lo >= 0, lo <= hi, hi < 4096 else {
          throw ValidationError("--bundle '\(text)': '\(item)' is not a range like worker-0..3")
        }
        roles += (lo...hi).map { .worker($0) }
      } else if let role = Role(item) {
        roles.append(role)
      } else {
        throw ValidationError("--bundle '\(text)': unknown role '\(item)' (coordinator, hub, worker-I or worker-I..J)")
      }
    }
    return (parts[0], roles)
  }

  func validate() throws { for b in bundle { _ = try Self.parseBundle(b) } }

  func run() throws {
    let run = try Launcher.prepare(try Topology.load(path: file), runsRoot: runsDir)
    print(run.path)
    for b in bundle {
      let (name, roles) = try Self.parseBundle(b)
      let out = try Launcher.bundle(run, roles: roles, to: (run.path as NSString).appendingPathComponent("bundles/\(name)"))
      print(out.path)
    }
  }
}
