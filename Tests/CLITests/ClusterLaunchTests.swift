import Foundation
import Testing

/// Issue 20's launches on existing engines: `byzsim launch mpirun` under Open MPI and
/// `byzsim launch slurm` on a one-node Slurm cluster started by the test, each to the same
/// bits as `byzsim run` of the same topology; each rank holds only its own key.
@Suite(.serialized) struct ClusterLaunchTests {
  /// The toy topology with a trimmed mean and one ALIE worker (so a hub rank too).
  static func topology(port: Int, knowledge: String) -> (file: String, runs: String) {
    TrustBoundaryRunTests.topology(
      rounds: 12, workers: 3, endpoint: "tcp://127.0.0.1:\(port)",
      extra: "aggregator = { name = \"trimmed_mean\", f = 1 }\n[[workers]]\ncount = 1\nbehavior = \"alie\"\nknowledge = \"\(knowledge)\"")
  }

  /// A pool of 2 processes simulating 40 logical clients, 8 a round, 4 of them ALIE through
  /// the hub: the ranks are the coordinator, the hub and the pool processes.
  static func clientsTopology(port: Int) -> (file: String, runs: String) {
    TrustBoundaryRunTests.topology(
      rounds: 8, workers: 36, endpoint: "tcp://127.0.0.1:\(port)", head: "clients = 40\nclients_per_round = 8\npool = 2",
      extra: "aggregator = { name = \"trimmed_mean\", f = 1 }\n[[workers]]\ncount = 4\nbehavior = \"alie\"\nknowledge = \"omniscient\"")
  }

  /// A launched run's metrics without their timings: the same as `byzsim run`'s to the bit.
  static func expectSameRun(_ runDir: String, as reference: String) throws {
    #expect(try bytes(runDir + "/model.bin") == bytes(reference + "/model.bin"))
    #expect(try RunCommandTests.sameMetrics(runDir, reference))
  }

  static func bytes(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }

  /// Runs the same topology with `byzsim run` and returns its model.bin and test accuracy.
  static func reference(_ file: String, runs: String) throws -> (model: [UInt8], accuracy: Double) {
    let r = try CLI.run(["run", file, "--runs-dir", runs + "-reference", "--json"])
    #expect(r.status == 0, "\(r.stderr)")
    let json = try #require(r.json)
    let dir = try #require(json["run_dir"] as? String)
    return (try bytes(dir + "/model.bin"), try #require(json["test_accuracy"] as? Double))
  }

  /// The coordinator's directory keeps only its own secret; each bundle only its role's.
  static func expectKeysSeparated(_ runDir: String, workers: Int) throws {
    let fm = FileManager.default
    #expect(
      try fm.contentsOfDirectory(atPath: runDir + "/keys").sorted() == ["coordinator.secret", "public.json", "signing.key", "signing.pub"])
    for role in ["hub"] + (0..<workers).map({ "worker-\($0)" }) {
      let keys = try fm.contentsOfDirectory(atPath: "\(runDir)/bundles/\(role)/keys").sorted()
      #expect(keys == ["public.json", "signing.pub", "\(role).secret"].sorted(), "\(role): \(keys)")
    }
  }

  @Test func mpirunLaunchesTheRanksToTheSameModelAsRun() throws {
    let (file, runs) = Self.topology(port: TrustBoundaryRunTests.freePort(), knowledge: "omniscient")
    let r = try CLI.run(["launch", "mpirun", file, "--runs-dir", runs, "--submit", "--json"])
    #expect(r.status == 0, "\(r.stderr)")
    let json = try #require(r.json, "\(r.stdout)")
    let runDir = try #require(json["run_dir"] as? String)
    #expect(json["ranks"] as? Int == 6)
    let script = try String(contentsOfFile: runDir + "/launch/mpirun.sh", encoding: .utf8)
    #expect(script.contains("-np 1 ") && script.contains("--role coordinator : "))
    #expect(script.contains("-np 4 ") && script.contains("--role worker"))
    try Self.expectKeysSeparated(runDir, workers: 4)
    let reference = try Self.reference(file, runs: runs)
    #expect(try Self.bytes(runDir + "/model.bin") == reference.model)
    #expect(json["test_accuracy"] as? Double == reference.accuracy)
  }

