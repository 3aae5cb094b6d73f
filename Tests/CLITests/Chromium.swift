import Foundation

/// Headless Chromium (Debian's `chromium`, which `make test` installs): loads a page, runs its
/// scripts for a few seconds of virtual time, and returns the DOM or saves a screenshot.
/// Every call has its own profile directory and is killed after 90 s, so none can hang a test.
enum Chromium {
  static func run(_ url: String, _ extra: [String], dir: String) throws -> String {
    let profile = dir + "/chromium-profile-\(UUID().uuidString.prefix(8))"
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/chromium")
    p.arguments =
      [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--user-data-dir=" + profile,
        "--virtual-time-budget=6000", "--window-size=1280,1000",
      ] + extra + [url]
    let out = Pipe()
    let err = dir + "/chromium-stderr-\(UUID().uuidString.prefix(8))"
    FileManager.default.createFile(atPath: err, contents: nil)
    p.standardOutput = out
    p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: err))
    try p.run()
    let timer = DispatchSource.makeTimerSource()
    timer.schedule(deadline: .now() + 90)
    timer.setEventHandler { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
    timer.resume()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    timer.cancel()
    guard p.terminationStatus == 0 else {
      throw ServeTestError("chromium exited \(p.terminationStatus): \((try? String(contentsOfFile: err, encoding: .utf8)) ?? "")")
    }
    return String(decoding: data, as: UTF8.self)
  }

  static func dumpDOM(_ url: String, dir: String) throws -> String { try run(url, ["--dump-dom"], dir: dir) }

  static func screenshot(_ url: String, to file: String, dir: String) throws {
    _ = try run(url, ["--screenshot=" + file, "--hide-scrollbars"], dir: dir)
  }
}
