import Foundation

/// Measured start-up (`security.attestation`): a process measures itself — the SHA-256 of its
/// executable and of every file it has mapped executable (its shared objects, read from
/// /proc/self/maps), and LD_PRELOAD / LD_LIBRARY_PATH — and a worker sends the measurement before
/// its hello. `prepare` records the expected one (the launcher's own, or an allowlist file for
/// hosts that run another build); the coordinator refuses a worker whose measurement has anything
/// the expected one does not (`attestation_mismatch`, with the file that differs).
///
/// What this does not stop: a worker whose binary lies about itself. Self-measurement is only as
/// honest as the code that measures; a modified `byzsim` can send the expected digests.
/// Hardware-rooted attestation (TPM quotes, SEV-SNP/TDX reports) is the real fix.
public struct Measurement: Codable, Sendable, Equatable {
  /// SHA-256 of /proc/self/exe.
  public var executable: String
  /// SHA-256 of every file mapped executable, by path (the executable itself included).
  public var objects: [String: String]
  public var ldPreload: String?
  public var ldLibraryPath: String?

  public init(executable: String, objects: [String: String], ldPreload: String?, ldLibraryPath: String?) {
    self.executable = executable; self.objects = objects; self.ldPreload = ldPreload; self.ldLibraryPath = ldLibraryPath
  }

  /// This process, now.
  public static func current() throws -> Measurement { try measure().measurement }

  /// This process, now, with how many files it measured and how many of their digests it had
  /// already (hashed before in this process, or handed down by its launcher: `MeasuredFiles`).
  static func measure() throws -> (measurement: Measurement, files: Int, kept: Int) {
    MeasuredFiles.adoptHandedDown()
    var objects: [String: String] = [:]
    var kept = 0
    for path in try mappedExecutables() {
      let (hex, remembered) = try MeasuredFiles.lookUpOrHash(path)
      objects[path] = hex
      if remembered { kept += 1 }
    }
    let exe = try MeasuredFiles.digest("/proc/self/exe")
    let env = ProcessInfo.processInfo.environment
    let measurement = Measurement(
      executable: exe, objects: objects, ldPreload: env["LD_PRELOAD"].flatMap { $0.isEmpty ? nil : $0 },
      ldLibraryPath: env["LD_LIBRARY_PATH"].flatMap { $0.isEmpty ? nil : $0 })
    return (measurement, objects.count, kept)
  }

  /// The files this process has mapped executable (from /proc/self/maps), each once.
  static func mappedExecutables() throws -> [String] {
    // procfs files report size 0: read to the end by hand (a sized read would stop early).
    guard let handle = FileHandle(forReadingAtPath: "/proc/self/maps") else {
      throw RuntimeError("attestation: cannot read /proc/self/maps; set security.attestation = \"off\" on systems without /proc")
    }
    defer { try? handle.close() }
    let maps: String
    do { maps = String(decoding: try handle.readToEnd() ?? Data(), as: UTF8.self) } catch {
      throw RuntimeError("attestation: cannot read /proc/self/maps (\(error.localizedDescription))")
    }
    var seen = Set<String>()
    var paths: [String] = []
    for line in maps.split(separator: "\n") {
      // address perms offset dev inode pathname
      let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
      guard fields.count == 6, fields[1].contains("x") else { continue }
      let path = String(fields[5]).trimmingCharacters(in: .whitespaces)
      guard path.hasPrefix("/"), !path.hasSuffix(" (deleted)"), seen.insert(path).inserted else { continue }
      paths.append(path)
    }
    return paths
  }

  /// How this measurement departs from `expected`, one sentence per file or variable (empty:
  /// it matches). Objects the expected process mapped and this one did not are not departures.
  public func departures(from expected: Measurement) -> [String] {
    var out: [String] = []
    if executable != expected.executable { out.append("the executable's SHA-256 is \(executable), expected \(expected.executable)") }
    for path in objects.keys.sorted() {
      guard let want = expected.objects[path] else {
        out.append("\(path) is mapped but not in the expected measurement")
        continue
      }
      if objects[path] != want { out.append("\(path) has SHA-256 \(objects[path]!), expected \(want)") }
    }
    if ldPreload != expected.ldPreload {
      out.append("LD_PRELOAD is \(ldPreload.map { "\"\($0)\"" } ?? "unset"), expected \(expected.ldPreload.map { "\"\($0)\"" } ?? "unset")")
    }
    if ldLibraryPath != expected.ldLibraryPath {
      out.append(
        "LD_LIBRARY_PATH is \(ldLibraryPath.map { "\"\($0)\"" } ?? "unset"), expected \(expected.ldLibraryPath.map { "\"\($0)\"" } ?? "unset")"
      )
    }
    return out
  }
}

/// `security.attestation`.
public enum AttestationMode: String, Codable, Sendable, CaseIterable {
  /// A worker whose measurement departs from the expected one is refused.
  case enforce
  /// Departures are logged (events.log, refusals) and the worker is let in.
  case observe
  /// Nothing is measured.
  case off
}
