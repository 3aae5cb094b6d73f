import Foundation
import Runtime
import Synchronization
import TOML

/// Runs a sweep's cells × seeds as `byzsim run` subprocesses (at most `jobs` at once), each in
/// its own run directory under `<sweep dir>/cells/` (identical shards stored once, in
/// `<sweep dir>/shards/`), and writes `summary.csv`. A finished,
/// manifest-verified run is never redone, so a killed sweep loses only the runs in flight.
public final class SweepRunner {
  public struct Progress: Sendable {
    public let done: Int, total: Int
    public let running: [String]
    public let etaSeconds: Double?
  }

  public let spec: SweepSpec
  public let directory: String
  let binary: String
  let jobs: Int
  let processes: Bool

  public init(spec: SweepSpec, directory: String, binary: String, jobs: Int, processes: Bool) {
    self.spec = spec; self.directory = directory; self.binary = binary; self.jobs = jobs; self.processes = processes
  }

  /// Creates `root/<name>-<UTC time>` with copies of the sweep and base files.
  public static func create(_ spec: SweepSpec, under root: String) throws -> String {
    let dir = try RunDirectory.create(name: spec.name, under: root).path
    // The sweep's own shards/ stays: it is the cells' shared shard store (ShardStore).
    for sub in ["logs", "keys"] { try? FileManager.default.removeItem(atPath: (dir as NSString).appendingPathComponent(sub)) }
    try FileManager.default.copyItem(atPath: spec.file, toPath: (dir as NSString).appendingPathComponent("sweep.toml"))
    try FileManager.default.copyItem(atPath: spec.baseFile, toPath: (dir as NSString).appendingPathComponent("base.toml"))
    return dir
  }

