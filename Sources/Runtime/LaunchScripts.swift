import Foundation

/// The scripts `byzsim launch` writes: an sbatch script with one `srun --multi-prog` step, or an
/// Open MPI MPMD command line. Every rank runs `byzsim role rank --launch RUN --role R`; the
/// coordinator's address reaches the ranks as `BYZSIM_COORDINATOR_HOST`.
public enum LaunchScripts {
  /// One rank command: the absolute binary, the run directory and the role the line launches.
  static func rankCommand(binary: String, run: RunDirectory, role: LaunchPlan.RankRole) -> String {
    [binary, "role", "rank", "--launch", absolute(run.path), "--role", role.rawValue].map(quote).joined(separator: " ")
  }

  /// `srun --multi-prog`'s configuration: rank 0 the coordinator, rank 1 the hub (if any), the
  /// rest the workers (each derives its id from its rank).
  public static func multiProg(_ plan: LaunchPlan, run: RunDirectory, binary: String) -> String {
    var lines = ["# rank(s)  command — written by byzsim launch slurm; see launch/plan.json"]
    lines.append("0 \(rankCommand(binary: binary, run: run, role: .coordinator))")
    if plan.hasHub { lines.append("1 \(rankCommand(binary: binary, run: run, role: .hub))") }
    let first = plan.firstWorkerRank
    lines.append("\(first)-\(plan.ranks - 1) \(rankCommand(binary: binary, run: run, role: .worker))")
    return lines.joined(separator: "\n") + "\n"
  }

  /// The sbatch script. The coordinator's address comes from the job's node list (the first
  /// node's NodeAddr); an arbitrary distribution puts rank 0 and the hub on that node and deals
  /// the workers over every node of the job.
  public static func sbatch(
    _ plan: LaunchPlan, run: RunDirectory, name: String, workingDirectory: String, extraOptions: [String]
  ) -> String {
    let runPath = absolute(run.path)
    let logs = (runPath as NSString).appendingPathComponent("logs")
    let conf = (runPath as NSString).appendingPathComponent("launch/ranks.conf")
    let hostsPrefix = (runPath as NSString).appendingPathComponent("launch/hosts-")
    var header = [
      "#!/bin/bash",
      "#SBATCH --job-name=\(sanitize(name))",
      "#SBATCH --ntasks=\(plan.ranks)",
      "#SBATCH --overcommit",
      "#SBATCH --output=\(logs)/sbatch-%j.log",
      "#SBATCH --chdir=\(workingDirectory)",
    ]
    header += extraOptions.map { "#SBATCH \($0)" }
    let leaders = plan.hasHub ? "\"$first\" \"$first\"" : "\"$first\""
    let body = """
      # Written by `byzsim launch slurm`; submit with sbatch. ZeroMQ carries the updates over TCP
      # (port \(plan.coordinatorPort)\(plan.hasHub ? ", the hub \(plan.hubPort)" : "")); Slurm only starts the ranks.
      set -euo pipefail
      export OPENBLAS_NUM_THREADS=1
      mapfile -t nodes < <(scontrol show hostnames "$SLURM_JOB_NODELIST")
      first="${nodes[0]}"
      addr=$(scontrol show node "$first" | sed -n 's/.*NodeAddr=\\([^ ]*\\).*/\\1/p')
      export BYZSIM_COORDINATOR_HOST="${addr:-$first}"
      hosts=\(quote(hostsPrefix))"$SLURM_JOB_ID"
      {
        printf '%s\\n' \(leaders)
        for ((w = 0; w < \(plan.workers); w++)); do printf '%s\\n' "${nodes[w % ${#nodes[@]}]}"; done
      } > "$hosts"
      export SLURM_HOSTFILE="$hosts"
      srun --overcommit --distribution=arbitrary --ntasks=\(plan.ranks) --kill-on-bad-exit=1 \\
        --output=\(quote(logs + "/rank-%t.log")) --multi-prog \(quote(conf))
      """
    return header.joined(separator: "\n") + "\n" + body + "\n"
  }

  /// The mpirun script: Open MPI's MPMD syntax, one app context per role. With hosts, the
  /// coordinator and the hub run on the first one (its address is the coordinator's) and the
  /// workers on all of them; without, every rank runs here and the coordinator is 127.0.0.1.
  public static func mpirun(_ plan: LaunchPlan, run: RunDirectory, binary: String, hosts: [String], asRoot: Bool) -> String {
    let runPath = absolute(run.path)
    let coordinatorHost = hosts.first ?? "127.0.0.1"
    var global = ["mpirun"]
    if asRoot { global.append("--allow-run-as-root") }  // written by root: Open MPI refuses root without it
    global += ["--oversubscribe", "--output-filename", quote((runPath as NSString).appendingPathComponent("logs/mpirun"))]
    // -x is per app context in MPMD launches: every context exports both.
    let leaderHost = ["-x", "OPENBLAS_NUM_THREADS", "-x", "BYZSIM_COORDINATOR_HOST"] + (hosts.first.map { ["--host", quote($0)] } ?? [])
    let workerHosts =
      ["-x", "OPENBLAS_NUM_THREADS", "-x", "BYZSIM_COORDINATOR_HOST"]
      + (hosts.isEmpty ? [] : ["--host", quote(hosts.map { "\($0):\(plan.workers)" }.joined(separator: ","))])
    var contexts = [(["-np", "1"] + leaderHost + [rankCommand(binary: binary, run: run, role: .coordinator)]).joined(separator: " ")]
    if plan.hasHub {
      contexts.append((["-np", "1"] + leaderHost + [rankCommand(binary: binary, run: run, role: .hub)]).joined(separator: " "))
    }
    contexts.append(
      (["-np", String(plan.workers)] + workerHosts + [rankCommand(binary: binary, run: run, role: .worker)]).joined(separator: " "))
    return """
      #!/bin/bash
      # Written by `byzsim launch mpirun`. MPI only starts the ranks (rank from OMPI_COMM_WORLD_RANK);
      # ZeroMQ carries the updates over TCP (port \(plan.coordinatorPort)\(plan.hasHub ? ", the hub \(plan.hubPort)" : "")).
      set -euo pipefail
      export OPENBLAS_NUM_THREADS=1
      export BYZSIM_COORDINATOR_HOST=\(quote(coordinatorHost))
      exec \(global.joined(separator: " ")) \\
        \(contexts.joined(separator: " : \\\n  "))

      """
  }

  static func absolute(_ path: String) -> String {
    path.hasPrefix("/") ? path : (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(path)
  }

  /// A shell word: bare when it is plainly safe, single-quoted otherwise.
  static func quote(_ word: String) -> String {
    if !word.isEmpty, word.allSatisfy({ $0.isLetter || $0.isNumber || "/._-:=%,+@".contains($0) }) { return word }
    return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
  }

  static func sanitize(_ name: String) -> String {
    String(name.map { $0.isLetter || $0.isNumber || "-_.".contains($0) ? $0 : "-" })
  }
}
