import Foundation
import Testing

/// Issue 13 §4: `make install` puts the binaries in PREFIX/bin and the shipped topologies and
/// experiments in PREFIX/share/byzsim, and the installed commands find them from any directory.
@Suite struct InstallTests {
  static let checkout = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

  /// The paper files in the checkout, read here without byzsim: .toml files with a [paper] table.
  static func paperNames() throws -> [String] {
    let dir = checkout.appendingPathComponent("experiments/papers")
    return try FileManager.default.contentsOfDirectory(atPath: dir.path).filter {
      try $0.hasSuffix(".toml") && (String(contentsOf: dir.appendingPathComponent($0), encoding: .utf8)).contains("[paper]")
    }.map { String($0.dropLast(5)) }.sorted()
  }

  @Test func anInstalledByzsimFindsItsFilesFromAnyDirectory() throws {
    let prefix = CLI.temporaryDirectory().appendingPathComponent("prefix")
    let elsewhere = CLI.temporaryDirectory()
    let make = Process()
    make.executableURL = URL(fileURLWithPath: "/usr/bin/make")
    make.arguments = [
      "-C", Self.checkout.path, "--no-print-directory", "install-built", "PREFIX=\(prefix.path)",
      "BIN_RELEASE=\(CLI.binary.deletingLastPathComponent().path)",
    ]
    make.standardOutput = FileHandle.nullDevice
    try make.run()
    make.waitUntilExit()
    try #require(make.terminationStatus == 0)
    let installed = prefix.appendingPathComponent("bin/byzsim")
    #expect(FileManager.default.isExecutableFile(atPath: prefix.appendingPathComponent("bin/byzsim-bench").path))
    #expect(FileManager.default.fileExists(atPath: prefix.appendingPathComponent("share/byzsim/topologies/default.toml").path))
    var env = ProcessInfo.processInfo.environment
    env["BYZSIM_SHARE"] = nil

    let list = try CLI.run(["reproduce", "--list"], environment: env, binary: installed, directory: elsewhere)
    #expect(list.status == 0, "\(list.stderr)")
    let listed = list.stdout.split(separator: "\n").map { String($0.split(separator: " ")[0]) }
    #expect(listed == (try Self.paperNames()) && !listed.isEmpty, "\(list.stdout)")

    // A shipped topology by its relative path, validated from elsewhere; a missing one says where it looked.
    let missing = try CLI.run(["run", "topologies/nope.toml"], environment: env, binary: installed, directory: elsewhere)
    #expect(missing.status != 0)
    #expect(missing.stderr.contains("topologies/nope.toml: no such topology file; looked in"), "\(missing.stderr)")
    #expect(missing.stderr.contains(prefix.appendingPathComponent("share/byzsim").path), "\(missing.stderr)")

    // An empty folder of paper files is an error that names it, not an empty list.
    let empty = CLI.temporaryDirectory()
    let none = try CLI.run(["reproduce", "--list", "--papers", empty.path], environment: env, binary: installed, directory: elsewhere)
    #expect(none.status != 0 && none.stderr.contains("\(empty.path): no paper files"), "\(none.stderr)")
  }
}
