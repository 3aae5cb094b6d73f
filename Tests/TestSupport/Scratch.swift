import Foundation

/// Scratch directories for tests: all under one root per test process
/// (`$TMPDIR/bt<pid>`: short, as ZeroMQ ipc:// paths inside run directories must stay under
/// 108 bytes), which is removed when the process exits, so a suite leaves
/// nothing behind however many runs, sweeps and reproductions its tests write. (`make test`
/// also points TMPDIR at a directory of its own and removes it afterwards, which covers a test
/// process that is killed.)
public enum Scratch {
  static let root: URL = {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("bt\(getpid())")
    try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    atexit { Scratch.removeRoot() }
    return url
  }()

  static func removeRoot() {
    // Exiting: nothing is left to report a failure to; what is left is removed by make test.
    try? FileManager.default.removeItem(at: root)
  }

  /// A new, empty directory `<root>/<prefix>-<8 hex digits>`.
  public static func directory(_ prefix: String) -> URL {
    while true {
      let url = root.appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))")
      do {
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: false)
        return url
      } catch {
        // Taken already (8 hex digits can collide): draw again; anything else is fatal.
        guard FileManager.default.fileExists(atPath: url.path) else { fatalError("cannot create \(url.path): \(error)") }
      }
    }
  }

  /// Removes a directory a test no longer needs (large run and sweep directories), so the
  /// suite's peak disk use stays near one test's.
  public static func remove(_ url: URL) {
    try? FileManager.default.removeItem(at: url)
  }
}
