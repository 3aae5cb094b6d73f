import Foundation
import Synchronization

/// Ctrl-C, SIGTERM and SIGHUP for the commands that start processes (`run`, `sweep`,
/// `reproduce`): every child they started is stopped within two seconds (SIGTERM, then SIGKILL
/// for any still running after 1.5 s), the command prints where it stopped and the command that
/// resumes, and exits 130.
///
/// Children are spawned by Foundation's `Process` in process groups of their own, so a
/// terminal's SIGINT reaches only the front end: without this, they would train on, orphaned.
/// Role processes restore the default dispositions at start (`resetToDefaults`), since ignored
/// signals are inherited across exec.
public enum Interrupts {
  /// A started process that an interrupt must stop (`Process` is not Sendable; it is only
  /// asked whether it runs and for its pid, which Foundation allows from any thread).
  final class Child: @unchecked Sendable {
    let process: Process
    init(_ process: Process) { self.process = process }
  }

  private static let children = Mutex<[ObjectIdentifier: Child]>([:])
  private static let status = Mutex<(@Sendable () -> String)?>(nil)
  private static let installed = Mutex<[any DispatchSourceSignal]>([])
  private static let stopping = Mutex(false)

  /// Called where a command fails: if an interrupt is being handled (the failure is its
  /// consequence, e.g. a child it stopped), wait for the handler to print and exit 130.
  public static func waitIfStopping() {
    guard stopping.withLock({ $0 }) else { return }
    while true { sleep(60) }
  }
  public static let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP]

  /// Installs the handlers once per process (call from the main thread).
  public static func install() {
    unblock()
    installed.withLock { sources in
      guard sources.isEmpty else { return }
      for sig in signals {
        signal(sig, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
        source.setEventHandler { stopAll(signal: sig) }
        source.resume()
        sources.append(source)
      }
    }
  }

  /// Role processes: the default action for each signal. A process inherits ignored and
  /// blocked signals across exec (a front end ignores them; a parent started from a dispatch
  /// thread has them blocked), and a role must die on SIGTERM.
  public static func resetToDefaults() {
    for sig in signals { signal(sig, SIG_DFL) }
    unblock()
  }

  /// Unblocks the signals on the calling thread (threads created later inherit its mask).
  static func unblock() {
    var set = sigset_t()
    sigemptyset(&set)
    for sig in signals { sigaddset(&set, sig) }
    pthread_sigmask(SIG_UNBLOCK, &set, nil)
  }

  /// Stops one process: SIGTERM, then SIGKILL if it still runs after `grace`.
  public static func stop(_ p: Process, grace: TimeInterval = 1.5) {
    guard p.isRunning else { return }
    kill(p.processIdentifier, SIGTERM)
    let until = Date().addingTimeInterval(grace)
    while p.isRunning && Date() < until { usleep(10_000) }
    if p.isRunning { kill(p.processIdentifier, SIGKILL) }
    p.waitUntilExit()
  }

  /// What to print on an interrupt: where the work stopped and the command that resumes it.
  public static func setStatus(_ describe: @escaping @Sendable () -> String) {
    status.withLock { $0 = describe }
  }

  public static func register(_ p: Process) {
    children.withLock { $0[ObjectIdentifier(p)] = Child(p) }
  }

  public static func unregister(_ p: Process) {
    _ = children.withLock { $0.removeValue(forKey: ObjectIdentifier(p)) }
  }

  private static func stopAll(signal sig: Int32) {
    guard
      !stopping.withLock({ s in
        defer { s = true }; return s
      })
    else { return }  // once
    let running = children.withLock { Array($0.values) }.filter { $0.process.isRunning }
    let name = sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "SIGHUP"
    FileHandle.standardError.write(Data("\nbyzsim: \(name): stopping \(running.count) process(es)…\n".utf8))
    for c in running { kill(c.process.processIdentifier, SIGTERM) }
    let until = Date().addingTimeInterval(1.5)
    while running.contains(where: { $0.process.isRunning }) && Date() < until { usleep(10_000) }
    for c in running where c.process.isRunning { kill(c.process.processIdentifier, SIGKILL) }
    let message = status.withLock { $0 }?() ?? "stopped"
    FileHandle.standardError.write(Data("byzsim: \(message)\n".utf8))
    exit(130)
  }
}

/// One writer per directory: an exclusive flock(2) on `<dir>/lock`, held while the file is
/// open (released by the kernel when the holder exits, however it exits). A second writer is
/// refused with the holder's pid.
public final class DirectoryLock {
  public let path: String
  private let fd: Int32

  /// Takes the lock of `directory`, or throws naming the process that holds it.
  public init(directory: String, what: String) throws {
    path = (directory as NSString).appendingPathComponent("lock")
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw FileFormatError(path: path, message: "cannot open the lock file (\(Files.errnoText()))") }
    guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
      let code = errno
      var buffer = [UInt8](repeating: 0, count: 32)
      let n = pread(fd, &buffer, buffer.count, 0)
      close(fd)
      let holder = n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : "?"
      if code == EWOULDBLOCK {
        throw RuntimeError(
          "\(directory): \(what) is in use by process \(holder) (its writer); wait for it to end, or stop it (kill \(holder)) first")
      }
      throw FileFormatError(path: path, message: "cannot lock (\(Files.errnoText(code)))")
    }
    let pid = Array("\(getpid())\n".utf8)
    _ = ftruncate(fd, 0)
    _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
  }

  deinit { close(fd) }

  /// The pid of the process that holds the lock of `directory` now, or nil if nobody does.
  public static func holder(of directory: String) -> String? {
    let path = (directory as NSString).appendingPathComponent("lock")
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    guard flock(fd, LOCK_SH | LOCK_NB) != 0, errno == EWOULDBLOCK else { return nil }
    var buffer = [UInt8](repeating: 0, count: 32)
    let n = pread(fd, &buffer, buffer.count, 0)
    return n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : "?"
  }
}
