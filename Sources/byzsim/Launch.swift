import ArgumentParser
import Foundation
import Runtime

/// `byzsim launch slurm|mpirun FILE`: prepare a run for a cluster launcher and write (and with
/// `--submit` start) the script that launches its ranks.
struct LaunchCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "launch", abstract: "Launch a topology under Slurm or Open MPI across hosts (ZeroMQ still carries the updates).",
    discussion: """
      Both write RUN_DIR/launch/ (plan.json and the script) after preparing the run: the coordinator
      keeps the run directory with only its own secret key; the hub and every worker get a bundle
      (bundles/hub, bundles/worker-I) with only their own key and shard. RUN_DIR must be on a
      filesystem every node sees. Results land in RUN_DIR as for `byzsim run` (summary.json).

      Examples:
        byzsim launch slurm topologies/default.toml --submit --wait
        byzsim launch mpirun topologies/two-host.toml --hosts node1,node2 --submit
      """,
    subcommands: [Slurm.self, MPIRun.self])

  struct Common: ParsableArguments {
    @Argument(help: "Topology file.", completion: .file(extensions: ["toml"]))
    var file: String
    @Option(help: "Where run directories are created.")
    var runsDir: String = "runs"
    @Option(help: "The coordinator's TCP port (default: the topology's tcp:// port, else 5555); the hub takes the next.")
    var port: Int?
    @Flag(help: "End stdout with one JSON object (run_dir, script, and what --submit did).")
    var json = false
  }

  struct Output: Encodable {
    var runDir: String
    var script: String
    var ranks: Int
    var jobID: String?
    var exitStatus: Int32?
    var testAccuracy: Double?
  }

  /// Prepares the run and writes `script` (mode 0755) under launch/.
  static func prepare(
    _ common: Common, scheduler: String, scriptName: String, render: (LaunchPlan, RunDirectory) -> String
  ) throws -> (
    RunDirectory, LaunchPlan, String
  ) {
    let topology = try Topology.load(path: ShippedFiles.locate(common.file, what: "topology file"))
    let (run, plan) = try ClusterLaunch.prepare(topology, runsRoot: common.runsDir, scheduler: scheduler, port: common.port)
    let script = try ClusterLaunch.writeLaunchFile(run, name: scriptName, text: render(plan, run), executable: true)
    FileHandle.standardError.write(
      Data(
        "byzsim launch \(scheduler): \(topology.name), \(plan.ranks) ranks (coordinator\(plan.hasHub ? ", hub" : ""), \(plan.workers) workers) — \(run.path)\n"
          .utf8))
    return (run, plan, script)
  }

  /// The run's test accuracy once its coordinator has written summary.json.
  static func accuracy(_ run: RunDirectory) throws -> Double? { try run.loadSummary().testAccuracy }

  static func finish(_ out: Output, json: Bool) throws {
    if json { print(String(decoding: try JSONEncoder.snake().encode(out), as: UTF8.self)) } else { print(out.script) }
  }

  /// Runs a command to its end, its output passed through to ours.
  static func execute(_ args: [String], capture: Bool) throws -> (status: Int32, stdout: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = args
    let pipe = Pipe()
    if capture { p.standardOutput = pipe }
    do { try p.run() } catch { throw UserError("\(args[0]): cannot start (\(error)); is it installed and on PATH?") }
    Interrupts.register(p)
    let out = capture ? String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self) : ""
    p.waitUntilExit()
    return (p.terminationStatus, out)
  }

  struct Slurm: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "slurm", abstract: "Write an sbatch script (one srun --multi-prog step) for a topology; --submit submits it.",
      discussion: """
        Rank 0 is the coordinator, rank 1 the hub (runs with update attacks), the rest the workers; the
        coordinator's address is the first node of the job's node list.

        Examples:
          byzsim launch slurm topologies/two-host.toml --sbatch-option=--nodes=2
          byzsim launch slurm topologies/default.toml --submit --wait
        """)
    @OptionGroup var common: Common
    @Option(name: .customLong("sbatch-option"), help: "An extra #SBATCH line, e.g. --sbatch-option=--partition=cpu (repeatable).")
    var sbatchOptions: [String] = []
    @Flag(help: "Submit the script with sbatch.")
    var submit = false
    @Flag(help: "With --submit: wait for the job to end (sbatch --wait) and report the run's result.")
    var wait = false

    func validate() throws {
      if wait && !submit { throw ValidationError("--wait goes with --submit") }
      for o in sbatchOptions where !o.hasPrefix("-") || o.contains("\n") {
        throw ValidationError("--sbatch-option '\(o)': an sbatch option such as --partition=cpu")
      }
    }

    func run() throws {
      let cwd = FileManager.default.currentDirectoryPath
      let (run, plan, script) = try LaunchCommand.prepare(common, scheduler: "slurm", scriptName: "job.sbatch") { plan, run in
        LaunchScripts.sbatch(
          plan, run: run, name: "byzsim-" + ((common.file as NSString).lastPathComponent as NSString).deletingPathExtension,
          workingDirectory: cwd, extraOptions: sbatchOptions)
      }
      _ = try ClusterLaunch.writeLaunchFile(
        run, name: "ranks.conf", text: LaunchScripts.multiProg(plan, run: run, binary: Launcher.executablePath), executable: false)
      var out = Output(runDir: run.path, script: script, ranks: plan.ranks)
      if submit {
        let r = try LaunchCommand.execute(["sbatch", "--parsable"] + (wait ? ["--wait"] : []) + [script], capture: true)
        out.jobID = r.stdout.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        out.exitStatus = r.status
        guard r.status == 0 else {
          throw UserError(
            "sbatch exited with status \(r.status) (job \(out.jobID ?? "not submitted")); the ranks' logs are in \(run.logsDirectory)")
        }
        if wait { out.testAccuracy = try LaunchCommand.accuracy(run) }
        FileHandle.standardError.write(Data("byzsim launch slurm: job \(out.jobID ?? "?")\(wait ? " finished" : " submitted")\n".utf8))
      }
      try LaunchCommand.finish(out, json: common.json)
    }
  }

  struct MPIRun: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "mpirun", abstract: "Write an Open MPI (MPMD) launch script for a topology; --submit runs it.",
      discussion: """
        Rank 0 is the coordinator, rank 1 the hub (runs with update attacks), the rest the workers,
        each rank from OMPI_COMM_WORLD_RANK. With --hosts the coordinator and hub run on the first host.

        Examples:
          byzsim launch mpirun topologies/default.toml --submit
          byzsim launch mpirun topologies/two-host.toml --hosts node1,node2
        """)
    @OptionGroup var common: Common
    @Option(help: "Hosts, comma-separated (the first runs the coordinator); default: every rank on this host.")
    var hosts: String?
    @Flag(help: "Run the script (mpirun) and report the run's result.")
    var submit = false

    func run() throws {
      let hostList = (hosts ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
      let (run, plan, script) = try LaunchCommand.prepare(common, scheduler: "mpirun", scriptName: "mpirun.sh") { plan, run in
        LaunchScripts.mpirun(plan, run: run, binary: Launcher.executablePath, hosts: hostList, asRoot: geteuid() == 0)
      }
      var out = Output(runDir: run.path, script: script, ranks: plan.ranks)
      if submit {
        let r = try LaunchCommand.execute([script], capture: false)
        out.exitStatus = r.status
        guard r.status == 0 else {
          throw UserError("mpirun exited with status \(r.status); the ranks' output is under \(run.logsDirectory)/mpirun")
        }
        out.testAccuracy = try LaunchCommand.accuracy(run)
      }
      try LaunchCommand.finish(out, json: common.json)
    }
  }
}
