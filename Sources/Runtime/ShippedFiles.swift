import Foundation

/// Where the files ByzSim ships — `topologies/`, `experiments/` (with `experiments/papers/`) — are
/// found, so the commands work from any directory. A relative path is looked up, in order, under
/// `$BYZSIM_SHARE`, the current directory, `PREFIX/share/byzsim` beside an installed binary
/// (`make install`: PREFIX/bin/byzsim), and the source checkout a binary in `.build/` was built
/// from; the first root that holds it wins.
public enum ShippedFiles {
  /// The roots searched, in order, each named as it is searched (for errors).
  public static func roots(environment: [String: String] = ProcessInfo.processInfo.environment) -> [String] {
    var roots: [String] = []
    if let share = environment["BYZSIM_SHARE"], !share.isEmpty { roots.append(share) }
    roots.append(FileManager.default.currentDirectoryPath)
    if let exe = executableDirectory() {
      let prefix = (exe as NSString).deletingLastPathComponent
      roots.append((prefix as NSString).appendingPathComponent("share/byzsim"))
      // .build/<triple>/release/byzsim → the checkout holding Package.swift.
      let checkout = (((exe as NSString).deletingLastPathComponent as NSString).deletingLastPathComponent as NSString)
        .deletingLastPathComponent
      if FileManager.default.fileExists(atPath: (checkout as NSString).appendingPathComponent("Package.swift")) { roots.append(checkout) }
    }
    var seen = Set<String>()
    return roots.map { ($0 as NSString).standardizingPath }.filter { seen.insert($0).inserted }
  }

  /// `path` itself when it is absolute or exists from here; otherwise the first root holding it.
  /// Throws, naming every place it looked, when none does.
  public static func locate(_ path: String, what: String = "file") throws -> String {
    if path.hasPrefix("/") || FileManager.default.fileExists(atPath: path) { return path }
    let roots = roots()
    for root in roots {
      let candidate = (root as NSString).appendingPathComponent(path)
      if FileManager.default.fileExists(atPath: candidate) { return candidate }
    }
    throw RuntimeError(
      "\(path): no such \(what); looked in \(roots.joined(separator: ", ")) (set BYZSIM_SHARE to the folder holding topologies/ and experiments/)"
    )
  }

  /// The directory of the running binary, symlinks resolved.
  static func executableDirectory() -> String? {
    guard let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else { return nil }
    return (exe as NSString).deletingLastPathComponent
  }
}
