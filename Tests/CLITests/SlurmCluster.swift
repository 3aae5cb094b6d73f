import Foundation
import Testing

/// A single-node Slurm cluster on loopback for one test: munged with a fresh key, slurmctld and
/// slurmd from Debian's slurm-wlm with a configuration written here (ports free a moment ago,
/// state under a scratch directory), stopped by pid. Needs root (slurmd launches jobs as
/// their user); `make test` runs as root.
final class SlurmCluster {
  let directory: URL
  let config: String
  /// The daemons' pids, in start order, each run in the foreground as our child.
  private var daemons: [pid_t] = []

  var environment: [String: String] {
    var env = ProcessInfo.processInfo.environment
    env["SLURM_CONF"] = config
    return env
  }

  init() throws {
    try #require(geteuid() == 0, "the Slurm test starts munged, slurmctld and slurmd, which need root (make test runs as root)")
    directory = CLI.temporaryDirectory().appendingPathComponent("slurm")
    let d = directory.path
    for sub in ["state", "spool", "munge"] {
      try FileManager.default.createDirectory(atPath: "\(d)/\(sub)", withIntermediateDirectories: true)
    }
    chmod(d, 0o755)
    chmod("\(d)/munge", 0o700)
    config = "\(d)/slurm.conf"
    try Self.exec(["/usr/sbin/mungekey", "--create", "--keyfile=\(d)/munge/munge.key"])
    try start(
      [
        "/usr/sbin/munged", "--foreground", "--key-file=\(d)/munge/munge.key", "--socket=\(d)/munge/munge.sock",
        "--pid-file=\(d)/munge/munged.pid", "--log-file=\(d)/munge/munged.log", "--seed-file=\(d)/munge/seed", "--force",
      ], log: "\(d)/munge/munged.out")
    try Self.wait(for: "\(d)/munge/munge.sock", what: "munged's socket")
    var name = [CChar](repeating: 0, count: 256)
    gethostname(&name, name.count)
    // slurmd finds its NodeName from the short host name.
    let node = String(
      String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self).split(separator: ".").first ?? "localhost")
    let text = """
      ClusterName=byzsimtest
      SlurmctldHost=\(node)(127.0.0.1)
      SlurmctldPort=\(TrustBoundaryRunTests.freePort())
      SlurmdPort=\(TrustBoundaryRunTests.freePort())
      AuthType=auth/munge
      AuthInfo=socket=\(d)/munge/munge.sock
      CredType=cred/munge
      SlurmUser=root
      SlurmdUser=root
      StateSaveLocation=\(d)/state
      SlurmdSpoolDir=\(d)/spool
      SlurmctldPidFile=\(d)/slurmctld.pid
      SlurmdPidFile=\(d)/slurmd.pid
      SlurmctldLogFile=\(d)/slurmctld.log
      SlurmdLogFile=\(d)/slurmd.log
      ProctrackType=proctrack/linuxproc
      TaskPlugin=task/none
      ReturnToService=2
      SchedulerType=sched/builtin
      SelectType=select/cons_tres
      SelectTypeParameters=CR_Core
      MpiDefault=none
      JobAcctGatherType=jobacct_gather/none
      AccountingStorageType=accounting_storage/none
      NodeName=\(node) NodeAddr=127.0.0.1 CPUs=\(ProcessInfo.processInfo.activeProcessorCount) State=UNKNOWN
      PartitionName=test Nodes=\(node) Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES

      """
    try text.write(toFile: config, atomically: true, encoding: .utf8)
    try start(["/usr/sbin/slurmctld", "-D", "-c", "-f", config], log: "\(d)/slurmctld.out")
    try start(["/usr/sbin/slurmd", "-D", "-f", config], log: "\(d)/slurmd.out")
    // Ready once the node reports idle.
    let until = Date().addingTimeInterval(30)
    while Date() < until {
      if try Self.capture(["/usr/bin/sinfo", "-h", "-o", "%t"], env: environment).contains("idle") { return }
      usleep(200_000)
    }
    stop()
    Issue.record("the Slurm node did not become idle in 30 s: \(Self.tail("\(d)/slurmctld.log")) / \(Self.tail("\(d)/slurmd.log"))")
    throw CancellationError()
  }

  /// Stops slurmd, slurmctld and munged by pid, last started first.
  func stop() {
    for pid in daemons.reversed() {
      kill(pid, SIGTERM)
      var status: Int32 = 0
      let until = Date().addingTimeInterval(5)
      while waitpid(pid, &status, WNOHANG) == 0 {
        if Date() > until {
          kill(pid, SIGKILL)
          waitpid(pid, &status, 0)
          break
        }
        usleep(50_000)
      }
    }
    daemons = []
  }

  /// Starts a daemon in the foreground with posix_spawn, its output to `log`, reaped by stop().
  /// Not Foundation's Process: it watches a child through a descriptor the child inherits, and a
  /// daemon that closes its inherited descriptors would look ended to it, and block its
  /// waitpid — and with it every later Process's exit.
  private func start(_ args: [String], log: String) throws {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    // Nothing else of ours: another test's child-watching descriptor held open here would hide that child's exit.
    // (glibc ≥ 2.34 has it; Swift's Glibc module does not export it.)
    typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    let symbol = try #require(
      dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np"), "glibc without closefrom")
    try #require(unsafeBitCast(symbol, to: CloseFrom.self)(&actions, 3) == 0)
    let argv = args.map { strdup($0) } + [nil]
    defer { for p in argv { free(p) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, args[0], &actions, nil, argv, environ)
    try #require(rc == 0, "cannot start \(args[0]): \(String(cString: strerror(rc)))")
    daemons.append(pid)
  }

  static func wait(for path: String, what: String) throws {
    let until = Date().addingTimeInterval(10)
    while !FileManager.default.fileExists(atPath: path) {
      try #require(Date() < until, "\(what) did not appear in 10 s")
      usleep(50_000)
    }
  }

  deinit { stop() }

  static func tail(_ path: String) -> String {
    String(((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").suffix(600))
  }

  /// Runs a command to its end. Its stderr goes to a file, not a pipe: a daemon that forks keeps
  /// the inherited descriptor open, and reading a pipe to its end would wait for the daemon.
  static func exec(_ args: [String]) throws {
    let errPath = CLI.temporaryDirectory().appendingPathComponent("stderr").path
    try #require(FileManager.default.createFile(atPath: errPath, contents: nil))
    let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
    let p = Process()
    p.executableURL = URL(fileURLWithPath: args[0])
    p.arguments = Array(args.dropFirst())
    p.standardError = err
    p.standardOutput = FileHandle.nullDevice
    try p.run()
    p.waitUntilExit()
    try err.close()
    try #require(p.terminationStatus == 0, "\(args[0]) failed: \(tail(errPath))")
  }

  static func capture(_ args: [String], env: [String: String]) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: args[0])
    p.arguments = Array(args.dropFirst())
    p.environment = env
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    try p.run()
    let d = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return String(decoding: d, as: UTF8.self)
  }
}