  @Test func slurmLaunchesOneMultiProgStepToTheSameModelAsRun() throws {
    let cluster = try SlurmCluster()
    defer { cluster.stop() }
    let (file, runs) = Self.topology(port: TrustBoundaryRunTests.freePort(), knowledge: "own")
    let r = try CLI.run(["launch", "slurm", file, "--runs-dir", runs, "--submit", "--wait", "--json"], environment: cluster.environment)
    #expect(r.status == 0, "\(r.stderr) \(SlurmCluster.tail(cluster.directory.path + "/slurmd.log"))")
    let json = try #require(r.json, "\(r.stdout)")
    let runDir = try #require(json["run_dir"] as? String)
    #expect(json["job_id"] as? String != nil)
    let conf = try String(contentsOfFile: runDir + "/launch/ranks.conf", encoding: .utf8)
    #expect(conf.contains("\n0 ") && conf.contains("\n1 ") && conf.contains("\n2-5 "))
    // Every rank ran under srun (its log is srun's per-task output).
    for rank in 0..<6 { #expect(FileManager.default.fileExists(atPath: "\(runDir)/logs/rank-\(rank).log")) }
    try Self.expectKeysSeparated(runDir, workers: 4)
    let reference = try Self.reference(file, runs: runs)
    #expect(try Self.bytes(runDir + "/model.bin") == reference.model)
    #expect(json["test_accuracy"] as? Double == reference.accuracy)

    // A pool of logical clients in the same cluster: ranks 2-3 are the pool's processes.
    let clients = try Self.clientsReference()
    let c = try CLI.run(
      ["launch", "slurm", clients.file, "--runs-dir", clients.runs, "--submit", "--wait", "--json"], environment: cluster.environment)
    #expect(c.status == 0, "\(c.stderr) \(SlurmCluster.tail(cluster.directory.path + "/slurmd.log"))")
    let clientsDir = try #require(c.json?["run_dir"] as? String, "\(c.stdout)")
    let clientsConf = try String(contentsOfFile: clientsDir + "/launch/ranks.conf", encoding: .utf8)
    #expect(clientsConf.contains("\n2-3 "), "\(clientsConf)")
    try Self.expectSameRun(clientsDir, as: clients.reference)
  }

  /// Runs the clients topology with `byzsim run`; returns its file and the reference run directory.
  static func clientsReference() throws -> (file: String, runs: String, reference: String) {
    let (file, runs) = clientsTopology(port: TrustBoundaryRunTests.freePort())
    let r = try CLI.run(["run", file, "--runs-dir", runs + "-reference", "--json"])
    #expect(r.status == 0, "\(r.stderr)")
    return (file, runs, try #require(r.json?["run_dir"] as? String))
  }

  /// Logical clients launch like workers: each worker rank is a pool process, and the clients
  /// each round draws, their shards and the hub's ALIE answers are those of `byzsim run`.
  @Test func mpirunLaunchesAPoolOfLogicalClientsToTheSameRunAsRun() throws {
    let (file, runs, reference) = try Self.clientsReference()
    let r = try CLI.run(["launch", "mpirun", file, "--runs-dir", runs, "--submit", "--json"])
    #expect(r.status == 0, "\(r.stderr)")
    let json = try #require(r.json, "\(r.stdout)")
    #expect(json["ranks"] as? Int == 4)
    let runDir = try #require(json["run_dir"] as? String)
    try Self.expectKeysSeparated(runDir, workers: 2)
    try Self.expectSameRun(runDir, as: reference)
    let participants = try RunCommandTests.metrics(runDir).map { $0["participants"] as? [Int] ?? [] }
    #expect(participants.count == 8 && participants.allSatisfy { $0.count == 8 })
  }

  @Test func aRankOutsideALaunchOrAgainstItsPlanIsRefused() throws {
    let (file, runs) = Self.topology(port: TrustBoundaryRunTests.freePort(), knowledge: "own")
    let r = try CLI.run(["launch", "slurm", file, "--runs-dir", runs, "--json"])
    #expect(r.status == 0, "\(r.stderr)")
    let runDir = try #require(r.json?["run_dir"] as? String)
    var env = ProcessInfo.processInfo.environment
    for k in ["SLURM_PROCID", "OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"] { env[k] = nil }
    let noRank = try CLI.run(["role", "rank", "--launch", runDir, "--role", "worker"], environment: env)
    #expect(noRank.status != 0 && noRank.stderr.contains("no rank in the environment"), "\(noRank.stderr)")
    env["SLURM_PROCID"] = "0"
    let swapped = try CLI.run(["role", "rank", "--launch", runDir, "--role", "worker"], environment: env)
    #expect(swapped.stderr.contains("rank 0 is coordinator in launch/plan.json, but was started as --role worker"), "\(swapped.stderr)")
    env["SLURM_PROCID"] = "9"
    let outside = try CLI.run(["role", "rank", "--launch", runDir, "--role", "worker"], environment: env)
    #expect(outside.stderr.contains("rank 9: this launch has ranks 0..<6"), "\(outside.stderr)")
  }

  @Test func topologiesThatNeedTheLocalLauncherAreRefusedBeforeAnythingIsWritten() throws {
    let port = TrustBoundaryRunTests.freePort()
    let (file, runs) = TrustBoundaryRunTests.topology(
      rounds: 5, workers: 2, endpoint: "tcp://127.0.0.1:\(port)",
      extra: "[[workers]]\ncount = 1\ncovert = { name = \"mantissa\", bits = 8 }")
    let r = try CLI.run(["launch", "mpirun", file, "--runs-dir", runs])
    #expect(r.status != 0 && r.stderr.contains("mantissa covert channel"), "\(r.stderr)")
    #expect(!FileManager.default.fileExists(atPath: runs))
  }
}