  /// The spec saved in a sweep directory (for --resume).
  public static func load(directory: String) throws -> SweepSpec {
    let file = (directory as NSString).appendingPathComponent("sweep.toml")
    guard let data = FileManager.default.contents(atPath: file) else {
      throw TopologyError(
        file: file, line: 0, key: "",
        message: FileManager.default.fileExists(atPath: directory)
          ? "not found: is \(directory) a sweep directory (made by byzsim sweep)?" : "no such directory \(directory)")
    }
    let text = String(decoding: data, as: UTF8.self)
    // The copy's base is the copied base.toml beside it.
    let patched = text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
      line.trimmingCharacters(in: .whitespaces).hasPrefix("base") && line.contains("=") ? "base = \"base.toml\"" : String(line)
    }.joined(separator: "\n")
    // A reproduction's copy keeps its paper's [paper], [quick] and [[claims]] tables; its record
    // says whether it ran scaled down, which decides its cells.
    let record = (directory as NSString).appendingPathComponent("reproduction.json")
    guard FileManager.default.fileExists(atPath: record) else { return try SweepSpec.decode(patched, file: file) }
    guard let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: record))) as? [String: Any],
      let quick = json["quick"] as? Bool
    else { throw TopologyError(file: record, line: 0, key: "quick", message: "not a reproduction record (no \"quick\": true or false)") }
    let table: TOMLTable
    do { table = try TOML.parse(patched) } catch let e as TOMLParseError {
      throw TopologyError(file: file, line: e.line, key: "", message: "not valid TOML: \(e.message)")
    }
    return try SweepSpec.decode(table: table, file: file, extraKeys: ["paper", "quick", "claims"], quick: quick)
  }

  struct Job { let cell: SweepSpec.Cell; let seed: UInt64; let topology: Topology; var path: String }

  public func jobList() -> [(cell: SweepSpec.Cell, seed: UInt64, topology: Topology, path: String)] {
    spec.cells.flatMap { c in c.topologies.map { (c, $0.0, $0.1, (directory as NSString).appendingPathComponent("cells/\(c.id)-s\($0.0)")) }
    }
  }

  /// Runs what is not finished yet; returns the summary rows written to summary.csv.
  /// One sweep writer per directory: a second `sweep --resume` of a running sweep is refused.
  /// `resumeCommand` is what an interrupt prints.
  public func run(resumeCommand: String? = nil, onProgress: (Progress) -> Void) throws -> [[String]] {
    let lock = try DirectoryLock(directory: directory, what: "this sweep directory")
    defer { withExtendedLifetime(lock) {} }
    let store = try ShardStore(directory: (directory as NSString).appendingPathComponent("shards"))
    let all = jobList()
    var pending = all.filter { !RunDirectory(path: $0.path).isComplete() }
    let total = all.count
    var done = total - pending.count
    let counts = Mutex<(Int, Int)>((done, total))
    let resume = resumeCommand ?? "byzsim sweep --resume \(directory)"
    Interrupts.setStatus {
      counts.withLock { "interrupted with \($0.0) of \($0.1) runs done (finished runs are kept); resume with: \(resume)" }
    }
    var running: [(name: String, process: Process, started: Date)] = []
    var durations: [Double] = []
    var failures: [String] = []
    while !pending.isEmpty || !running.isEmpty {
      while running.count < jobs, !pending.isEmpty {
        let job = pending.removeFirst()
        // A partial run of a killed sweep is redone from scratch, unless a writer still holds it.
        if let pid = DirectoryLock.holder(of: job.path) {
          throw RuntimeError(
            "\(job.path): this cell is still being written by process \(pid); stop it (kill \(pid)) before resuming the sweep")
        }
        if FileManager.default.fileExists(atPath: job.path) { try FileManager.default.removeItem(atPath: job.path) }
        let run = try Launcher.prepare(job.topology, in: try RunDirectory.create(at: job.path))
        try store.share(run)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = ["run", "--resume", run.path, "--json"] + (processes ? [] : ["--threads"])
        var env = ProcessInfo.processInfo.environment
        env["OPENBLAS_NUM_THREADS"] = "1"
        p.environment = env
        FileManager.default.createFile(atPath: run.path + "/logs/run.log", contents: nil)
        let log = FileHandle(forWritingAtPath: run.path + "/logs/run.log")!
        p.standardOutput = log
        p.standardError = log
        Interrupts.register(p)
        try p.run()
        running.append(("\(job.cell.id)-s\(job.seed)", p, Date()))
      }
      usleep(200_000)
      for (k, r) in running.enumerated().reversed() where !r.process.isRunning {
        running.remove(at: k)
        Interrupts.unregister(r.process)
        done += 1
        counts.withLock { $0.0 = done }
        durations.append(Date().timeIntervalSince(r.started))
        if r.process.terminationStatus != 0 { failures.append(r.name) }
      }
      let mean = durations.isEmpty ? nil : durations.reduce(0, +) / Double(durations.count)
      onProgress(
        Progress(
          done: done, total: total, running: running.map(\.name),
          etaSeconds: mean.map { $0 * Double(total - done) / Double(max(1, jobs)) }))
    }
    let rows = try summarize()
    if !failures.isEmpty {
      throw RuntimeError(
        "\(failures.count) run(s) failed: \(failures.joined(separator: ", ")); see cells/<id>/logs/run.log, then resume with: byzsim sweep --resume \(directory)"
      )
    }
    return rows
  }

  /// One row per cell: grid values, seeds, mean ± 95% CI of accuracy, attack success and
  /// detection F1 (audited runs), and the cell's total wall time.
  public func summarize() throws -> [[String]] {
    let header =
      ["cell"] + spec.gridKeys + [
        "seeds", "accuracy_mean", "accuracy_ci95", "attack_success_mean", "attack_success_ci95",
        "detection_f1_mean", "detection_f1_ci95", "wall_seconds",
      ]
    var rows = [header]
    let jobs = jobList()
    for cell in spec.cells {
      var acc: [Double] = [], asr: [Double] = [], f1: [Double] = [], wall = 0.0, n = 0
      for job in jobs where job.cell.id == cell.id {
        let run = RunDirectory(path: job.path)
        guard run.isComplete(), let s = try? run.loadSummary() else { continue }
        n += 1
        if let a = s.testAccuracy { acc.append(a) }
        if let a = s.attackSuccessRate { asr.append(a) }
        if let f = s.detection?.f1 { f1.append(f) }
        wall += s.seconds
      }
      func fmt(_ x: [Double]) -> [String] {
        guard let (m, ci) = Statistics.meanCI(x) else { return ["", ""] }
        return [String(format: "%.6f", m), ci.map { String(format: "%.6f", $0) } ?? ""]
      }
      rows.append([cell.id] + cell.values.map(\.1) + [String(n)] + fmt(acc) + fmt(asr) + fmt(f1) + [String(format: "%.2f", wall)])
    }
    let csv = rows.map { $0.map(Self.csvField).joined(separator: ",") }.joined(separator: "\n") + "\n"
    try csv.write(toFile: (directory as NSString).appendingPathComponent("summary.csv"), atomically: true, encoding: .utf8)
    return rows
  }

  static func csvField(_ s: String) -> String {
    s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
  }
}
